import { afterEach, describe, expect, it } from 'vitest';
import { defineAgent } from '../src/agent.js';
import type { Runtime } from '../src/runtime.js';
import { createRuntime } from '../src/runtime.js';
import { mockRun } from '../src/testing/mock-agent.js';
import { defineWorkflow } from '../src/workflow/define.js';
import { Draft, draft } from './helpers/agents.js';
import { settle, testClock } from './helpers/clock.js';

/**
 * `run.result` is made when first read (a run in flight holds one promise fewer): it must settle
 * the same whenever it is read — awaitingReview when a human is needed, else the terminal result.
 */

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

const reviewed = () => {
  const writer = defineAgent({ id: 'writer', output: Draft, run: mockRun([{ output: draft('weak', 0.5) }]) });
  return defineWorkflow({
    id: 'reviewed',
    output: Draft,
    steps: [{ agent: writer, review: { below: 0.7 } }],
  });
};

describe('run.result, read late', () => {
  it('read only after the run ended: the terminal result, the same object as done', async () => {
    const writer = defineAgent({ id: 'writer', output: Draft, run: mockRun([{ output: draft('ok', 0.9) }]) });
    runtime = createRuntime({ clock: testClock() });
    const run = runtime.start(defineWorkflow({ id: 'plain', output: Draft, steps: [writer] }), null);
    const done = await run.done;
    expect(done.status).toBe('completed');
    expect(await run.result).toBe(done);
    expect(run.result).toBe(run.result); // one promise, however often it is read
  });

  it('read after the run began waiting for a human: awaitingReview, not the later terminal result', async () => {
    runtime = createRuntime({ clock: testClock(), onEscalation: () => {} });
    const run = runtime.start(reviewed(), null, { runId: 'r1' });
    await settle();
    await runtime.reviews.approve('r1.writer.1', { by: 'ana' });
    expect((await run.done).status).toBe('completed');
    // Read for the first time only now: it still says what the caller would have seen first.
    expect(await run.result).toMatchObject({
      status: 'awaitingReview',
      reviews: [{ reviewId: 'r1.writer.1' }],
    });
  });

  it('a refused input: result and done are the same failed result', async () => {
    const writer = defineAgent({ id: 'writer', output: Draft, run: mockRun([]) });
    const workflow = defineWorkflow({ id: 'typed', input: Draft, output: Draft, steps: [writer] });
    runtime = createRuntime({ clock: testClock() });
    const run = runtime.start(workflow, { content: 1 } as never);
    expect(await run.result).toBe(await run.done);
    expect((await run.done).status).toBe('failed');
  });
});
