import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Backend } from '../src/store/backend.js';
import { memoryBackend } from '../src/store/memory.js';
import { recordStore } from '../src/store/record-store.js';
import { firstPerSource, reportOncePerSource } from '../src/trace/report.js';
import { entry, newRun } from './helpers/store-contract.js';

afterEach(() => vi.restoreAllMocks());

describe('a long-lived process keeps what is live, not what is finished', () => {
  it('the default observer-error handler remembers a bounded number of sources', () => {
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => {});
    const report = reportOncePerSource(2);
    report(new Error('a'), 'the store (run a)');
    report(new Error('a'), 'the store (run a)');
    expect(consoleError).toHaveBeenCalledTimes(1);
    report(new Error('b'), 'the store (run b)');
    report(new Error('c'), 'the store (run c)');
    // "run a" was forgotten to keep the set at two: reported again rather than kept forever.
    report(new Error('a'), 'the store (run a)');
    expect(consoleError).toHaveBeenCalledTimes(4);
  });

  it('firstPerSource passes on the first error of each source only', () => {
    const handler = vi.fn();
    const report = firstPerSource(handler);
    report(new Error('1'), 'the state log');
    report(new Error('2'), 'the state log');
    report(new Error('3'), 'a listener');
    expect(handler.mock.calls.map(([e, s]) => [(e as Error).message, s])).toEqual([
      ['1', 'the state log'],
      ['3', 'a listener'],
    ]);
  });

  it('the store releases a finished run from its bookkeeping (and its backend’s)', async () => {
    const backend = memoryBackend();
    const released: string[] = [];
    const tracked: Backend = { ...backend, release: (runId) => released.push(runId) };
    const store = recordStore(tracked);
    for (let i = 0; i < 3; i++) {
      const runId = `run-${i}`;
      await store.create(newRun(runId));
      await store.commit(runId, { at: 1001, entries: [entry(1)] });
      await store.finish(runId, { at: 1002, status: 'completed', result: null });
      await store.flush(runId);
    }
    await store.create(newRun('live'));
    await store.flush();
    expect(released.sort()).toEqual(['run-0', 'run-1', 'run-2']);
  });
});
