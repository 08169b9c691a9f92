import { describe, expect, it } from 'vitest';
import { createActor, setup } from 'xstate';
import { agentActor, defineAgent } from '../src/agent.js';
import { createBreaker } from '../src/breaker.js';
import { runAgent } from '../src/run-agent.js';
import { mockRun } from '../src/testing/mock-agent.js';
import { agentSpans } from '../src/trace/agent-spans-adapter.js';
import { traceBreaker } from '../src/trace/breaker-spans.js';
import { createEventStream } from '../src/trace/event-stream.js';
import type { RunEvent } from '../src/trace/events.js';
import type { Span } from '../src/trace/span.js';
import { createTraceRecorder } from '../src/trace/tracer.js';
import { Draft, draft } from './helpers/agents.js';
import { settle, testClock } from './helpers/clock.js';

const limits = { maxIterations: 3, attemptTimeoutMs: 1000 };
const retry = { initialDelayMs: 100, factor: 2, maxDelayMs: 1000 };

/** The parts of a span a test compares, children under their parent. */
function tree(spans: Span[], parent: string | null = null, depth = 0): string[] {
  return spans
    .filter((s) => s.parentSpanId === parent)
    .flatMap((s) => [
      `${'  '.repeat(depth)}${s.name} ${s.status} ${s.startedAt}→${s.endedAt ?? '…'}${s.reason ? ` (${s.reason})` : ''}`,
      ...tree(spans, s.spanId, depth + 1),
    ]);
}

function setupRun() {
  const clock = testClock();
  const recorder = createTraceRecorder({ clock });
  const stream = createEventStream();
  const errors: Array<[unknown, string]> = [];
  const inspect = agentSpans({ recorder, events: stream, onError: (e, s) => errors.push([e, s]) });
  return { clock, recorder, stream, errors, inspect };
}

