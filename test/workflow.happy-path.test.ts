import { afterEach, describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { z } from 'zod';
import { defineAgent } from '../src/agent.js';
import type { Runtime } from '../src/runtime.js';
import { createRuntime } from '../src/runtime.js';
import { memoryStore } from '../src/store/memory.js';
import { defineWorkflow } from '../src/workflow/define.js';
import { Draft } from './helpers/agents.js';
import { settle, testClock } from './helpers/clock.js';

/**
 * A step's guardrails decide inside the transitions that need them: a call its breaker admits for
 * sure is admitted on the way out of `checking`, and a result the gate passes and the shared state
 * accepts is gated and written on the way out of `calling`. Anything else goes by the named states
 * (`admitting`, `gating`, `writing`), as before.
 */

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

const answering = (id: string, confidence: () => number) =>
  defineAgent({
    id,
    output: Draft,
    run: async () => ({ content: `${id} says hi`, confidence: confidence() }),
  });

/**
 * The workflow's state after each microstep (`step.sub`), as the inspection stream shows them. A run
 * starts in its first step's `checking`; its first microstep leaves it.
 */
function recordPaths(workflowId: string) {
  const paths: string[] = [];
  const observer = (event: InspectionEvent) => {
    if (event.type !== '@xstate.microstep' || (event.actorRef as { id?: string }).id !== workflowId) return;
    const { value } = event.snapshot as unknown as {
      value: { running: Record<string, string> | string } | string;
    };
    if (typeof value === 'string') paths.push(value);
    else if (typeof value.running === 'string') paths.push(value.running);
    else for (const [step, sub] of Object.entries(value.running)) paths.push(`${step}.${sub}`);
  };
  return { paths, observer };
}

async function runToEnd<T>(clock: ReturnType<typeof testClock>, done: Promise<T>): Promise<T> {
  let over = false;
  void done.then(() => {
    over = true;
  });
  for (let i = 0; i < 200 && !over; i++) await clock.advance(50);
  await settle();
  return done;
}

describe('workflow: guardrails decided inside the step’s transitions', () => {
  it('a step its breaker admits and whose gate and write pass goes checking → calling → the next step', async () => {
    const clock = testClock();
    const a = answering('a', () => 0.9);
    const b = answering('b', () => 0.9);
    const workflow = defineWorkflow({ id: 'straight', output: Draft, steps: [a, b] });
    const { paths, observer } = recordPaths('straight');
    runtime = createRuntime({ clock, observers: [observer] });
    const run = runtime.start(workflow, null);
    const result = await runToEnd(clock, run.done);

    expect(result).toMatchObject({ status: 'completed', output: { content: 'b says hi' } });
    expect(paths).toEqual(['a.calling', 'b.checking', 'b.calling', 'finishing', 'completed']);
    // The decisions are in the step's slot all the same: the breaker's, the gate's and the write's.
    const last = run.log().findLast((entry) => entry.actorId === 'straight')!;
    const { slots, steps, version } = (last.state as { context: unknown }).context as {
      slots: Record<
        string,
        { admission?: { allowed: boolean }; decision?: { passed: boolean }; written?: { ok: boolean } }
      >;
      steps: Array<{ stepId: string; status: string }>;
      version: number;
    };
    for (const id of ['a', 'b']) {
      expect(slots[id]).toMatchObject({
        admission: { allowed: true },
        decision: { passed: true },
        written: { ok: true },
      });
    }
    expect(steps.map((s) => [s.stepId, s.status])).toEqual([
      ['a', 'passed'],
      ['b', 'passed'],
    ]);
    expect(version).toBe(2);
    expect(runtime.breaker('a→b')).toMatchObject({ value: 'closed' });
  });

  it('a result the gate blocks is decided in `gating`, and ends the run in its fallback', async () => {
    const clock = testClock();
    const a = answering('a', () => 0.2);
    const b = answering('b', () => 0.9);
    const workflow = defineWorkflow({ id: 'blocked', output: Draft, steps: [a, b] });
    const { paths, observer } = recordPaths('blocked');
    runtime = createRuntime({ clock, observers: [observer] });
    const result = await runToEnd(clock, runtime.start(workflow, null).done);

    expect(result).toMatchObject({ status: 'fallback', cause: 'gate', stepId: 'a' });
    expect(paths).toEqual(['a.calling', 'a.gating', 'fallback']);
  });

  it('a write the shared state refuses is decided in `writing`, and the state is unchanged', async () => {
    const clock = testClock();
    const a = answering('a', () => 0.9);
    const workflow = defineWorkflow({
      id: 'refused',
      output: Draft,
      // `a` writes its output under its own id: a number there is all the schema accepts.
      state: z.object({ a: z.number() }).partial(),
      steps: [a],
    });
    const { paths, observer } = recordPaths('refused');
    runtime = createRuntime({ clock, observers: [observer] });
    const run = runtime.start(workflow, null);
    const result = await runToEnd(clock, run.done);

    expect(result).toMatchObject({ status: 'fallback', cause: 'stateRejected', stepId: 'a' });
    expect(paths).toEqual(['a.calling', 'a.gating', 'a.writing', 'fallback']);
    expect(run.state()).toMatchObject({ version: 0, state: {} });
  });

  it('a breaker that is not closed is asked in `admitting`: open, it refuses the call there', async () => {
    const clock = testClock();
    let confidence = 0.2;
    const a = answering('a', () => confidence);
    const workflow = defineWorkflow({ id: 'opened', output: Draft, steps: [a] });
    const { paths, observer } = recordPaths('opened');
    runtime = createRuntime({ clock, observers: [observer] });
    for (let i = 0; i < 3; i++) await runToEnd(clock, runtime.start(workflow, null).done);
    expect(runtime.breaker('a→output')?.value).toBe('open');
    paths.length = 0;
    confidence = 0.9;

    const refused = await runToEnd(clock, runtime.start(workflow, null).done);
    expect(refused).toMatchObject({ status: 'fallback', cause: 'breakerOpen', stepId: 'a' });
    expect(paths).toEqual(['a.admitting', 'fallback']);
  });

  it('a step’s write runs its reducer once, even when the clock moves while the result comes in', async () => {
    const clock = testClock();
    // Every reading a millisecond later: the result's time and the write's differ, as they can on
    // a wall clock.
    let readings = 0;
    const ticking = Object.assign(Object.create(clock) as typeof clock, {
      now: () => clock.now() + readings++,
    });
    let reduced = 0;
    const a = answering('a', () => 0.9);
    const b = answering('b', () => 0.9);
    const workflow = defineWorkflow({
      id: 'reduced',
      output: Draft,
      reducers: {
        notes: (current: unknown, incoming: unknown) => {
          reduced++;
          return [...((current as unknown[] | undefined) ?? []), incoming];
        },
      },
      steps: [
        { agent: a, writes: 'notes' },
        { agent: b, writes: 'notes' },
      ],
    });
    runtime = createRuntime({ clock: ticking });
    const run = runtime.start(workflow, null);
    await runToEnd(clock, run.done);
    expect(reduced).toBe(2);
    expect(run.state().state).toEqual({
      notes: [
        { content: 'a says hi', confidence: 0.9 },
        { content: 'b says hi', confidence: 0.9 },
      ],
    });
  });

  it('a replay takes the logged decisions on both paths: a gate that blocked, then a breaker that refused', async () => {
    const clock = testClock();
    const store = memoryStore();
    let confidence = 0.2;
    const a = answering('a', () => confidence);
    const b = answering('b', () => 0.9);
    const workflow = defineWorkflow({ id: 'replayed', output: Draft, steps: [a, b] });
    runtime = createRuntime({ clock, store, workflows: [workflow] });
    for (let i = 0; i < 3; i++)
      await runToEnd(clock, runtime.start(workflow, null, { runId: `blocked-${i}` }).done);
    confidence = 0.9;
    // The breaker is open now; were the replay to ask a breaker of its own, it would admit the call.
    const refused = await runToEnd(clock, runtime.start(workflow, null, { runId: 'refused' }).done);
    expect(refused).toMatchObject({ status: 'fallback', cause: 'breakerOpen' });

    for (const [runId, cause] of [
      ['blocked-0', 'gate'],
      ['refused', 'breakerOpen'],
    ] as const) {
      const replay = await runtime.replay(runId);
      expect(replay.matchesLog).toBe(true);
      expect(replay.final.value).toBe('fallback');
      expect(replay.final.context.outcome).toMatchObject({ status: 'fallback', cause });
    }
  });
});
