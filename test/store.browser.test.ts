import { describe, expect, it } from 'vitest';
import { isOptionsError } from '../src/errors.js';
import { browserStore, idbKeyValue, storageKeyValue } from '../src/store/browser.js';
import { fakeIndexedDB, fakeStorage } from './helpers/fake-idb.js';
import { entry, newRun, storeContract, storeError } from './helpers/store-contract.js';

/**
 * The browser store against an in-memory IndexedDB and Web Storage. These check the store logic and
 * the shape of the IndexedDB calls; a run in a real browser (headless Chromium, issue #9) is still due.
 */

const idbStore = (fake: ReturnType<typeof fakeIndexedDB>, name = 'app') =>
  browserStore({ name, storage: idbKeyValue({ name, indexedDB: fake.indexedDB, keyRange: fake.keyRange }) });

storeContract('browserStore on IndexedDB', () => {
  const fake = fakeIndexedDB();
  return { store: idbStore(fake), reopen: () => idbStore(fake) };
});

storeContract('browserStore on localStorage', () => {
  const storage = fakeStorage();
  const open = () => browserStore({ name: 'app', storage: storageKeyValue(storage, 'app') });
  return { store: open(), reopen: open };
});

describe('browserStore on IndexedDB', () => {
  it('keeps each record under its own key, the same line a file store writes', async () => {
    const fake = fakeIndexedDB();
    const store = idbStore(fake);
    await store.create(newRun('run-1'));
    await store.commit('run-1', { at: 1001, entries: [entry(1)] });
    await store.saveBreaker('a→b', { n: 1 }, 1);
    const data = fake.data('app');
    expect([...data.keys()].sort()).toEqual(['b/a→b', 'i/run-1', 'r/run-1/0000000001', 'r/run-1/0000000002']);
    expect(data.get('r/run-1/0000000002')).toMatch(
      /^\{"v":3,"sum":"[0-9a-f]{8}","rec":\{"t":"commit","n":2,/,
    );
  });

  it('a run id that is a prefix of another keeps its records apart', async () => {
    const fake = fakeIndexedDB();
    const store = idbStore(fake);
    await store.create(newRun('run'));
    await store.create(newRun('run-1'));
    await store.commit('run-1', { at: 1001, entries: [entry(1)] });
    expect((await store.load('run')).entries).toEqual([]);
    await store.remove('run');
    expect((await store.load('run-1')).entries).toHaveLength(1);
    expect(await store.runIds()).toEqual(['run-1']);
  });

  it('an aborted transaction is an io error naming the run; nothing of it is stored', async () => {
    const fake = fakeIndexedDB();
    const store = idbStore(fake);
    await store.create(newRun('run-1'));
    fake.failNextWrite(new Error('QuotaExceededError: the quota has been exceeded'));
    const error = await storeError(store.commit('run-1', { at: 1001, entries: [entry(1)] }));
    expect(error).toMatchObject({ code: 'io', runId: 'run-1' });
    expect(error.message).toBe(
      'store: run "run-1": writing failed: QuotaExceededError: the quota has been exceeded',
    );
    await store.commit('run-1', { at: 1002, entries: [entry(1)] });
    const run = await store.load('run-1');
    expect(run.entries).toHaveLength(1);
    expect(run.meta.updatedAt).toBe(1002);
  });

  it('a damaged record names the database, the run and the record', async () => {
    const fake = fakeIndexedDB();
    const store = idbStore(fake);
    await store.create(newRun('run-1'));
    await store.commit('run-1', { at: 1001, entries: [entry(1)] });
    const data = fake.data('app');
    data.set('r/run-1/0000000002', (data.get('r/run-1/0000000002') as string).replace('"e1"', '"e2"'));
    const error = await storeError(store.load('run-1'));
    expect(error).toMatchObject({ code: 'corrupt', runId: 'run-1', line: 2 });
    expect(error.message).toBe(
      'store: run "run-1": corrupt record at IndexedDB "app" run "run-1" record 2: checksum mismatch (the record was changed after it was written)',
    );
    const { runs, errors } = await store.listUnfinished();
    expect(runs).toEqual([]);
    expect(errors.map((e) => e.runId)).toEqual(['run-1']);
  });

  it('close closes the database connection', async () => {
    const fake = fakeIndexedDB();
    const store = idbStore(fake);
    await store.create(newRun('run-1'));
    expect(fake.openConnections).toBe(1);
    await store.close();
    expect(fake.openConnections).toBe(0);
  });

  it('two databases do not see each other', async () => {
    const fake = fakeIndexedDB();
    await idbStore(fake, 'one').create(newRun('run-1'));
    expect(await idbStore(fake, 'two').runIds()).toEqual([]);
  });
});

describe('browserStore options', () => {
  it('needs IndexedDB or localStorage: in Node there is neither', () => {
    let error: unknown;
    try {
      browserStore({ name: 'app' });
    } catch (e) {
      error = e;
    }
    expect(isOptionsError(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /^browserStore: storage is needed: neither IndexedDB nor localStorage/,
    );
    expect(() => browserStore({ name: 'app', storage: 'indexedDB' })).toThrow(
      'browserStore: storage is not available here, received "indexedDB"',
    );
  });

  it('names a bad option', () => {
    expect(() => browserStore({ name: '' })).toThrow(/^browserStore: name must be a non-empty string/);
    expect(() => browserStore({ name: 'x', storage: {} as never })).toThrow(/^browserStore: storage/);
    expect(() => browserStore({ name: 'x', ttl: 1 } as never)).toThrow(/ttl is not a known option/);
  });

  it('uses localStorage when it is there and IndexedDB is not', async () => {
    const storage = fakeStorage();
    const g = globalThis as { localStorage?: Storage };
    g.localStorage = storage;
    try {
      const store = browserStore({ name: 'app' });
      await store.create(newRun('run-1'));
      expect([...storage.map.keys()].sort()).toEqual(['app/i/run-1', 'app/r/run-1/0000000001']);
    } finally {
      delete g.localStorage;
    }
  });
});