describe('agent spans from the inspection stream', () => {
  it('one agent span, one attempt span per attempt, times from the clock, attributes from the context', async () => {
    const { clock, recorder, inspect, errors } = setupRun();
    const run = mockRun(
      [
        { throws: new Error('rate limited'), delayMs: 50 },
        { output: draft('ok', 0.9), delayMs: 20 },
      ],
      { clock },
    );
    const agent = defineAgent({ id: 'writer', output: Draft, run, limits, retry });
    const done = runAgent(agent, null, { clock, runId: 'r1', stepId: 'draft', inspect });
    await clock.advance(50); // attempt 1 throws
    expect(tree(recorder.spans())).toEqual([
      'agent writer running 0→…',
      '  attempt 1 error 0→50 (Error: rate limited)',
    ]);
    await clock.advance(100); // backoff, attempt 2 starts at 150
    expect(tree(recorder.spans()).at(-1)).toBe('  attempt 2 running 150→…');
    await clock.advance(20);
    const result = await done;
    expect(result.status).toBe('succeeded');
    expect(tree(recorder.spans())).toEqual([
      'agent writer success 0→170',
      '  attempt 1 error 0→50 (Error: rate limited)',
      '  attempt 2 success 150→170',
    ]);
    const [agentSpan, first, second] = recorder.spans();
    expect(agentSpan).toMatchObject({
      operation: 'agent',
      agentId: 'writer',
      stepId: 'draft',
      durationMs: 170,
      attributes: {
        run_id: 'r1',
        max_iterations: 3,
        attempt_timeout_ms: 1000,
        agent_status: 'succeeded',
        confidence: 0.9,
        quality: 'HIGH',
        attempts: 2,
        fallback: false,
      },
    });
    expect(first).toMatchObject({
      operation: 'attempt',
      error: { name: 'Error', message: 'rate limited' },
      attributes: { attempt: 1, outcome: 'threw', idempotency_key: 'r1:draft:1' },
    });
    expect(second!.attributes).toEqual({
      attempt: 2,
      outcome: 'valid',
      idempotency_key: 'r1:draft:2',
      confidence: 0.9,
      bytes: expect.any(Number),
    });
    expect(recorder.trace()).toMatchObject({ agentCalls: 1, errors: 1, totalDurationMs: 170 });
    expect(errors).toEqual([]);
  });

  it('a refinement iteration (notDone) is a successful attempt; the next one opens at once', async () => {
    const { clock, recorder, inspect } = setupRun();
    const run = mockRun(
      [{ output: draft('short', 0.9), delayMs: 10 }, { output: draft('a longer answer', 0.8) }],
      {
        clock,
      },
    );
    const agent = defineAgent({
      id: 'writer',
      output: Draft,
      run,
      limits,
      retry,
      isDone: (o) => o.content.length > 5,
    });
    const done = runAgent(agent, null, { clock, inspect });
    await clock.advance(10);
    await done;
    expect(tree(recorder.spans())).toEqual([
      'agent writer success 0→10',
      '  attempt 1 success 0→10 (isDone returned false)',
      '  attempt 2 success 10→10',
    ]);
    expect(recorder.spans()[1]!.attributes.outcome).toBe('notDone');
    expect(recorder.trace().errors).toBe(0);
  });

  it('every attempt timing out: error attempts, a fallback agent span with the reason, and a fallback event', async () => {
    const { clock, recorder, inspect, stream } = setupRun();
    const events: RunEvent[] = [];
    stream.subscribe((e) => events.push(e));
    const agent = defineAgent({
      id: 'slow',
      output: Draft,
      run: mockRun([{ hang: true }]),
      limits: { maxIterations: 2, attemptTimeoutMs: 1000 },
      retry,
    });
    const done = runAgent(agent, null, { clock, runId: 'r2', inspect });
    await clock.advance(1000);
    await clock.advance(100);
    await clock.advance(1000);
    const result = await done;
    expect(result.status).toBe('timedOut');
    expect(tree(recorder.spans())).toEqual([
      `agent slow fallback 0→2100 (${result.reason})`,
      '  attempt 1 error 0→1000 (no result within 1000 ms)',
      '  attempt 2 error 1100→2100 (no result within 1000 ms)',
    ]);
    expect(recorder.spans()[0]!.attributes).toMatchObject({
      agent_status: 'timedOut',
      confidence: 0,
      quality: 'LOW',
    });
    expect(recorder.trace()).toMatchObject({ agentCalls: 1, errors: 3 });
    expect(events.map((e) => `${e.type}@${e.at}`)).toEqual([
      'agent.started@0',
      'attempt.started@0',
      'attempt.finished@1000',
      'attempt.started@1100',
      'attempt.finished@2100',
      'agent.finished@2100',
      'fallback@2100',
    ]);
    expect(events.at(-1)).toEqual({
      type: 'fallback',
      runId: 'r2',
      at: 2100,
      stepId: 'slow',
      agentId: 'slow',
      source: 'agent',
      status: 'timedOut',
      reason: result.reason,
      content: '[Timeout — escalating to human review]',
    });
    expect(events[2]).toMatchObject({ attempt: 1, outcome: 'timedOut', durationMs: 1000 });
  });

  it('cancel mid-attempt: the attempt ends as error (cancelled), the agent as fallback', async () => {
    const { clock, recorder, inspect } = setupRun();
    const agent = defineAgent({ id: 'w', output: Draft, run: mockRun([{ hang: true }]), limits, retry });
    const actor = createActor(agentActor(agent), { clock, inspect, input: { input: null } });
    actor.start();
    await clock.advance(300);
    actor.send({ type: 'cancel', reason: 'user closed the tab' });
    expect(tree(recorder.spans())).toEqual([
      'agent w fallback 0→300 (cancelled during attempt 1 of 3: user closed the tab)',
      '  attempt 1 error 0→300 (user closed the tab)',
    ]);
    expect(recorder.spans()[1]!.attributes.outcome).toBe('cancelled');
  });
});

describe('agent spans: snapshots that change nothing', () => {
  it('a stale timer event and a repeated snapshot open, close and emit nothing; the attempt ends once', async () => {
    const { clock, recorder, inspect, stream, errors } = setupRun();
    const events: RunEvent[] = [];
    stream.subscribe((e) => events.push(e));
    const seen: string[] = [];
    const agent = defineAgent({
      id: 'w',
      output: Draft,
      run: mockRun([{ output: draft('ok'), delayMs: 100 }], { clock }),
      limits,
      retry,
    });
    const actor = createActor(agentActor(agent), {
      clock,
      inspect: (e) => {
        if (e.type === '@xstate.snapshot' && e.actorRef === actor) seen.push(String(e.event.type));
        inspect(e);
      },
      input: { input: null, runId: 'r' },
    });
    actor.start();
    await clock.advance(10);
    // Timers of other attempts are ignored by the statechart: XState still reports a snapshot.
    actor.send({ type: 'agent.attemptTimer', attempt: 7 });
    actor.send({ type: 'agent.backoffDone', attempt: 7 });
    expect(seen).toEqual(['xstate.init', 'agent.attemptTimer', 'agent.backoffDone']);
    // The same snapshot reported again (as the runtime does before a child's done event).
    inspect({
      type: '@xstate.snapshot',
      actorRef: actor,
      rootId: actor.sessionId,
      snapshot: actor.getSnapshot(),
      event: { type: 'again' },
    } as never);
    expect(tree(recorder.spans())).toEqual(['agent w running 0→…', '  attempt 1 running 0→…']);
    expect(events.map((e) => e.type)).toEqual(['agent.started', 'attempt.started']);
    await clock.advance(90);
    expect(actor.getSnapshot().output?.status).toBe('succeeded');
    expect(tree(recorder.spans())).toEqual(['agent w success 0→100', '  attempt 1 success 0→100']);
    expect(events.map((e) => e.type)).toEqual([
      'agent.started',
      'attempt.started',
      'attempt.finished',
      'agent.finished',
    ]);
    expect(errors).toEqual([]);
  });
});

