import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { agentActor, defineAgent } from '../src/agent.js';
import { isOptionsError, type OptionsError } from '../src/errors.js';
import { createRuntime } from '../src/runtime.js';
import { memoryStore } from '../src/store/memory.js';
import type { Store } from '../src/store/store.js';
import type { MockStep } from '../src/testing/mock-agent.js';
import { mockRun } from '../src/testing/mock-agent.js';
import { defineWorkflow } from '../src/workflow/define.js';
import { Draft, draft } from './helpers/agents.js';
import { settle, type TestClock, testClock } from './helpers/clock.js';

/** researcher → writer (reviewed below 0.7), with a 60 s workflow deadline. */
function pipeline(writer: MockStep[], clock: TestClock) {
  const researcherRun = mockRun([{ output: draft('notes', 0.9), delayMs: 10 }], { clock });
  const writerRun = mockRun(writer, { clock });
  const researcher = defineAgent({ id: 'researcher', output: Draft, run: researcherRun });
  const writerAgent = defineAgent({
    id: 'writer',
    output: Draft,
    run: writerRun,
    limits: { maxIterations: 2, attemptTimeoutMs: 10_000 },
    retry: { initialDelayMs: 1000, maxDelayMs: 1000 },
  });
  const workflow = defineWorkflow({
    id: 'durable',
    deadlineMs: 60_000,
    steps: [researcher, { agent: writerAgent, review: { below: 0.7 } }],
  });
  return { workflow, researcherRun, writerRun };
}

async function restart(store: Store, clock: TestClock, workflow: ReturnType<typeof pipeline>['workflow']) {
  const runtime = createRuntime({ clock, store, workflows: [workflow] });
  const resumed = await runtime.resume();
  await settle();
  return { runtime, resumed };
}

