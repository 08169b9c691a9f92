import { afterEach, describe, expect, it } from 'vitest';
import type { LogEntry } from '../../src/log/state-log.js';
import { isStoreError, type StoreError } from '../../src/store/errors.js';
import type { NewRun, RunCommit, RunFinish, Store } from '../../src/store/store.js';

/**
 * What every Store must do, run against each of them. `open()` gives a store on a fresh medium;
 * `reopen()` gives a new store on the same medium, as a restarted process would.
 */
export interface ContractSubject {
  store: Store;
  reopen(): Store;
  cleanup?(): Promise<void>;
}

export const entry = (seq: number, actorId = 'report', state: unknown = { value: `s${seq}` }): LogEntry => ({
  seq,
  actorId,
  version: seq,
  at: 1000 + seq,
  event: { type: `e${seq}` },
  state,
});

export const newRun = (runId: string, extra: Partial<NewRun> = {}): NewRun => ({
  runId,
  workflowId: 'report',
  input: { topic: 'batteries' },
  startedAt: 1000,
  ...extra,
});

/** The StoreError a promise rejects with (fails the test when it resolves or throws something else). */
export async function storeError(promise: Promise<unknown>): Promise<StoreError> {
  try {
    await promise;
  } catch (error) {
    if (isStoreError(error)) return error;
    throw new Error(`expected a StoreError, got ${String(error)}`);
  }
  throw new Error('expected a StoreError, but the call succeeded');
}

