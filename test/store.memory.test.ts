import { describe, expect, it } from 'vitest';
import { memoryBackend, memoryStore } from '../src/store/memory.js';
import { recordStore } from '../src/store/record-store.js';
import { encodeRecord } from '../src/store/records.js';
import { entry, newRun, storeContract, storeError } from './helpers/store-contract.js';

storeContract('memoryStore', () => {
  const backend = memoryBackend();
  return { store: recordStore(backend), reopen: () => recordStore(backend) };
});

describe('memoryStore', () => {
  it('is a working store on its own', async () => {
    const store = memoryStore();
    expect(store.kind).toBe('memory');
    await store.create(newRun('run-1'));
    await store.commit('run-1', { at: 1001, entries: [entry(1)] });
    expect((await store.load('run-1')).entries).toEqual([entry(1)]);
  });

  it('keeps encoded lines, so damaged data is caught as in any other store', async () => {
    const backend = memoryBackend();
    const store = recordStore(backend);
    await store.create(newRun('run-1'));
    await store.commit('run-1', { at: 1001, entries: [entry(1)] });
    await store.commit('run-1', { at: 1002, entries: [entry(2)] });
    const lines = backend.runs.get('run-1')!;
    lines[1] = lines[1]!.replace('"e1"', '"e9"');
    const error = await storeError(store.load('run-1'));
    expect(error).toMatchObject({ code: 'corrupt', runId: 'run-1', line: 2 });
    expect(error.message).toBe(
      'store: run "run-1": corrupt record at memory store run "run-1" record 2: checksum mismatch (the record was changed after it was written)',
    );
  });

  it('one damaged run is reported while the others are listed', async () => {
    const backend = memoryBackend();
    const store = recordStore(backend);
    for (const id of ['a', 'b', 'c']) await store.create(newRun(id));
    backend.runs.get('b')![0] = encodeRecord({
      t: 'meta',
      n: 1,
      runId: 'a',
      workflowId: 'report',
      input: null,
      startedAt: 1,
    });
    const { runs, errors } = await recordStore(backend).listUnfinished();
    expect(runs.map((r) => r.meta.runId)).toEqual(['a', 'c']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'corrupt', runId: 'b', line: 1 });
    expect(errors[0]!.message).toMatch(/belongs to run "a"/);
  });
});
