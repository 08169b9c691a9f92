import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent } from '../src/agent.js';
import type { ReviewOptions } from '../src/review/options.js';
import type { Runtime } from '../src/runtime.js';
import { createRuntime } from '../src/runtime.js';
import type { MockStep } from '../src/testing/mock-agent.js';
import { mockRun } from '../src/testing/mock-agent.js';
import { defineWorkflow } from '../src/workflow/define.js';
import { Draft, draft } from './helpers/agents.js';
import { settle, testClock } from './helpers/clock.js';

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

/** researcher → writer, with human review on the writer. */
function pipeline(writerSteps: MockStep[], review: ReviewOptions = { below: 0.7 }) {
  const researcher = defineAgent({
    id: 'researcher',
    output: Draft,
    run: mockRun([{ output: draft('notes', 0.9) }]),
  });
  const writerRun = mockRun(writerSteps);
  const writer = defineAgent({
    id: 'writer',
    output: Draft,
    run: writerRun,
    limits: { maxIterations: 1, attemptTimeoutMs: 1000 },
  });
  const after = mockRun([{ output: draft('published', 0.95) }]);
  const publisher = defineAgent({ id: 'publisher', output: Draft, run: after });
  const workflow = defineWorkflow({
    id: 'reviewed',
    output: Draft,
    steps: [researcher, { agent: writer, review }, publisher],
    result: ({ state }) => state.writer,
  });
  return { workflow, writerRun, publisherRun: after };
}

function start(
  workflow: ReturnType<typeof pipeline>['workflow'],
  extra: Parameters<typeof createRuntime>[0] = {},
) {
  const clock = testClock();
  const lines: string[] = [];
  runtime = createRuntime({
    clock,
    onEscalation: (n) => void lines.push(`${n.reviewId}: ${n.placeholder}`),
    ...extra,
  });
  return { clock, lines, run: runtime.start(workflow, null, { runId: 'r1' }) };
}

describe('workflow + human review: a reviewed output the shared state refuses', () => {
  it('a breaker refusal approved with an edit the state schema refuses ends stateRejected, not in a crash', async () => {
    const writer = defineAgent({
      id: 'writer',
      output: Draft,
      run: mockRun([{ throws: 'down' }]),
      limits: { maxIterations: 1, attemptTimeoutMs: 1000 },
    });
    const workflow = defineWorkflow({
      id: 'strict-state',
      // Stricter than the agent's own schema, which the edit passes.
      state: z.object({ writer: z.object({ content: z.string().max(5), confidence: z.number() }) }).partial(),
      steps: [
        {
          agent: writer,
          breaker: { failureThreshold: 1, cooldownMs: 60_000 },
          review: { below: 0.7, onFallback: false, onBreakerOpen: true },
        },
      ],
    });
    const clock = testClock();
    runtime = createRuntime({ clock, onEscalation: () => {} });
    const first = runtime.start(workflow, null, { runId: 'r1' });
    await clock.advance(10);
    expect((await first.done).status).toBe('fallback'); // the agent threw: the breaker opens
    const second = runtime.start(workflow, null, { runId: 'r2' });
    await settle();
    expect((await second.result).status).toBe('awaitingReview');
    await runtime.reviews.edit('r2.writer.1', draft('far too long for the state', 0.9), { by: 'eve' });
    const done = await second.done;
    expect(done).toMatchObject({ status: 'fallback', cause: 'stateRejected', stepId: 'writer' });
    expect(done.steps.at(-1)).toMatchObject({ stepId: 'writer', status: 'stateRejected', attempts: 0 });
    expect(done.steps.at(-1)).not.toHaveProperty('agentStatus');
  });
});