describe('durable runs: stop, restart, resume', () => {
  it('an in-flight agent call runs again with the same idempotency key; completed steps do not', async () => {
    const clock = testClock();
    const store = memoryStore();
    const first = pipeline([{ hang: true }], clock);
    const before = createRuntime({ clock, store, workflows: [first.workflow] });
    const run = before.start(first.workflow, null, { runId: 'r1' });
    await clock.advance(10); // researcher done; writer in flight
    await settle();
    expect(first.writerRun.calls.map((c) => c.idempotencyKey)).toEqual(['r1:writer.1:1']);
    await before.stop(); // the run stays unfinished in the store
    expect((await run.done).status).toBe('cancelled'); // in this process

    const second = pipeline([{ output: draft('written', 0.9) }], clock);
    const { runtime, resumed } = await restart(store, clock, second.workflow);
    expect(resumed.errors).toEqual([]);
    expect(resumed.runs.map((r) => r.id)).toEqual(['r1']);
    const done = await resumed.runs[0]!.done;
    expect(done).toMatchObject({ status: 'completed' });
    expect(second.researcherRun.calls).toHaveLength(0); // its step had completed: not run again
    expect(second.writerRun.calls.map((c) => c.idempotencyKey)).toEqual(['r1:writer.1:1']); // at-least-once
    // The log goes on from where it was: one history across both processes.
    const seqs = resumed.runs[0]!.log().map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    await runtime.stop();
    expect((await store.listUnfinished()).runs).toHaveLength(0);
  });

  it('a step’s agent is called only once the store holds the steps before it', async () => {
    const clock = testClock();
    const inner = memoryStore();
    // A store whose commits wait while the test holds them; flush waits for them.
    let gate = Promise.resolve();
    const hold = () => {
      let release!: () => void;
      gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      return release;
    };
    const pending: Promise<void>[] = [];
    const store: Store = Object.assign(Object.create(null), inner, {
      commit: (runId: string, commit: Parameters<Store['commit']>[1]) => {
        const done = gate.then(() => inner.commit(runId, commit));
        pending.push(done);
        return done;
      },
      flush: async (runId?: string) => {
        await Promise.all(pending);
        await inner.flush(runId);
      },
    });
    const { workflow, researcherRun, writerRun } = pipeline([{ output: draft('written', 0.9) }], clock);
    const runtime = createRuntime({ clock, store, workflows: [workflow] });
    let release = hold();
    const run = runtime.start(workflow, null, { runId: 'r-durable' });
    await settle();
    expect(run.actor?.getSnapshot().value).toEqual({ running: { researcher: 'calling' } });
    expect(researcherRun.calls).toHaveLength(0); // the run's start is not durable yet
    release();
    await settle();
    expect(researcherRun.calls).toHaveLength(1);
    release = hold();
    await clock.advance(10); // the researcher's step ends; the writer's is admitted
    await settle();
    expect(run.actor?.getSnapshot().value).toEqual({ running: { writer: 'calling' } });
    expect(writerRun.calls).toHaveLength(0); // the researcher's step is not durable yet
    release();
    await settle();
    expect(writerRun.calls.map((c) => c.idempotencyKey)).toEqual(['r-durable:writer.1:1']);
    expect((await run.done).status).toBe('completed');
    await runtime.stop();
  });

  it('a snapshot stored before steps decided in their transitions resumes where it rested', async () => {
    // Stored by the previous version: resting in `admitting` (waiting for the breaker's answer by
    // event), with no shared-state journal in the workflow's context.
    const clock = testClock();
    const { workflow, researcherRun } = pipeline([{ output: draft('written', 0.9) }], clock);
    const live = createActor(workflow.machine, { input: { runId: 'old', input: null }, clock }).start();
    const stored = JSON.parse(JSON.stringify(live.getPersistedSnapshot())) as {
      value: unknown;
      children: Record<string, unknown>;
      context: { journal?: unknown; slots: Record<string, Record<string, unknown>> };
    };
    live.stop();
    stored.value = { running: { researcher: 'admitting' } };
    stored.children = {};
    delete stored.context.journal;
    delete stored.context.slots.researcher!.admission;
    const callsBefore = researcherRun.calls.length;
    const resumed = createActor(workflow.machine, {
      input: { runId: 'old', input: null },
      snapshot: stored as never,
      clock,
    }).start();
    resumed.send({ type: 'restore' });
    for (let i = 0; i < 10; i++) await clock.advance(50);
    expect(researcherRun.calls.length).toBe(callsBefore + 1);
    expect(resumed.getSnapshot().context.steps.map((r) => [r.stepId, r.status, r.version])).toEqual([
      ['researcher', 'passed', 1],
      ['writer', 'passed', 2],
    ]);
    expect(resumed.getSnapshot().status).toBe('done');
  });

  it('the workflow deadline is re-armed at the same absolute time', async () => {
    const clock = testClock();
    const store = memoryStore();
    const first = pipeline([{ hang: true }], clock);
    const before = createRuntime({ clock, store, workflows: [first.workflow] });
    before.start(first.workflow, null, { runId: 'r2' });
    await clock.advance(10);
    await settle();
    await before.stop();

    const second = pipeline([{ hang: true }], clock);
    const { runtime, resumed } = await restart(store, clock, second.workflow);
    await clock.advance(60_000 - 10 - 1);
    expect(runtime.runs()).toHaveLength(1);
    await clock.advance(1); // t=60 000: the deadline, kept as an absolute time
    expect(await resumed.runs[0]!.done).toMatchObject({
      status: 'fallback',
      cause: 'deadline',
      durationMs: 60_000,
    });
    await runtime.stop();
  });

  it('a pending review survives a restart and can still be decided', async () => {
    const clock = testClock();
    const store = memoryStore();
    const first = pipeline([{ output: draft('shaky', 0.6) }], clock);
    const before = createRuntime({ clock, store, workflows: [first.workflow] });
    const run = before.start(first.workflow, null, { runId: 'r3' });
    await clock.advance(10);
    expect((await run.result).status).toBe('awaitingReview');
    await before.stop();
    expect((await store.listUnfinished()).runs[0]!.meta.status).toBe('awaitingReview');

    const second = pipeline([{ hang: true }], clock);
    const { runtime, resumed } = await restart(store, clock, second.workflow);
    expect(runtime.reviews.list()).toEqual([
      expect.objectContaining({ reviewId: 'r3.writer.1', runId: 'r3', confidence: 0.6 }),
    ]);
    expect((await resumed.runs[0]!.result).status).toBe('awaitingReview');
    await runtime.reviews.approve('r3.writer.1', { by: 'after-restart' });
    expect(await resumed.runs[0]!.done).toMatchObject({ status: 'completed', output: draft('shaky', 0.6) });
    expect(second.writerRun.calls).toHaveLength(0);
    await runtime.stop();
  });

  it('a breaker keeps its state across a restart', async () => {
    const clock = testClock();
    const store = memoryStore();
    const weak = pipeline([{ output: draft('weak', 0.2) }], clock);
    const noReview = defineWorkflow({
      id: 'durable',
      steps: [
        defineAgent({ id: 'researcher', output: Draft, run: mockRun([{ output: draft('weak', 0.2) }]) }),
      ],
    });
    void weak;
    const before = createRuntime({ clock, store, workflows: [noReview] });
    for (let i = 0; i < 3; i++) await before.start(noReview, null).done;
    expect(before.breaker('researcher→output')).toMatchObject({ value: 'open', probeAt: 30_000 });
    await before.stop();
    await store.flush();
    const { runtime } = await restart(store, clock, noReview);
    const refused = await runtime.start(noReview, null).done;
    expect(refused).toMatchObject({ status: 'fallback', cause: 'breakerOpen' });
    expect(runtime.breaker('researcher→output')).toMatchObject({ value: 'open', probeAt: 30_000 });
    await runtime.stop();
  });

  it('a run whose stored data is damaged is reported by name; the others still resume', async () => {
    const clock = testClock();
    const inner = memoryStore();
    const first = pipeline([{ hang: true }], clock);
    const before = createRuntime({ clock, store: inner, workflows: [first.workflow] });
    before.start(first.workflow, null, { runId: 'good' });
    before.start(first.workflow, null, { runId: 'other' });
    await clock.advance(10);
    await before.stop();
    // A store whose load of one run fails as a corrupt file would.
    const damaged: Store = {
      ...inner,
      listUnfinished: async () => {
        const all = await inner.listUnfinished();
        const { StoreError } = await import('../src/store/errors.js');
        return {
          runs: all.runs.filter((r) => r.meta.runId !== 'other'),
          errors: [new StoreError('corrupt', 'other', 'store: run "other": line 3 is not valid JSON')],
        };
      },
    };
    const second = pipeline([{ output: draft('ok', 0.9) }], clock);
    const { runtime, resumed } = await restart(damaged, clock, second.workflow);
    expect(resumed.errors.map((e) => e.message)).toEqual(['store: run "other": line 3 is not valid JSON']);
    expect(resumed.runs.map((r) => r.id)).toEqual(['good']);
    expect((await resumed.runs[0]!.done).status).toBe('completed');
    await runtime.stop();
  });
});