describe('agent spans inside a hand-written machine', () => {
  const writer = (clock: ReturnType<typeof testClock>) =>
    defineAgent({
      id: 'writer',
      output: Draft,
      run: mockRun([{ output: draft('ok', 0.7), delayMs: 40 }], { clock }),
      limits,
      retry,
    });

  function parentMachine(agent: ReturnType<typeof writer>) {
    return setup({ actors: { writer: agentActor(agent) } }).createMachine({
      id: 'workflow',
      initial: 'drafting',
      states: {
        drafting: {
          invoke: {
            src: 'writer',
            input: { input: { topic: 't' }, runId: 'run-1', stepId: 'draft' },
            onDone: 'done',
          },
          on: { abandon: 'abandoned' },
        },
        done: { type: 'final' },
        abandoned: { type: 'final' },
      },
    });
  }

  it('parentOf puts the agent under the step span; the parent machine and the promise actors get no spans', async () => {
    const { clock, recorder, stream } = setupRun();
    const run = recorder.start({ name: 'run', operation: 'run', startedAt: 0 });
    const step = recorder.start({ name: 'step draft', operation: 'step', parentSpanId: run, startedAt: 0 });
    const asked: string[] = [];
    const inspect = agentSpans({
      recorder,
      events: stream,
      parentOf: ({ ref, context }) => {
        asked.push(`${context.stepId} ${ref.id}`);
        return context.stepId === 'draft' ? step : null;
      },
    });
    const actor = createActor(parentMachine(writer(clock)), { clock, inspect });
    actor.start();
    await clock.advance(40);
    expect(actor.getSnapshot().value).toBe('done');
    expect(asked).toHaveLength(1);
    expect(tree(recorder.spans())).toEqual([
      'run running 0→…',
      '  step draft running 0→…',
      '    agent writer success 0→40',
      '      attempt 1 success 0→40',
    ]);
  });

  it('without parentOf the agent goes under the recorder’s root span (the run)', async () => {
    const { clock, recorder, inspect } = setupRun();
    const run = recorder.start({ name: 'run', operation: 'run', startedAt: 0 });
    createActor(parentMachine(writer(clock)), { clock, inspect }).start();
    await clock.advance(40);
    expect(recorder.spans()[1]).toMatchObject({ operation: 'agent', parentSpanId: run });
  });

  it('an agent stopped by its parent ends as a fallback ("stopped"), its open attempt as error', async () => {
    const { clock, recorder, inspect } = setupRun();
    const actor = createActor(parentMachine(writer(clock)), { clock, inspect });
    actor.start();
    await clock.advance(15);
    actor.send({ type: 'abandon' });
    expect(tree(recorder.spans())).toEqual([
      'agent writer fallback 0→15 (stopped before it finished)',
      '  attempt 1 error 0→15 (stopped before it finished)',
    ]);
    expect(recorder.spans()[0]!.attributes.agent_status).toBe('stopped');
  });

  it('routes each agent to the recorder a function picks (e.g. by runId); undefined records nothing', async () => {
    const clock = testClock();
    const mine = createTraceRecorder({ clock });
    const inspect = agentSpans({ recorder: ({ context }) => (context.runId === 'run-1' ? mine : undefined) });
    createActor(parentMachine(writer(clock)), { clock, inspect }).start();
    const other = defineAgent({ id: 'other', output: Draft, run: mockRun([{ output: draft('x') }]) });
    await runAgent(other, null, { clock, runId: 'run-2', inspect });
    await clock.advance(40);
    expect(mine.spans().map((s) => s.name)).toEqual(['agent writer', 'attempt 1']);
  });

  it('picks up an agent restored mid-call: the finished attempt is recorded, the in-flight one reopened', async () => {
    const clock = testClock();
    const run = mockRun([{ throws: new Error('x'), delayMs: 10 }, { hang: true }, { output: draft('ok') }], {
      clock,
    });
    const agent = defineAgent({ id: 'w', output: Draft, run, limits, retry });
    const first = createActor(agentActor(agent), { clock, input: { input: null, runId: 'r' } });
    first.start();
    await clock.advance(10);
    await clock.advance(100); // attempt 2 in flight
    const saved = first.getPersistedSnapshot();
    first.stop();
    const recorder = createTraceRecorder({ clock });
    const restored = createActor(agentActor(agent), {
      clock,
      snapshot: saved,
      input: { input: null, runId: 'r' },
      inspect: agentSpans({ recorder }),
    });
    restored.start(); // the in-flight attempt is called again (at-least-once)
    await settle();
    expect(restored.getSnapshot().status).toBe('done');
    expect(tree(recorder.spans())).toEqual([
      'agent w success 0→110',
      '  attempt 1 error 0→10 (Error: x)',
      '  attempt 2 success 110→110',
    ]);
  });
});