describe('workflow + human review', () => {
  it('low confidence pauses the run as awaitingReview; an edit resumes it and the edited output completes', async () => {
    const { workflow, publisherRun } = pipeline([{ output: draft('shaky draft', 0.62) }]);
    const { run, lines } = start(workflow);

    const paused = await run.result;
    expect(paused).toMatchObject({
      status: 'awaitingReview',
      output: '[Pending human review — confidence 62%]',
      reviews: [{ reviewId: 'r1.writer.1', stepId: 'writer', agentId: 'writer', confidence: 0.62 }],
    });
    await settle();
    expect(lines).toEqual(['r1.writer.1: [Pending human review — confidence 62%]']);
    // Paused: nothing after the writer has run.
    expect(publisherRun.calls).toHaveLength(0);
    expect(runtime!.reviews.list()).toEqual([
      expect.objectContaining({
        reviewId: 'r1.writer.1',
        runId: 'r1',
        stepId: 'writer',
        agentId: 'writer',
        output: draft('shaky draft', 0.62),
        confidence: 0.62,
        reason: 'agent "writer" output confidence 0.62 is below the review threshold 0.7',
      }),
    ]);
    // The pending review is part of the run's persisted snapshot.
    expect(JSON.stringify(run.snapshot())).toContain('r1.writer.1');

    await runtime!.reviews.edit('r1.writer.1', draft('a careful draft', 0.9), { by: 'alice' });
    const done = await run.done;
    expect(done).toMatchObject({ status: 'completed', output: draft('a careful draft', 0.9) });
    expect(done.steps.find((s) => s.stepId === 'writer')).toMatchObject({
      status: 'passed',
      review: { reviewId: 'r1.writer.1', decision: 'edited', by: 'alice' },
    });
    expect(publisherRun.calls).toHaveLength(1);
    // The escalation is a span and two progress events.
    const escalation = run.trace().spans.find((sp) => sp.operation === 'escalation');
    expect(escalation).toMatchObject({
      status: 'success',
      stepId: 'writer',
      attributes: { decision: 'edited', by: 'alice' },
    });
    const types: string[] = [];
    for await (const e of run.events()) types.push(e.type);
    expect(types.indexOf('escalated')).toBeGreaterThan(-1);
    expect(types.indexOf('reviewed')).toBeGreaterThan(types.indexOf('escalated'));
    // Once each: the decision is seen twice (told early, then reported by XState) and reported once.
    expect(types.filter((t) => t === 'escalated')).toHaveLength(1);
    expect(types.filter((t) => t === 'reviewed')).toHaveLength(1);
    // Who decided and when is in the state log (the escalation actor's snapshots).
    const decided = run
      .log()
      .find((e) => e.actorId.endsWith('review:writer') && JSON.stringify(e.state).includes('"alice"'));
    expect(decided).toBeDefined();
  });

  it('review ids are URL-safe and opaque: run, step and visit are fields; the escalation span is under its step', async () => {
    const { workflow } = pipeline([{ output: draft('shaky', 0.6) }]);
    const clock = testClock();
    runtime = createRuntime({ clock, onEscalation: () => {} });
    const run = runtime.start(workflow, null, { runId: 'team.run-7_a' });
    await run.result;
    await settle();
    const [review] = runtime.reviews.list();
    expect(review).toMatchObject({ runId: 'team.run-7_a', stepId: 'writer', visit: 1 });
    expect(encodeURIComponent(review!.reviewId)).toBe(review!.reviewId);
    expect(review!.reviewId).toMatch(/^[A-Za-z0-9._~-]+$/);
    await runtime.reviews.approve(review!.reviewId, { by: 'dan' });
    await run.done;
    const spans = run.trace().spans;
    const step = spans.find((sp) => sp.operation === 'step' && sp.stepId === 'writer')!;
    const escalation = spans.find((sp) => sp.operation === 'escalation')!;
    expect(escalation.parentSpanId).toBe(step.spanId);
    expect(escalation.attributes).toMatchObject({ review_id: review!.reviewId });
  });

  it('an invalid edit is refused with a clear error and the review stays pending', async () => {
    const { workflow } = pipeline([{ output: draft('shaky', 0.5) }]);
    const { run } = start(workflow);
    await run.result;
    await expect(runtime!.reviews.edit('r1.writer.1', { content: 3 }, { by: 'bob' })).rejects.toMatchObject({
      code: 'invalidEdit',
    });
    expect(runtime!.reviews.list().map((r) => r.reviewId)).toEqual(['r1.writer.1']);
    await runtime!.reviews.approve('r1.writer.1', { by: 'bob' });
    expect(await run.done).toMatchObject({ status: 'completed', output: draft('shaky', 0.5) });
  });

  it('an edit with a constructor key is refused while the human can fix it, not after "OK" by the run', async () => {
    const { workflow } = pipeline([{ output: draft('shaky', 0.5) }]);
    const { run } = start(workflow);
    await run.result;
    const hostile = JSON.parse('{"content":"ok","confidence":0.9,"constructor":{"prototype":{}}}');
    await expect(runtime!.reviews.edit('r1.writer.1', hostile, { by: 'bob' })).rejects.toMatchObject({
      code: 'invalidEdit',
    });
    expect(runtime!.reviews.list().map((r) => r.reviewId)).toEqual(['r1.writer.1']);
    await runtime!.reviews.edit('r1.writer.1', draft('fixed', 0.9), { by: 'bob' });
    expect(await run.done).toMatchObject({ status: 'completed', output: draft('fixed', 0.9) });
  });

  it('a rejection ends the run with an explicit fallback naming who rejected and why', async () => {
    const { workflow, publisherRun } = pipeline([{ output: draft('wrong', 0.4) }]);
    const { run } = start(workflow);
    await run.result;
    await runtime!.reviews.reject('r1.writer.1', 'cites a retracted paper', { by: 'carol' });
    const done = await run.done;
    expect(done).toMatchObject({
      status: 'fallback',
      cause: 'reviewRejected',
      output: '[Rejected in human review]',
      stepId: 'writer',
      reason: 'step writer: rejected in human review by carol: cites a retracted paper',
    });
    expect(publisherRun.calls).toHaveLength(0);
  });

  it('concurrent decisions on one review: exactly one wins', async () => {
    const { workflow } = pipeline([{ output: draft('x', 0.5) }]);
    const { run } = start(workflow);
    await run.result;
    const outcomes = await Promise.allSettled([
      runtime!.reviews.approve('r1.writer.1', { by: 'a' }),
      runtime!.reviews.reject('r1.writer.1', 'no', { by: 'b' }),
      runtime!.reviews.edit('r1.writer.1', draft('y'), { by: 'c' }),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(
      outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason.code),
    ).toEqual(['alreadyDecided', 'alreadyDecided']);
    expect((await run.done).status).toBe('completed');
  });

  it('a review timeout ends in the step’s declared policy (fallback)', async () => {
    const { workflow } = pipeline([{ output: draft('x', 0.5) }], { below: 0.7, timeoutMs: 60_000 });
    const { run, clock } = start(workflow);
    await run.result;
    await clock.advance(59_999);
    expect(runtime!.reviews.list()).toHaveLength(1);
    await clock.advance(1);
    expect(await run.done).toMatchObject({
      status: 'fallback',
      cause: 'reviewExpired',
      output: '[Review expired — no human decision]',
    });
  });

  it('by policy, an agent fallback (timeout) escalates, and a human can supply the output', async () => {
    const { workflow } = pipeline([{ hang: true }], { below: 0.7, onFallback: true });
    const { run, clock } = start(workflow);
    await clock.advance(1000);
    const paused = await run.result;
    expect(paused).toMatchObject({ status: 'awaitingReview', reviews: [{ confidence: 0 }] });
    expect(runtime!.reviews.list()[0]).toMatchObject({
      output: null,
      reason: expect.stringMatching(/timedOut/),
    });
    await runtime!.reviews.edit(
      paused.status === 'awaitingReview' ? paused.reviews[0]!.reviewId : '',
      draft('written by a human', 1),
      { by: 'dan' },
    );
    expect(await run.done).toMatchObject({ status: 'completed', output: draft('written by a human', 1) });
  });

  it('a confident output is not escalated', async () => {
    const { workflow } = pipeline([{ output: draft('fine', 0.9) }]);
    const { run } = start(workflow);
    expect((await run.result).status).toBe('completed');
    expect(runtime!.reviews.list()).toHaveLength(0);
  });

  it('bad review options fail at definition time, naming the step path', () => {
    const agent = defineAgent({ id: 'a', output: Draft, run: mockRun([{ output: draft('x') }]) });
    expect(() => defineWorkflow({ id: 'w', steps: [{ agent, review: { below: 0 } }] })).toThrow(
      /defineWorkflow\("w"\): steps\[0\]\.review\.below must be a number above 0 and at most 1, received 0/,
    );
    expect(() => defineWorkflow({ id: 'w', steps: [{ agent, review: { onTimeout: 'reject' } }] })).toThrow(
      /steps\[0\]\.review\.onTimeout has no effect without timeoutMs/,
    );
    expect(z).toBeDefined();
  });
});