describe('agent statechart: restore re-arms its timers', () => {
  it('a persisted backoff ends at the same absolute time after a restore', async () => {
    const clock = testClock();
    const run = mockRun([{ throws: new Error('429') }, { output: draft('ok') }]);
    const agent = defineAgent({
      id: 'a',
      output: Draft,
      run,
      retry: { initialDelayMs: 1000, maxDelayMs: 1000 },
    });
    const actor = createActor(agentActor(agent), { input: { input: null, runId: 'r' }, clock }).start();
    await clock.advance(300); // attempt 1 threw at t=0: backing off until t=1000
    const persisted = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
    actor.stop();
    const restored = createActor(agentActor(agent), {
      snapshot: persisted,
      clock,
      input: { input: null },
    }).start();
    restored.send({ type: 'restore' });
    await clock.advance(699);
    expect(run.calls).toHaveLength(1);
    await clock.advance(1);
    expect(run.calls.map((c) => c.idempotencyKey)).toEqual(['r:a:1', 'r:a:2']);
    expect(restored.getSnapshot().output).toMatchObject({ status: 'succeeded' });
  });

  it('a persisted attempt in flight times out at the same absolute time after a restore', async () => {
    const clock = testClock();
    const agent = defineAgent({
      id: 'a',
      output: Draft,
      run: mockRun([{ hang: true }]),
      limits: { maxIterations: 1, attemptTimeoutMs: 1000 },
    });
    const actor = createActor(agentActor(agent), { input: { input: null, runId: 'r' }, clock }).start();
    await clock.advance(400);
    const persisted = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
    actor.stop();
    const restored = createActor(agentActor(agent), {
      snapshot: persisted,
      clock,
      input: { input: null },
    }).start();
    restored.send({ type: 'restore' });
    await clock.advance(599);
    expect(restored.getSnapshot().status).toBe('active');
    await clock.advance(1);
    expect(restored.getSnapshot().output).toMatchObject({ status: 'timedOut', durationMs: 1000 });
  });
});

