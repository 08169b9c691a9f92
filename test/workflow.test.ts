import { afterEach, describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { z } from 'zod';
import { defineAgent } from '../src/agent.js';
import { isOptionsError, type OptionsError } from '../src/errors.js';
import type { RunResult } from '../src/run-result.js';
import type { Runtime } from '../src/runtime.js';
import { createRuntime } from '../src/runtime.js';
import type { MockStep } from '../src/testing/mock-agent.js';
import { mockRun } from '../src/testing/mock-agent.js';
import { defineWorkflow } from '../src/workflow/define.js';
import { Draft, draft } from './helpers/agents.js';
import { settle, type TestClock, testClock } from './helpers/clock.js';
import { reportWorkflow } from './helpers/workflows.js';

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

/** Advance the clock in small steps until the run settles (bounded, so a hang fails the test). */
async function finish<T>(clock: TestClock, result: Promise<T>, stepMs = 50, maxMs = 60_000): Promise<T> {
  let settled = false;
  void result.then(() => {
    settled = true;
  });
  for (let t = 0; t <= maxMs && !settled; t += stepMs) await clock.advance(stepMs);
  await settle();
  if (!settled) throw new Error(`the run did not settle within ${maxMs} ms of simulated time`);
  return result;
}

describe('workflow: the research report pipeline end to end', () => {
  it('researcher → fact-checker ∥ style-checker → writer completes with a validated output', async () => {
    const clock = testClock();
    const { workflow, runs } = reportWorkflow(clock);
    runtime = createRuntime({ clock });
    const run = runtime.start(workflow, { topic: 'solid-state batteries' }, { runId: 'run-1' });
    const result = await finish(clock, run.result);
    expect(result).toMatchObject({
      status: 'completed',
      runId: 'run-1',
      workflowId: 'report',
      output: { report: 'A report on solid-state batteries.', checks: ['facts check out', 'style is fine'] },
    });
    expect(result.steps.map((s) => [s.stepId, s.status])).toEqual([
      ['researcher', 'passed'],
      ['fact-checker', 'passed'],
      ['style-checker', 'passed'],
      ['writer', 'passed'],
    ]);
    // Branches ran side by side: both started when the researcher finished.
    const [fact, style] = [result.steps[1]!, result.steps[2]!];
    expect(fact.startedAt).toBe(style.startedAt);
    // Each agent saw the shared state as it was when its step started.
    expect(runs['fact-checker'].calls[0]!.input).toEqual({
      input: { topic: 'solid-state batteries' },
      state: { researcher: draft('notes on solid-state batteries', 0.9) },
    });
    expect(Object.keys((runs.writer.calls[0]!.input as { state: object }).state).sort()).toEqual([
      'fact-checker',
      'researcher',
      'style-checker',
    ]);
    expect(runs.writer.calls[0]!.idempotencyKey).toBe('run-1:writer.1:1');
    expect(run.state().version).toBe(4);
    expect(Object.isFrozen(run.state().state)).toBe(true);
  });

  it('the compiled statechart has one named state per step', () => {
    const { workflow } = reportWorkflow(testClock());
    const running = workflow.machine.root.states.running!;
    expect(Object.keys(running.states)).toEqual(['researcher', 'review', 'writer', 'finishing']);
    expect(Object.keys(running.states.review!.states.branches!.states)).toEqual([
      'fact-checker',
      'style-checker',
    ]);
    expect(Object.keys(running.states.researcher!.states)).toEqual([
      'checking',
      'admitting',
      'calling',
      'gating',
      'writing',
      'done',
      'routing',
    ]);
    expect(Object.keys(workflow.machine.root.states)).toEqual([
      'running',
      'completed',
      'fallback',
      'failed',
      'cancelled',
    ]);
  });

  it('the compiled machine runs on its own with createActor (no runtime)', async () => {
    const clock = testClock();
    const { workflow } = reportWorkflow(clock);
    const actor = createActor(workflow.machine, { input: { input: { topic: 't' } }, clock }).start();
    for (let i = 0; i < 10; i++) await clock.advance(50);
    expect(actor.getSnapshot().status).toBe('done');
    expect(actor.getSnapshot().output?.outcome).toMatchObject({ status: 'completed' });
  });

  it('the run log holds every actor’s frozen snapshots, in order', async () => {
    const clock = testClock();
    const { workflow } = reportWorkflow(clock);
    runtime = createRuntime({ clock });
    const run = runtime.start(workflow, { topic: 't' });
    await finish(clock, run.result);
    const log = run.log();
    const actors = new Set(log.map((e) => e.actorId));
    expect([...actors]).toEqual(
      expect.arrayContaining(['report', 'report/agent:researcher', 'report/agent:writer']),
    );
    // The shared state is the workflow's own: each write is in the workflow's entries, versioned.
    const versions = log
      .filter((e) => e.actorId === 'report')
      .map((e) => (e.state as { context: { version: number } }).context.version);
    expect([...new Set(versions)]).toEqual([0, 1, 2, 3, 4]);
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
    expect(log.every((e) => Object.isFrozen(e) && Object.isFrozen(e.state))).toBe(true);
    expect((log.at(-1)!.state as { value: unknown }).value).toBe('completed');
  });
});

describe('workflow: every failure mode of every step surfaces with its reason', () => {
  const modes: Array<[string, MockStep[], RunResult['status'], string, RegExp]> = [
    ['timedOut', [{ hang: true }], 'fallback', 'agent', /timedOut: attempt 2 of 2 timed out after 1000 ms/],
    [
      'invalidOutput',
      [{ output: { content: 7 } }],
      'fallback',
      'agent',
      /invalidOutput: attempt 2 of 2 returned invalid output/,
    ],
    [
      'failed',
      [{ throws: new Error('provider 500') }],
      'fallback',
      'agent',
      /failed: attempt 2 of 2 threw: Error: provider 500/,
    ],
    [
      'low quality',
      [{ output: draft('meh', 0.3) }],
      'fallback',
      'gate',
      /quality LOW \(confidence 0.3\) is below the gate's minimum MEDIUM/,
    ],
  ];
  for (const stepId of ['researcher', 'fact-checker', 'writer'] as const) {
    for (const [mode, behaviour, status, cause, reason] of modes) {
      it(`${stepId}: ${mode}`, async () => {
        const clock = testClock();
        const { workflow, runs } = reportWorkflow(clock, { [stepId]: behaviour });
        runtime = createRuntime({ clock });
        const result = await finish(clock, runtime.start(workflow, { topic: 't' }).result);
        expect(result).toMatchObject({ status, cause, stepId, agentId: stepId });
        expect((result as { reason: string }).reason).toMatch(new RegExp(`^step ${stepId}: `));
        expect((result as { reason: string }).reason).toMatch(reason);
        expect(typeof (result as { output: unknown }).output).toBe('string');
        expect((result as { output: string }).output).toMatch(/^\[.*\]$/);
        // Nothing downstream ran on the failed step's output.
        if (stepId !== 'writer') expect(runs.writer.calls).toHaveLength(0);
      });
    }
  }

  it('maxIterations of a step surfaces as the agent fallback', async () => {
    const clock = testClock();
    const looping = defineAgent({
      id: 'looper',
      output: Draft,
      isDone: () => false,
      limits: { maxIterations: 3 },
      run: mockRun((call) => ({ output: draft(`v${call.attempt}`) })),
    });
    const workflow = defineWorkflow({ id: 'loop', steps: [looping] });
    runtime = createRuntime({ clock });
    const result = await finish(clock, runtime.start(workflow, null).result);
    expect(result).toMatchObject({
      status: 'fallback',
      cause: 'agent',
      stepId: 'looper',
      output: '[Max iterations reached — escalating]',
      detail: { status: 'maxIterations', candidate: { content: draft('v3') } },
    });
  });

  it('a breaker opened by earlier runs fails the step fast: the agent is not called', async () => {
    const clock = testClock();
    const { workflow, runs } = reportWorkflow(clock, { researcher: [{ output: draft('weak', 0.2) }] });
    runtime = createRuntime({ clock });
    for (let i = 0; i < 3; i++) await finish(clock, runtime.start(workflow, { topic: 't' }).result);
    expect(runtime.breaker('researcher→review')?.value).toBe('open');
    const calls = runs.researcher.calls.length;
    const result = await finish(clock, runtime.start(workflow, { topic: 't' }).result);
    expect(runs.researcher.calls).toHaveLength(calls);
    expect(result).toMatchObject({
      status: 'fallback',
      cause: 'breakerOpen',
      stepId: 'researcher',
      output: '[Circuit open — agent not called]',
      detail: { breaker: 'researcher→review', state: 'open' },
    });
  });
});

describe('workflow: limits, cancel and bad input', () => {
  it('cancel mid-run aborts the running agent’s signal and ends cancelled', async () => {
    const clock = testClock();
    const { workflow, runs } = reportWorkflow(clock, { researcher: [{ hang: true }] });
    runtime = createRuntime({ clock });
    const run = runtime.start(workflow, { topic: 't' });
    await clock.advance(200);
    expect(runs.researcher.calls[0]!.signal.aborted).toBe(false);
    run.cancel('user pressed stop');
    const result = await run.result;
    expect(runs.researcher.calls[0]!.signal.aborted).toBe(true);
    expect(result).toMatchObject({ status: 'cancelled', reason: 'user pressed stop' });
    expect(runtime.runs()).toHaveLength(0);
  });

  it('an AbortSignal given to start cancels the run', async () => {
    const clock = testClock();
    const { workflow } = reportWorkflow(clock, { researcher: [{ hang: true }] });
    runtime = createRuntime({ clock });
    const controller = new AbortController();
    const run = runtime.start(workflow, { topic: 't' }, { signal: controller.signal });
    await clock.advance(10);
    controller.abort('shutdown');
    expect(await run.result).toMatchObject({ status: 'cancelled', reason: 'shutdown' });
  });

  it('the workflow deadline ends the run with a fallback and aborts the agent', async () => {
    const clock = testClock();
    const slow = defineAgent({
      id: 'slow',
      output: Draft,
      run: mockRun([{ hang: true }]),
      limits: { attemptTimeoutMs: 60_000 },
    });
    const run_ = mockRun([{ hang: true }]);
    const workflow = defineWorkflow({
      id: 'bounded',
      deadlineMs: 5000,
      steps: [defineAgent({ id: 'slow', output: Draft, run: run_, limits: { attemptTimeoutMs: 60_000 } })],
    });
    expect(slow.id).toBe('slow');
    runtime = createRuntime({ clock });
    const run = runtime.start(workflow, null);
    await clock.advance(4999);
    expect(run_.calls[0]!.signal.aborted).toBe(false);
    await clock.advance(1);
    const result = await run.result;
    expect(result).toMatchObject({
      status: 'fallback',
      cause: 'deadline',
      output: '[Workflow deadline exceeded — escalating to human review]',
      reason: "the workflow's 5000 ms deadline passed",
      durationMs: 5000,
    });
    expect(run_.calls[0]!.signal.aborted).toBe(true);
  });

  it('input that fails the input schema gives failed with the issues; nothing runs', async () => {
    const clock = testClock();
    const { workflow, runs } = reportWorkflow(clock);
    runtime = createRuntime({ clock });
    const result = await runtime.start(workflow, { topic: 42 } as never).result;
    expect(result).toMatchObject({
      status: 'failed',
      reason: 'input: topic: Invalid input: expected string, received number',
      issues: [{ path: 'topic' }],
    });
    expect(runs.researcher.calls).toHaveLength(0);
  });

  it('an input schema that can only be checked asynchronously fails the run with the reason, not the caller', async () => {
    const agent = defineAgent({ id: 'a', output: Draft, run: mockRun([{ output: draft('x') }]) });
    const workflow = defineWorkflow({
      id: 'async-input',
      input: z.object({ topic: z.string() }).refine(async () => true),
      steps: [agent],
    });
    runtime = createRuntime({ clock: testClock() });
    const result = await runtime.start(workflow, { topic: 't' }).result;
    expect(result).toMatchObject({ status: 'failed' });
    expect((result as { reason: string }).reason).toMatch(/could not be checked synchronously/);
  });

  it('an invalid final output ends in a fallback carrying the validation issues', async () => {
    const clock = testClock();
    const agent = defineAgent({ id: 'a', output: Draft, run: mockRun([{ output: draft('x') }]) });
    const workflow = defineWorkflow({
      id: 'strict',
      output: z.object({ report: z.string().min(10) }),
      steps: [agent],
      result: ({ state }) => ({ report: (state as { a: { content: string } }).a.content }),
    });
    runtime = createRuntime({ clock });
    const result = await finish(clock, runtime.start(workflow, null).result);
    expect(result).toMatchObject({
      status: 'fallback',
      cause: 'outputInvalid',
      output: '[Invalid final output — escalating to human review]',
      issues: [{ path: 'report' }],
    });
  });
});

describe('workflow: the final output without a result function', () => {
  const lastWrite = (schema: z.ZodType) => {
    const agent = defineAgent({ id: 'a', output: Draft, run: mockRun([{ output: draft('short') }]) });
    return defineWorkflow({ id: 'last', output: schema, steps: [agent] });
  };

  it('is checked inside the last transition: no finalize actor, the same outcomes', async () => {
    const clock = testClock();
    runtime = createRuntime({ clock });
    const spawned: string[] = [];
    const seen = createRuntime({
      clock,
      observers: [
        (e) => {
          if (e.type === '@xstate.actor') spawned.push((e.actorRef as unknown as { id: string }).id);
        },
      ],
    });
    const ok = await finish(clock, seen.start(lastWrite(Draft), null).result);
    expect(ok).toMatchObject({ status: 'completed', output: { content: 'short' } });
    expect(spawned).not.toContain('finalize');
    const bad = await finish(
      clock,
      runtime.start(lastWrite(z.object({ content: z.string().min(10), confidence: z.number() })), null)
        .result,
    );
    expect(bad).toMatchObject({ status: 'fallback', cause: 'outputInvalid', issues: [{ path: 'content' }] });
    await seen.stop();
  });

  it('an output schema with an async refinement is still checked (by the finalize service)', async () => {
    const clock = testClock();
    runtime = createRuntime({ clock });
    const passes = Draft.refine(async (d) => d.content === 'short', { message: 'must be short' });
    const fails = Draft.refine(async (d) => d.content === 'long', { message: 'must be long' });
    expect(await finish(clock, runtime.start(lastWrite(passes), null).result)).toMatchObject({
      status: 'completed',
      output: { content: 'short' },
    });
    expect(await finish(clock, runtime.start(lastWrite(fails), null).result)).toMatchObject({
      status: 'fallback',
      cause: 'outputInvalid',
      reason: expect.stringContaining('must be long'),
    });
  });
});

describe('workflow: routing and loops', () => {
  const counterWorkflow = (maxSteps: number, goal: number) => {
    const drafter = defineAgent({
      id: 'drafter',
      output: Draft,
      run: mockRun((call) => ({ output: draft(`draft ${call.attempt}`) })),
    });
    let count = 0;
    const editor = defineAgent({
      id: 'editor',
      output: z.object({ content: z.string(), confidence: z.number(), round: z.number() }),
      run: () => ({ content: 'edited', confidence: 0.9, round: ++count }),
    });
    return defineWorkflow({
      id: 'edit-loop',
      maxSteps,
      steps: [
        drafter,
        {
          agent: editor,
          next: [
            { if: ({ state }) => (state as { editor: { round: number } }).editor.round >= goal, goto: 'end' },
            { goto: 'editor' },
          ],
        },
      ],
    });
  };

  it('a conditional route loops on the shared state until it says end', async () => {
    const clock = testClock();
    runtime = createRuntime({ clock });
    const result = await finish(clock, runtime.start(counterWorkflow(10, 3), null).result);
    expect(result.status).toBe('completed');
    expect(result.steps.map((s) => `${s.stepId}.${s.visit}`)).toEqual([
      'drafter.1',
      'editor.1',
      'editor.2',
      'editor.3',
    ]);
    expect((result as { output: unknown }).output).toEqual({ content: 'edited', confidence: 0.9, round: 3 });
  });

  it('a loop that never ends is stopped by maxSteps with an explicit fallback', async () => {
    const clock = testClock();
    runtime = createRuntime({ clock });
    const result = await finish(
      clock,
      runtime.start(counterWorkflow(5, Number.POSITIVE_INFINITY), null).result,
    );
    expect(result).toMatchObject({
      status: 'fallback',
      cause: 'maxSteps',
      output: '[Max steps reached — escalating]',
      reason: "the workflow's limit of 5 step executions was reached",
    });
    expect(result.steps).toHaveLength(5);
  });

  it('a routing function that throws fails the run with the reason, not the process', async () => {
    const clock = testClock();
    const a = defineAgent({ id: 'a', output: Draft, run: mockRun([{ output: draft('x') }]) });
    const workflow = defineWorkflow({
      id: 'bad-route',
      steps: [
        {
          agent: a,
          next: [
            {
              if: () => {
                throw new Error('oops');
              },
              goto: 'end',
            },
          ],
        },
      ],
    });
    runtime = createRuntime({ clock });
    const result = await finish(clock, runtime.start(workflow, null).result);
    expect(result).toMatchObject({ status: 'failed', reason: 'step a: its routing function threw: oops' });
  });

  it('parallel branches may write one key when it declares a reducer', async () => {
    const clock = testClock();
    const a = defineAgent({
      id: 'a',
      output: Draft,
      run: mockRun([{ output: draft('from a'), delayMs: 20 }], { clock }),
    });
    const b = defineAgent({
      id: 'b',
      output: Draft,
      run: mockRun([{ output: draft('from b'), delayMs: 10 }], { clock }),
    });
    const workflow = defineWorkflow({
      id: 'fan-in',
      reducers: { notes: 'append' },
      steps: [
        {
          parallel: [
            { agent: a, writes: 'notes' },
            { agent: b, writes: 'notes' },
          ],
        },
      ],
      result: ({ state }) => (state as { notes: Array<{ content: string }> }).notes.map((n) => n.content),
    });
    runtime = createRuntime({ clock });
    const result = await finish(clock, runtime.start(workflow, null).result, 10);
    expect(result).toMatchObject({ status: 'completed', output: ['from b', 'from a'] });
  });
});

describe('workflow: definition-time checks name the step path', () => {
  const agent = (id: string) => defineAgent({ id, output: Draft, run: mockRun([{ output: draft('x') }]) });
  const cases: Array<[string, () => unknown, string, RegExp]> = [
    [
      'unknown goto target',
      () => defineWorkflow({ id: 'w', steps: [{ agent: agent('a'), next: 'nowhere' }] }),
      'steps[0].next',
      /must name a step \(a\) or "end", received "nowhere"/,
    ],
    [
      'duplicate ids',
      () => defineWorkflow({ id: 'w', steps: [agent('a'), agent('a')] }),
      'steps[1].id',
      /duplicates the id of steps\[0\]/,
    ],
    [
      'parallel branches writing one key',
      () =>
        defineWorkflow({
          id: 'w',
          steps: [
            {
              parallel: [
                { agent: agent('a'), writes: 'k' },
                { agent: agent('b'), writes: 'k' },
              ],
            },
          ],
        }),
      'steps[0].parallel[1].writes',
      /also written by branch a/,
    ],
    [
      'a step without a defined agent',
      () => defineWorkflow({ id: 'w', steps: [{ agent: { id: 'x', run: () => 1 } as never }] }),
      'steps[0].agent',
      /must be an agent made by defineAgent \(with an output schema\)/,
    ],
    ['no steps', () => defineWorkflow({ id: 'w', steps: [] }), 'steps', /non-empty/],
    [
      'a reserved step id',
      () => defineWorkflow({ id: 'w', steps: [{ id: 'finishing', agent: agent('a') }] }),
      'steps[0].id',
      /must be a step name/,
    ],
    [
      'next inside a branch',
      () =>
        defineWorkflow({
          id: 'w',
          steps: [{ parallel: [{ agent: agent('a'), next: 'end' } as never, agent('b')] }],
        }),
      'steps[0].parallel[0].next',
      /not allowed in a parallel branch/,
    ],
    [
      'bad maxSteps',
      () => defineWorkflow({ id: 'w', maxSteps: 0, steps: [agent('a')] }),
      'maxSteps',
      /received 0/,
    ],
  ];
  for (const [what, define, field, message] of cases) {
    it(what, () => {
      try {
        define();
        expect.unreachable('accepted');
      } catch (error) {
        expect((error as { field: string }).field).toBe(field);
        expect((error as Error).message).toMatch(message);
        expect((error as Error).message).toMatch(/^defineWorkflow\("w"\): /);
      }
    });
  }
});

describe("workflow: a step's breaker options are checked at definition", () => {
  const agent = (id: string) => defineAgent({ id, output: Draft, run: mockRun([{ output: draft('x') }]) });
  const cases: Array<[string, unknown, string, RegExp]> = [
    [
      'a zero failure threshold',
      { failureThreshold: 0 },
      'failureThreshold',
      /must be an integer ≥ 1, received 0$/,
    ],
    [
      'a negative cooldown',
      { cooldownMs: -5 },
      'cooldownMs',
      /must be a number of milliseconds .*received -5$/,
    ],
    ['a misspelt option', { failureTreshold: 2 }, 'failureTreshold', /is not a known option, received 2$/],
    [
      'a growing cooldown without a cap',
      { cooldownGrowth: 2 },
      'maxCooldownMs',
      /is required when cooldownGrowth > 1/,
    ],
    [
      'the gate quality in the breaker',
      { minQuality: 'HIGH' },
      'minQuality',
      /the step's own minQuality, received "HIGH"$/,
    ],
    ['an empty key', { key: '' }, 'key', /must be a breaker key/],
  ];
  for (const [what, breaker, field, message] of cases) {
    it(`${what}: names steps[i].breaker.${field}`, () => {
      let error: unknown;
      try {
        defineWorkflow({ id: 'w', steps: [agent('a'), { agent: agent('b'), breaker: breaker as never }] });
      } catch (e) {
        error = e;
      }
      expect(isOptionsError(error)).toBe(true);
      expect((error as OptionsError).field).toBe(`steps[1].breaker.${field}`);
      expect((error as Error).message).toMatch(/^defineWorkflow\("w"\): steps\[1\]\.breaker\./);
      expect((error as Error).message).toMatch(message);
    });
  }

  it('names the branch path inside a parallel step', () => {
    expect(() =>
      defineWorkflow({
        id: 'w',
        steps: [{ parallel: [agent('a'), { agent: agent('b'), breaker: { successThreshold: 0 } }] }],
      }),
    ).toThrow(/steps\[0\]\.parallel\[1\]\.breaker\.successThreshold must be an integer ≥ 1, received 0/);
  });

  it('valid options are kept, with the breaker defaults applied once', () => {
    const workflow = defineWorkflow({
      id: 'w',
      steps: [{ agent: agent('a'), breaker: { failureThreshold: 5, key: 'shared' } }, agent('b')],
    });
    expect(workflow.breakers.get('shared')).toMatchObject({ failureThreshold: 5, cooldownMs: 30_000 });
    expect(workflow.breakers.get('b→output')).toMatchObject({ failureThreshold: 3, minQuality: 'MEDIUM' });
  });
});

describe('workflow: names that Object.prototype also has', () => {
  it('steps named toString and constructor run, are reviewed and complete', async () => {
    const clock = testClock();
    const a = defineAgent({ id: 'toString', output: Draft, run: mockRun([{ output: draft('x', 0.9) }]) });
    const b = defineAgent({ id: 'constructor', output: Draft, run: mockRun([{ output: draft('y', 0.5) }]) });
    const workflow = defineWorkflow({ id: 'w', steps: [a, { agent: b, review: true, writes: 'valueOf' }] });
    runtime = createRuntime({ clock, onEscalation: () => {} });
    const run = runtime.start(workflow, null, { runId: 'r' });
    const paused = await finish(clock, run.result);
    expect(paused).toMatchObject({ status: 'awaitingReview', steps: [{ stepId: 'toString', visit: 1 }] });
    await runtime.reviews.approve('r.constructor.1', { by: 'x' });
    const done = await run.done;
    expect(done).toMatchObject({ status: 'completed', output: draft('y', 0.5) });
    expect(done.steps.map((s) => [s.stepId, s.visit])).toEqual([
      ['toString', 1],
      ['constructor', 1],
    ]);
    expect(
      run
        .trace()
        .spans.filter((s) => s.operation === 'step')
        .map((s) => s.stepId),
    ).toEqual(['toString', 'constructor']);
  });

  it('a step that would write a forbidden key is refused at definition, naming steps[i].writes', () => {
    const b = defineAgent({ id: 'constructor', output: Draft, run: mockRun([{ output: draft('y') }]) });
    expect(() => defineWorkflow({ id: 'w', steps: [b] })).toThrow(
      /steps\[0\]\.writes must be a shared-state key: key "constructor" contains the forbidden segment "constructor" \(the step id, written to by default; set writes\), received "constructor"/,
    );
    expect(() => defineWorkflow({ id: 'w', steps: [{ agent: b, writes: 'a.__proto__' }] })).toThrow(
      /steps\[0\]\.writes must be a shared-state key/,
    );
  });
});
