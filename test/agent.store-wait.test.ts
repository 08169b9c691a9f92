import { afterEach, describe, expect, it } from 'vitest';
import { defineAgent } from '../src/agent.js';
import type { Runtime } from '../src/runtime.js';
import { createRuntime } from '../src/runtime.js';
import { memoryStore } from '../src/store/memory.js';
import type { Store } from '../src/store/store.js';
import { mockRun } from '../src/testing/mock-agent.js';
import { defineWorkflow } from '../src/workflow/define.js';
import { Draft, draft } from './helpers/agents.js';
import { settle, type TestClock, testClock } from './helpers/clock.js';

/**
 * With a store, an agent is called only once the store has made the run's earlier steps durable.
 * That wait is the store's, not the agent's: it is not charged to the attempt's time bound. A store
 * that never answers still ends the attempt at its first bound.
 */

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

/**
 * A memory store whose writes (commits and finishes, in order) wait until the test releases them;
 * `flush` waits for them.
 */
function heldStore() {
  const inner = memoryStore();
  let release!: () => void;
  let tail = new Promise<void>((resolve) => {
    release = resolve;
  });
  const later = (write: () => Promise<void>) => {
    const done = tail.then(write);
    tail = done;
    return done;
  };
  const store: Store = Object.assign(Object.create(null), inner, {
    commit: (runId: string, commit: Parameters<Store['commit']>[1]) =>
      later(() => inner.commit(runId, commit)),
    finish: (runId: string, finish: Parameters<Store['finish']>[1]) =>
      later(() => inner.finish(runId, finish)),
    flush: async (runId?: string) => {
      await tail;
      await inner.flush(runId);
    },
  });
  return { store, release };
}

/** One agent taking `callMs` per call, a 1,000 ms attempt bound, one attempt. */
function oneStep(clock: TestClock, callMs: number, deadlineMs?: number) {
  const run = mockRun([{ output: draft('done'), delayMs: callMs }], { clock });
  const agent = defineAgent({
    id: 'writer',
    output: Draft,
    run,
    limits: { maxIterations: 1, attemptTimeoutMs: 1000, ...(deadlineMs ? { deadlineMs } : {}) },
  });
  return { run, workflow: defineWorkflow({ id: 'one', output: Draft, steps: [agent] }) };
}

async function advance(clock: TestClock, ms: number, step = 100) {
  for (let t = 0; t < ms; t += step) await clock.advance(step);
}

describe('the wait for the store before an agent call', () => {
  it('is not charged to the attempt: 800 ms waiting, then a 500 ms call within a 1,000 ms bound', async () => {
    const clock = testClock();
    const { store, release } = heldStore();
    const { run, workflow } = oneStep(clock, 500);
    runtime = createRuntime({ clock, store, workflows: [workflow] });
    const handle = runtime.start(workflow, null, { runId: 'r1' });
    await advance(clock, 800);
    expect(run.calls).toHaveLength(0); // still waiting for the store
    release();
    await settle();
    expect(run.calls).toHaveLength(1);
    await advance(clock, 600);
    const result = await handle.done;
    expect(result.status).toBe('completed');
    expect(result.steps[0]).toMatchObject({ status: 'passed', attempts: 1 });
  });

  it('a store that never answers still ends the attempt at its first bound', async () => {
    const clock = testClock();
    const { store, release } = heldStore(); // released only after the run ended, so it can stop
    const { run, workflow } = oneStep(clock, 500);
    runtime = createRuntime({ clock, store, workflows: [workflow] });
    const handle = runtime.start(workflow, null, { runId: 'r2' });
    await advance(clock, 1100);
    expect(run.calls).toHaveLength(0);
    expect(handle.actor?.getSnapshot().status).not.toBe('active');
    const result = await handle.done;
    expect(result).toMatchObject({
      status: 'fallback',
      reason: expect.stringMatching(/timedOut: attempt 1 of 1 timed out after 1000 ms/),
    });
    release();
  });

  it('the agent’s deadline still cuts the attempt, and is named as the cause', async () => {
    const clock = testClock();
    const { store, release } = heldStore();
    // 800 ms waiting, then a 1,000 ms call: the bound moves to 1,800 ms, past the 1,200 ms deadline.
    const { workflow } = oneStep(clock, 1000, 1200);
    runtime = createRuntime({ clock, store, workflows: [workflow] });
    const handle = runtime.start(workflow, null, { runId: 'r3' });
    await advance(clock, 800);
    release();
    await settle();
    await advance(clock, 500);
    const result = await handle.done;
    expect(result).toMatchObject({ status: 'fallback', reason: expect.stringMatching(/deadlineExceeded/) });
  });
});