describe('replay and time travel', () => {
  it('a finished run is re-driven from its log to the same end, without calling any agent', async () => {
    const clock = testClock();
    const store = memoryStore();
    const first = pipeline(
      [
        { throws: new Error('flaky'), delayMs: 5 },
        { output: draft('shaky', 0.6), delayMs: 5 },
      ],
      clock,
    );
    const runtime = createRuntime({ clock, store, workflows: [first.workflow] });
    const run = runtime.start(first.workflow, null, { runId: 'r9' });
    for (let i = 0; i < 20; i++) await clock.advance(100);
    await runtime.reviews.edit('r9.writer.1', draft('fixed by a human', 0.95), { by: 'eve' });
    const done = await run.done;
    expect(done.status).toBe('completed');
    const callsBefore = first.researcherRun.calls.length + first.writerRun.calls.length;

    const replay = await runtime.replay('r9');
    expect(replay.matchesLog).toBe(true);
    expect(replay.final.value).toBe('completed');
    expect(replay.final.context.steps.map((s) => [s.stepId, s.status, s.review?.by ?? null])).toEqual([
      ['researcher', 'passed', null],
      ['writer', 'passed', 'eve'],
    ]);
    expect(first.researcherRun.calls.length + first.writerRun.calls.length).toBe(callsBefore);
    // Time travel: step through the workflow's states.
    const cursor = replay.timeline.cursor();
    const values: unknown[] = [];
    for (let entry = cursor.entry; entry; entry = cursor.next())
      values.push((entry.state as { value: unknown }).value);
    // The breaker admits inside the transition that enters the step: the first resting state is the call.
    expect(values[0]).toEqual({ running: { researcher: 'calling' } });
    expect(values).toContainEqual({ running: { writer: 'reviewing' } });
    expect(values.at(-1)).toBe('completed');
    expect(cursor.prev()).toBeDefined();
    await runtime.stop();
  });
});

describe('run ids: one rule for the runtime and the stores', () => {
  const unsafe = ['../x', 'a/b', 'nul\u0000byte', 'x'.repeat(300), '.hidden', 'con', ''];

  it('runtime.start refuses an id the store would refuse, up front, and nothing runs or is stored', async () => {
    const clock = testClock();
    const store = memoryStore();
    const { workflow, researcherRun } = pipeline([{ output: draft('ok', 0.9) }], clock);
    const runtime = createRuntime({ clock, store, workflows: [workflow] });
    for (const runId of unsafe) {
      let error: unknown;
      try {
        runtime.start(workflow, null, { runId });
      } catch (e) {
        error = e;
      }
      expect(isOptionsError(error), JSON.stringify(runId)).toBe(true);
      expect((error as OptionsError).field).toBe('runId');
      expect((error as OptionsError).received).toBe(runId);
      expect((error as Error).message).toMatch(/^runtime\.start: runId must be 1 to 200 letters, digits/);
      // The store's own check agrees.
      await expect(store.create({ runId, workflowId: 'durable', input: null, startedAt: 0 })).rejects.toThrow(
        /not safe to store/,
      );
    }
    await clock.advance(100);
    await settle();
    expect(researcherRun.calls).toHaveLength(0);
    expect(runtime.runs()).toHaveLength(0);
    expect(await store.runIds()).toEqual([]);
    // A safe id is accepted by both.
    const run = runtime.start(workflow, null, { runId: 'safe_id-1.2' });
    await clock.advance(10);
    expect((await run.result).status).toBe('completed');
    expect(await store.runIds()).toEqual(['safe_id-1.2']);
    await runtime.stop();
  });

  it('the same rule holds without a store', () => {
    const clock = testClock();
    const { workflow } = pipeline([{ output: draft('ok', 0.9) }], clock);
    const runtime = createRuntime({ clock });
    expect(() => runtime.start(workflow, null, { runId: 'a/b' })).toThrow(/runtime\.start: runId must be/);
  });
});