describe('agent spans never break the run', () => {
  it('a throwing parentOf, recorder or event sink is reported; the agent result is unchanged', async () => {
    const clock = testClock();
    const errors: string[] = [];
    const agent = defineAgent({
      id: 'w',
      output: Draft,
      run: mockRun([{ output: draft('ok', 0.9) }]),
      limits,
    });
    const broken = agentSpans({
      recorder: () => {
        throw new Error('no recorder');
      },
      onError: (_e, source) => errors.push(source),
    });
    expect(await runAgent(agent, null, { clock, inspect: broken })).toMatchObject({ status: 'succeeded' });
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toBe('the agent span adapter');

    const recorder = createTraceRecorder({ clock });
    const sinkErrors: string[] = [];
    const inspect = agentSpans({
      recorder,
      events: {
        emit: () => {
          throw new Error('sink down');
        },
      },
      onError: (_e, source) => sinkErrors.push(source),
    });
    expect(await runAgent(agent, null, { clock, inspect })).toMatchObject({ status: 'succeeded' });
    // Spans were still recorded in full.
    expect(tree(recorder.spans())).toEqual(['agent w success 0→0', '  attempt 1 success 0→0']);
    expect(new Set(sinkErrors)).toEqual(new Set(['a run event sink']));
  });
});

describe('breaker decisions as spans and events', () => {
  it('opened (error), rejected (fallback), halfOpened and closed (success), with the breaker state', async () => {
    const clock = testClock();
    const recorder = createTraceRecorder({ clock });
    const stream = createEventStream();
    const events: RunEvent[] = [];
    stream.subscribe((e) => events.push(e));
    const breaker = createBreaker('a→b', { clock, failureThreshold: 2, cooldownMs: 1000 });
    const run = recorder.start({ name: 'run', operation: 'run' });
    const off = traceBreaker(breaker, { recorder, events: stream, runId: () => 'r1' });
    const fail = () => {
      const acquired = breaker.tryAcquire();
      if (acquired.allowed) acquired.permit.failure('bad output');
      return acquired.allowed;
    };
    fail();
    clock.increment(5);
    fail(); // trips at 5
    clock.increment(5);
    expect(fail()).toBe(false); // rejected at 10
    clock.increment(995); // cooldown ends at 1005
    const probe = breaker.tryAcquire();
    if (probe.allowed) probe.permit.success();
    off();
    fail();
    fail(); // not traced any more
    breaker.stop();
    expect(tree(recorder.spans())).toEqual([
      'run running 0→…',
      '  breaker a→b opened error 5→5 (bad output)',
      `  breaker a→b rejected fallback 10→10 (${recorder.spans()[2]!.reason})`,
      '  breaker a→b halfOpened success 1005→1005',
      '  breaker a→b closed success 1005→1005',
    ]);
    expect(recorder.spans().map((s) => s.attributes['breaker.state'])).toEqual([
      undefined,
      'open',
      'open',
      'halfOpen',
      'closed',
    ]);
    expect(recorder.spans()[1]!.attributes).toMatchObject({
      'breaker.key': 'a→b',
      'breaker.failures': 2,
      'breaker.cooldown_ms': 1000,
      'breaker.probe_at': 1005,
    });
    expect(events).toEqual([
      {
        type: 'breaker.opened',
        runId: 'r1',
        at: 5,
        key: 'a→b',
        probeAt: 1005,
        cooldownMs: 1000,
        failures: 2,
        reason: 'bad output',
      },
      { type: 'breaker.halfOpened', runId: 'r1', at: 1005, key: 'a→b' },
      { type: 'breaker.closed', runId: 'r1', at: 1005, key: 'a→b' },
    ]);
    expect(run).toBe(recorder.rootSpanId());
  });
});