export function storeContract(name: string, open: () => Promise<ContractSubject> | ContractSubject) {
  describe(`${name}: the Store contract`, () => {
    let subject: ContractSubject;
    const stores: Store[] = [];
    const setup = async () => {
      subject = await open();
      stores.push(subject.store);
      return subject.store;
    };
    const reopen = () => {
      const store = subject.reopen();
      stores.push(store);
      return store;
    };
    afterEach(async () => {
      for (const s of stores.splice(0)) await s.close().catch(() => {});
      await subject?.cleanup?.();
    });

    it('creates a run and loads it back: running, no snapshot, no entries', async () => {
      const store = await setup();
      await store.create(newRun('run-1'));
      const run = await store.load('run-1');
      expect(run.meta).toEqual({
        runId: 'run-1',
        workflowId: 'report',
        input: { topic: 'batteries' },
        startedAt: 1000,
        status: 'running',
        updatedAt: 1000,
      });
      expect(run.snapshot).toBeNull();
      expect(run.entries).toEqual([]);
      expect(run.result).toBeUndefined();
      expect(run.tornTail).toBe(false);
    });

    it('commits log entries and the latest snapshot; the status follows', async () => {
      const store = await setup();
      await store.create(newRun('run-1'));
      await store.commit('run-1', { at: 1001, entries: [entry(1), entry(2)], snapshot: { value: 'a' } });
      await store.commit('run-1', { at: 1005, entries: [entry(3)], status: 'awaitingReview' });
      const run = await store.load('run-1');
      expect(run.entries).toEqual([entry(1), entry(2), entry(3)]);
      expect(run.snapshot).toEqual({ value: { value: 'a' }, seq: 2, at: 1001 });
      expect(run.meta.status).toBe('awaitingReview');
      expect(run.meta.updatedAt).toBe(1005);
      await store.commit('run-1', { at: 1006, snapshot: { value: 'b' }, status: 'running' });
      const again = await store.load('run-1');
      expect(again.snapshot).toEqual({ value: { value: 'b' }, seq: 3, at: 1006 });
      expect(again.meta.status).toBe('running');
    });

    it('applies writes in call order without the caller awaiting each one', async () => {
      const store = await setup();
      const writes: Promise<void>[] = [store.create(newRun('run-1'))];
      for (let seq = 1; seq <= 50; seq++) {
        writes.push(store.commit('run-1', { at: 1000 + seq, entries: [entry(seq)], snapshot: { seq } }));
      }
      writes.push(store.finish('run-1', { status: 'completed', result: { ok: true }, at: 2000 }));
      await Promise.all(writes);
      const run = await store.load('run-1');
      expect(run.entries.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(run.snapshot?.value).toEqual({ seq: 50 });
      expect(run.meta).toMatchObject({ status: 'completed', endedAt: 2000 });
    });

    it('load sees every write called before it, awaited or not', async () => {
      const store = await setup();
      void store.create(newRun('run-1'));
      void store.commit('run-1', { at: 1001, entries: [entry(1)] });
      const run = await store.load('run-1');
      expect(run.entries).toHaveLength(1);
    });

    it('flush resolves once the writes called before it are stored, for one run or all', async () => {
      const store = await setup();
      await Promise.all([store.create(newRun('run-1')), store.create(newRun('run-2'))]);
      void store.commit('run-1', { at: 1001, entries: [entry(1)] });
      void store.commit('run-1', { at: 1002, entries: [entry(2)] });
      void store.commit('run-2', { at: 1001, entries: [entry(1)] });
      await store.flush('run-1');
      // Another store on the same medium sees it: it is in the medium, not only in this store's queue.
      expect((await reopen().load('run-1')).entries).toHaveLength(2);
      await store.flush('not-a-run');
      void store.commit('run-2', { at: 1002, entries: [entry(2)] });
      await store.flush();
      expect((await reopen().load('run-2')).entries).toHaveLength(2);
    });

    it('finish records the result; later writes are refused; the run is no longer unfinished', async () => {
      const store = await setup();
      await store.create(newRun('done'));
      await store.create(newRun('open'));
      await store.finish('done', {
        status: 'fallback',
        result: { output: '[x]' },
        at: 1500,
        entries: [entry(1)],
      });
      const done = await store.load('done');
      expect(done.meta).toMatchObject({ status: 'fallback', endedAt: 1500, updatedAt: 1500 });
      expect(done.result).toEqual({ output: '[x]' });
      expect(done.entries).toEqual([entry(1)]);
      const refused = await storeError(store.commit('done', { at: 1600, entries: [entry(2)] }));
      expect(refused.code).toBe('invalid');
      expect(refused.runId).toBe('done');
      expect(refused.message).toMatch(/already finished/);
      expect((await storeError(store.finish('done', { status: 'completed', result: 1, at: 1 }))).code).toBe(
        'invalid',
      );
      const { runs, errors } = await store.listUnfinished();
      expect(runs.map((r) => r.meta.runId)).toEqual(['open']);
      expect(errors).toEqual([]);
    });

    it('refuses a second create of the same run id, even from another store instance', async () => {
      const store = await setup();
      await store.create(newRun('run-1'));
      const again = await storeError(store.create(newRun('run-1')));
      expect(again).toMatchObject({ code: 'invalid', runId: 'run-1' });
      expect(again.message).toMatch(/exists already/);
      const other = await storeError(reopen().create(newRun('run-1')));
      expect(other).toMatchObject({ code: 'invalid', runId: 'run-1' });
      expect((await store.load('run-1')).meta.status).toBe('running');
    });

    it('a write to an unknown run is notFound', async () => {
      const store = await setup();
      expect(await storeError(store.commit('nope', { at: 1 }))).toMatchObject({
        code: 'notFound',
        runId: 'nope',
      });
      expect(await storeError(store.load('nope'))).toMatchObject({ code: 'notFound', runId: 'nope' });
    });

    it('refuses log entries out of seq order, within a commit and after the stored ones', async () => {
      const store = await setup();
      await store.create(newRun('run-1'));
      await store.commit('run-1', { at: 1001, entries: [entry(1), entry(2)] });
      const within = await storeError(store.commit('run-1', { at: 1002, entries: [entry(4), entry(3)] }));
      expect(within.code).toBe('invalid');
      expect(within.message).toMatch(/seq 3 does not follow seq 4/);
      const after = await storeError(store.commit('run-1', { at: 1002, entries: [entry(2)] }));
      expect(after.message).toMatch(/seq 2 does not follow the stored seq 2/);
      // A refused write leaves the run as it was and the next good one goes through.
      await store.commit('run-1', { at: 1003, entries: [entry(3)] });
      expect((await store.load('run-1')).entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    });

    it('checks seq against what a previous process stored', async () => {
      const store = await setup();
      await store.create(newRun('run-1'));
      await store.commit('run-1', { at: 1001, entries: [entry(1), entry(2)] });
      await store.close();
      const next = reopen();
      expect((await storeError(next.commit('run-1', { at: 1002, entries: [entry(1)] }))).code).toBe(
        'invalid',
      );
      await next.commit('run-1', { at: 1002, entries: [entry(3)] });
      expect((await next.load('run-1')).entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    });

    it.each([
      '',
      '.',
      '..',
      '../escape',
      'a/b',
      'a\\b',
      '.hidden',
      'x'.repeat(201),
      'con',
      'NUL.txt',
      'tab\there',
      'ünïcode',
    ])('refuses the unsafe run id %j before touching the medium', async (runId) => {
      const store = await setup();
      const error = await storeError(store.create(newRun(runId)));
      expect(error.code).toBe('invalid');
      expect(error.message).toMatch(/is not safe to store/);
      expect((await storeError(store.load(runId))).code).toBe('invalid');
      expect((await storeError(store.commit(runId, { at: 1 }))).code).toBe('invalid');
      expect(await store.runIds()).toEqual([]);
    });

    it('accepts the run ids nanoid and people make', async () => {
      const store = await setup();
      for (const runId of ['V1StGXR8_Z5jdHi6B-myT', '-leading-dash', 'run.2024-01-01', 'a']) {
        await store.create(newRun(runId));
      }
      expect(await store.runIds()).toEqual(['-leading-dash', 'V1StGXR8_Z5jdHi6B-myT', 'a', 'run.2024-01-01']);
    });

    it('stores what was given when it was called: later changes by the caller do not leak in', async () => {
      const store = await setup();
      const input = { topic: 'batteries' };
      const snapshot = { context: { count: 1 } };
      const entries = [{ ...entry(1), state: { value: 'x' } }];
      const created = store.create(newRun('run-1', { input }));
      const committed = store.commit('run-1', { at: 1001, entries, snapshot });
      input.topic = 'changed';
      snapshot.context.count = 99;
      (entries[0]!.state as { value: string }).value = 'changed';
      await Promise.all([created, committed]);
      const run = await store.load('run-1');
      expect(run.meta.input).toEqual({ topic: 'batteries' });
      expect(run.snapshot?.value).toEqual({ context: { count: 1 } });
      expect(run.entries[0]!.state).toEqual({ value: 'x' });
    });

    it('what it returns is frozen', async () => {
      const store = await setup();
      await store.create(newRun('run-1'));
      await store.commit('run-1', { at: 1001, entries: [entry(1)], snapshot: { context: { a: [1] } } });
      const run = await store.load('run-1');
      expect(Object.isFrozen(run)).toBe(true);
      expect(Object.isFrozen(run.meta)).toBe(true);
      expect(Object.isFrozen(run.entries)).toBe(true);
      expect(Object.isFrozen(run.entries[0]!.state)).toBe(true);
      expect(Object.isFrozen((run.snapshot!.value as { context: { a: number[] } }).context.a)).toBe(true);
    });

    it('refuses data that is not JSON and keeps the run usable', async () => {
      const store = await setup();
      await store.create(newRun('run-1'));
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const error = await storeError(store.commit('run-1', { at: 1001, snapshot: cyclic }));
      expect(error).toMatchObject({ code: 'invalid', runId: 'run-1' });
      expect(error.message).toMatch(/cannot be stored as JSON/);
      expect((await storeError(store.commit('run-1', { at: 1001, snapshot: { n: 1n } }))).code).toBe(
        'invalid',
      );
      await store.commit('run-1', { at: 1002, snapshot: { ok: true } });
      expect((await store.load('run-1')).snapshot?.value).toEqual({ ok: true });
    });

    it('refuses a bad status, a bad time and a malformed entry', async () => {
      const store = await setup();
      await store.create(newRun('run-1'));
      const bad = [
        store.commit('run-1', { at: 1, status: 'completed' as 'running' }),
        store.commit('run-1', { at: Number.NaN }),
        store.commit('run-1', { at: 1, entries: [{ ...entry(1), actorId: '' }] }),
        store.finish('run-1', { status: 'running' as 'completed', result: null, at: 1 }),
        store.create({ ...newRun('run-2'), workflowId: '' }),
      ];
      for (const p of bad) expect((await storeError(p)).code).toBe('invalid');
      expect((await store.load('run-1')).meta.status).toBe('running');
    });

    it('keeps the latest snapshot of each run-owned actor; null deletes one', async () => {
      const store = await setup();
      await store.create(newRun('run-1'));
      await store.commit('run-1', { at: 1001, actors: { 'review-1': { v: 1 }, 'review-2': { v: 1 } } });
      await store.commit('run-1', { at: 1002, actors: { 'review-1': { v: 2 }, 'review-2': null } });
      expect((await store.load('run-1')).actors).toEqual({ 'review-1': { v: 2 } });
    });

    it('lists unfinished runs with their content, in run id order, across a restart', async () => {
      const store = await setup();
      for (const id of ['c', 'a', 'b']) await store.create(newRun(id));
      await store.commit('b', {
        at: 1001,
        entries: [entry(1)],
        snapshot: { s: 'b' },
        status: 'awaitingReview',
      });
      await store.finish('c', { status: 'cancelled', result: null, at: 1002 });
      await store.close();
      const { runs, errors } = await reopen().listUnfinished();
      expect(errors).toEqual([]);
      expect(runs.map((r) => [r.meta.runId, r.meta.status, r.entries.length])).toEqual([
        ['a', 'running', 0],
        ['b', 'awaitingReview', 1],
      ]);
      expect(runs[1]!.snapshot?.value).toEqual({ s: 'b' });
    });

    it('saves breakers by key: the latest snapshot wins, across a restart', async () => {
      const store = await setup();
      expect((await store.loadBreakers()).breakers.size).toBe(0);
      await store.saveBreaker('researcher→writer', { value: 'closed', n: 1 }, 1);
      await Promise.all([
        store.saveBreaker('researcher→writer', { value: 'open', n: 2 }, 2),
        store.saveBreaker('writer', { value: 'closed', n: 1 }, 2),
        store.saveBreaker('researcher→writer', { value: 'halfOpen', n: 3 }, 3),
      ]);
      await store.close();
      const { breakers, errors } = await reopen().loadBreakers();
      expect(errors).toEqual([]);
      expect(Object.fromEntries(breakers)).toEqual({
        'researcher→writer': { value: 'halfOpen', n: 3 },
        writer: { value: 'closed', n: 1 },
      });
      expect(Object.isFrozen(breakers.get('writer'))).toBe(true);
    });

    it('refuses a breaker without a key or with non-JSON data', async () => {
      const store = await setup();
      expect((await storeError(store.saveBreaker('', {}, 1))).code).toBe('invalid');
      expect((await storeError(store.saveBreaker('k', { n: 1n }, 1))).code).toBe('invalid');
      expect((await storeError(store.saveBreaker('k', {}, Number.POSITIVE_INFINITY))).code).toBe('invalid');
    });

    it('removes a run', async () => {
      const store = await setup();
      await store.create(newRun('run-1'));
      await store.create(newRun('run-2'));
      await store.remove('run-1');
      expect(await store.runIds()).toEqual(['run-2']);
      expect((await storeError(store.load('run-1'))).code).toBe('notFound');
      // The id is free again, with nothing of the old run in it.
      await store.create(newRun('run-1', { workflowId: 'other' }));
      expect((await store.load('run-1')).meta.workflowId).toBe('other');
    });

    it('close waits for queued writes, then refuses calls', async () => {
      const store = await setup();
      void store.create(newRun('run-1'));
      void store.commit('run-1', { at: 1001, entries: [entry(1)] });
      await store.close();
      for (const call of [store.load('run-1'), store.commit('run-1', { at: 1 }), store.listUnfinished()]) {
        expect((await storeError(call)).code).toBe('closed');
      }
      expect((await reopen().load('run-1')).entries).toHaveLength(1);
    });

    it('never throws synchronously: every refusal is a rejected promise', async () => {
      const store = await setup();
      const calls = [
        () => store.commit('../x', { at: 1 }),
        () => store.create(null as unknown as NewRun),
        () => store.finish('run-1', null as unknown as RunFinish),
        () => store.commit('run-1', undefined as unknown as RunCommit),
      ];
      let rejected = 0;
      for (const call of calls) {
        let pending: Promise<void> | undefined;
        expect(() => {
          pending = call();
        }).not.toThrow();
        await pending!.catch((error) => {
          if (isStoreError(error) && error.code === 'invalid') rejected++;
        });
      }
      expect(rejected).toBe(calls.length);
    });
  });
}