describe('review notifications across a restart', () => {
  /** A runtime whose hook records every notice it gets (and can be made to fail). */
  function withHook(
    store: Store,
    clock: TestClock,
    workflow: ReturnType<typeof pipeline>['workflow'],
    fails = false,
  ) {
    const notices: string[] = [];
    const runtime = createRuntime({
      clock,
      store,
      workflows: [workflow],
      escalationRetry: { maxAttempts: 2, initialDelayMs: 100, maxDelayMs: 100 },
      onEscalation: (n) => {
        notices.push(`${n.reviewId}#${n.attempt}`);
        if (fails) throw new Error('pager down');
      },
    });
    return { runtime, notices };
  }

  it('a review whose hook succeeded is not notified again after a restart', async () => {
    const clock = testClock();
    const store = memoryStore();
    const first = pipeline([{ output: draft('shaky', 0.6) }], clock);
    const before = withHook(store, clock, first.workflow);
    const run = before.runtime.start(first.workflow, null, { runId: 'r4' });
    await clock.advance(10);
    expect((await run.result).status).toBe('awaitingReview');
    await settle();
    expect(before.notices).toEqual(['r4.writer.1#1']);
    await before.runtime.stop();

    const second = pipeline([{ hang: true }], clock);
    const after = withHook(store, clock, second.workflow);
    const resumed = await after.runtime.resume();
    await clock.advance(1_000);
    expect(after.runtime.reviews.list()).toEqual([
      expect.objectContaining({ reviewId: 'r4.writer.1', status: 'awaitingReview' }),
    ]);
    expect(after.notices).toEqual([]); // nobody is paged again
    await after.runtime.reviews.approve('r4.writer.1', { by: 'after-restart' });
    expect(await resumed.runs[0]!.done).toMatchObject({ status: 'completed' });
    await after.runtime.stop();
  });

  it('a review whose hook never succeeded is notified again after a restart', async () => {
    const clock = testClock();
    const store = memoryStore();
    const first = pipeline([{ output: draft('shaky', 0.6) }], clock);
    const before = withHook(store, clock, first.workflow, true);
    const run = before.runtime.start(first.workflow, null, { runId: 'r5' });
    await clock.advance(10);
    expect((await run.result).status).toBe('awaitingReview');
    for (let i = 0; i < 5; i++) await clock.advance(100); // both attempts fail; the review waits
    expect(before.notices).toEqual(['r5.writer.1#1', 'r5.writer.1#2']);
    expect(before.runtime.reviews.list()[0]).toMatchObject({ status: 'awaitingReview' });
    await before.runtime.stop();

    const second = pipeline([{ hang: true }], clock);
    const after = withHook(store, clock, second.workflow);
    await after.runtime.resume();
    await clock.advance(1_000);
    expect(after.notices).toEqual(['r5.writer.1#1']); // told now, once, with a fresh round of attempts
    await after.runtime.stop();

    // And once told, a further restart does not tell again.
    const third = withHook(store, clock, pipeline([{ hang: true }], clock).workflow);
    await third.runtime.resume();
    await clock.advance(1_000);
    expect(third.notices).toEqual([]);
    await third.runtime.stop();
  });
});
