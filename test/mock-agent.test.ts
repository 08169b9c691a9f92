import { describe, expect, it } from 'vitest';
import { mockRun } from '../src/testing/mock-agent.js';

const args = (attempt: number) => ({
  input: null,
  attempt,
  idempotencyKey: `k${attempt}`,
  previous: null,
  signal: new AbortController().signal,
});

describe('mockRun', () => {
  it('follows its script, the last step repeating, and keeps only the latest calls', async () => {
    const run = mockRun([{ output: 'a' }, { output: 'b' }], { maxRecorded: 2 });
    expect(await run(args(1))).toBe('a');
    expect(await run(args(2))).toBe('b');
    expect(await run(args(3))).toBe('b');
    expect(run.calls.map((c) => c.idempotencyKey)).toEqual(['k2', 'k3']);
  });

  it('rejects with an AbortError when the signal aborts a hanging call', async () => {
    const controller = new AbortController();
    const run = mockRun([{ hang: true }]);
    const pending = run({ ...args(1), signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });
});
