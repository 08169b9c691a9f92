import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { defineAgent } from '../src/agent.js';
import type { Runtime, RuntimeOptions } from '../src/runtime.js';
import { createRuntime } from '../src/runtime.js';
import { mockRun } from '../src/testing/mock-agent.js';
import type { RunEvent } from '../src/trace/events.js';
import type { Span } from '../src/trace/span.js';
import { defineWorkflow } from '../src/workflow/define.js';
import { Draft, draft } from './helpers/agents.js';
import { settle, testClock } from './helpers/clock.js';
import { reportWorkflow } from './helpers/workflows.js';

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

async function run(behaviour: Parameters<typeof reportWorkflow>[1] = {}, options: RuntimeOptions = {}) {
  const clock = testClock();
  const { workflow } = reportWorkflow(clock, behaviour);
  runtime = createRuntime({ clock, ...options });
  const handle = runtime.start(workflow, { topic: 't' }, { runId: 'run-1' });
  for (let i = 0; i < 80; i++) await clock.advance(50);
  const result = await handle.done;
  return { handle, result };
}

const byOp = (spans: Span[], op: Span['operation']) => spans.filter((s) => s.operation === op);

describe('run.trace(): a span for the run, each step, agent call, attempt and gate decision', () => {
  it('the happy path: parents link run → step → agent → attempt, and gate → step', async () => {
    const { handle } = await run();
    const trace = handle.trace();
    expect(trace.agentCalls).toBe(4);
    expect(trace.errors).toBe(0);
    expect(trace.traceId).toMatch(/^[0-9a-f]{32}$/);
    const [root] = byOp(trace.spans, 'run');
    expect(root).toMatchObject({ parentSpanId: null, status: 'success', name: 'run report' });
    const steps = byOp(trace.spans, 'step');
    expect(steps.map((s) => s.stepId)).toEqual(['researcher', 'fact-checker', 'style-checker', 'writer']);
    expect(steps.every((s) => s.parentSpanId === root!.spanId && s.status === 'success')).toBe(true);
    for (const agent of byOp(trace.spans, 'agent')) {
      const step = steps.find((s) => s.spanId === agent.parentSpanId);
      expect(step?.stepId).toBe(agent.agentId);
      const attempts = trace.spans.filter(
        (s) => s.parentSpanId === agent.spanId && s.operation === 'attempt',
      );
      expect(attempts.map((a) => [a.status, a.attributes.attempt])).toEqual([['success', 1]]);
    }
    const gates = byOp(trace.spans, 'gate');
    expect(gates).toHaveLength(4);
    expect(gates.every((g) => steps.some((s) => s.spanId === g.parentSpanId))).toBe(true);
    expect(gates.find((g) => g.stepId === 'style-checker')?.attributes).toMatchObject({ quality: 'MEDIUM' });
    expect(trace.totalDurationMs).toBe(root!.durationMs);
    expect(trace.spans.every((s) => s.status !== 'running')).toBe(true);
  });

  it('a timed-out agent shows as error attempts, a fallback agent, step and run', async () => {
    const { handle, result } = await run({ writer: [{ hang: true }] });
    expect(result.status).toBe('fallback');
    const trace = handle.trace();
    const writer = trace.spans.find((s) => s.operation === 'agent' && s.agentId === 'writer')!;
    expect(writer).toMatchObject({ status: 'fallback', reason: 'attempt 2 of 2 timed out after 1000 ms' });
    const attempts = trace.spans.filter((s) => s.parentSpanId === writer.spanId);
    expect(attempts.map((a) => [a.status, a.attributes.outcome])).toEqual([
      ['error', 'timedOut'],
      ['error', 'timedOut'],
    ]);
    expect(byOp(trace.spans, 'run')[0]!.status).toBe('fallback');
    expect(trace.errors).toBeGreaterThanOrEqual(4);
  });

  it('four agents in flight at once: one agent span and one attempt span each, all ended', async () => {
    // More agents at once than the run keeps in place: the run's table of agents grows and shrinks.
    const clock = testClock();
    const ids = ['a', 'b', 'c', 'd'];
    const agents = ids.map((id, i) =>
      defineAgent({
        id,
        output: Draft,
        run: mockRun([{ output: draft(id), delayMs: 10 * (4 - i) }], { clock }),
      }),
    );
    const last = defineAgent({
      id: 'last',
      output: Draft,
      run: mockRun([{ output: draft('z') }], { clock }),
    });
    const workflow = defineWorkflow({ id: 'fan', output: Draft, steps: [{ parallel: agents }, last] });
    runtime = createRuntime({ clock });
    const handle = runtime.start(workflow, {});
    for (let i = 0; i < 10; i++) await clock.advance(10);
    expect((await handle.done).status).toBe('completed');
    const spans = handle.trace().spans;
    const calls = byOp(spans, 'agent');
    expect(calls.map((s) => s.agentId).sort()).toEqual([...ids, 'last']);
    for (const call of calls) {
      expect(call.status).toBe('success');
      const attempts = spans.filter((s) => s.parentSpanId === call.spanId);
      expect(attempts.map((a) => [a.operation, a.status])).toEqual([['attempt', 'success']]);
    }
    expect(spans.every((s) => s.status !== 'running')).toBe(true);
  });

  it('tracing: false records nothing', async () => {
    const { handle, result } = await run({}, { tracing: false });
    expect(result.status).toBe('completed');
    expect(handle.trace().spans).toEqual([]);
  });
});

describe('progress events: run.events() and subscribe', () => {
  it('deliver step, attempt and completion events in order', async () => {
    const clock = testClock();
    const { workflow } = reportWorkflow(clock);
    runtime = createRuntime({ clock });
    const handle = runtime.start(workflow, { topic: 't' });
    const live: RunEvent['type'][] = [];
    handle.subscribe((e) => live.push(e.type));
    const collected = (async () => {
      const types: string[] = [];
      for await (const e of handle.events())
        types.push(`${e.type}${'stepId' in e && e.stepId ? `:${e.stepId}` : ''}`);
      return types;
    })();
    for (let i = 0; i < 10; i++) await clock.advance(50);
    const types = await collected;
    expect(types[0]).toBe('run.started');
    expect(types.at(-1)).toBe('run.completed');
    expect(types).toEqual(
      expect.arrayContaining([
        'step.started:researcher',
        'attempt.started:researcher',
        'attempt.finished:researcher',
        'step.finished:researcher',
        'step.finished:writer',
      ]),
    );
    expect(types.indexOf('step.started:researcher')).toBeLessThan(types.indexOf('step.started:writer'));
    // In the order things happened: the writer's attempt ends before its step does, and a step
    // ends before the next one starts.
    expect(types.indexOf('attempt.finished:writer')).toBeLessThan(types.indexOf('step.finished:writer'));
    expect(types.indexOf('step.finished:researcher')).toBeLessThan(
      types.indexOf('step.started:fact-checker'),
    );
    expect(types.indexOf('step.finished:style-checker')).toBeLessThan(types.indexOf('step.started:writer'));
    // subscribe() just after start() still sees the run's first events.
    expect(live[0]).toBe('run.started');
    expect(live).toEqual(types.map((t) => t.split(':')[0]));
    expect(live.at(-1)).toBe('run.completed');
  });

  it('a fallback and a tripped breaker are events too', async () => {
    const clock = testClock();
    const { workflow } = reportWorkflow(clock, { researcher: [{ output: draft('weak', 0.2) }] });
    runtime = createRuntime({ clock });
    const seen: RunEvent[] = [];
    for (let i = 0; i < 3; i++) {
      const handle = runtime.start(workflow, { topic: 't' });
      handle.subscribe((e) => seen.push(e));
      for (let t = 0; t < 5; t++) await clock.advance(50);
      await handle.done;
    }
    expect(seen.filter((e) => e.type === 'fallback')).toHaveLength(3);
    expect(seen.find((e) => e.type === 'fallback')).toMatchObject({ source: 'gate', stepId: 'researcher' });
    expect(seen.filter((e) => e.type === 'breaker.opened')).toEqual([
      expect.objectContaining({ key: 'researcher→review' }),
    ]);
  });
});

describe('OpenTelemetry and failing observers', () => {
  it('exports the same spans to an OpenTelemetry tracer, with parent/child links', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const { handle } = await run({}, { tracer: provider.getTracer('test') });
    const ours = handle.trace().spans;
    const exported = exporter.getFinishedSpans();
    expect(exported).toHaveLength(ours.length);
    const byOurId = new Map(exported.map((s) => [String(s.attributes['agentcharts.span_id']), s]));
    for (const span of ours) {
      const otel = byOurId.get(span.spanId)!;
      expect(otel).toBeDefined();
      if (span.parentSpanId) {
        const parent = byOurId.get(span.parentSpanId)!;
        expect(otel.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
      }
    }
    expect(exported.some((s) => s.attributes['gen_ai.agent.name'] === 'writer')).toBe(true);
  });

  it('the OpenTelemetry trace id is run.trace().traceId', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const { handle } = await run({}, { tracer: provider.getTracer('test') });
    const exported = exporter.getFinishedSpans();
    expect(exported.length).toBeGreaterThan(0);
    expect(new Set(exported.map((s) => s.spanContext().traceId))).toEqual(new Set([handle.trace().traceId]));
    expect(handle.trace().spans.every((s) => s.traceId === handle.trace().traceId)).toBe(true);
    await provider.shutdown();
  });

  it('a run started with { parent } is a child of the caller’s span (an HTTP request’s), in one trace', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracer = provider.getTracer('test');
    const clock = testClock();
    const { workflow } = reportWorkflow(clock);
    runtime = createRuntime({ clock, tracer });
    const request = tracer.startSpan('POST /runs');
    const parent = trace.setSpan(ROOT_CONTEXT, request);
    const handle = runtime.start(workflow, { topic: 't' }, { runId: 'run-1', parent });
    // Another run at the same time, without a parent: a trace of its own.
    const other = runtime.start(workflow, { topic: 't' }, { runId: 'run-2' });
    for (let i = 0; i < 80; i++) await clock.advance(50);
    await handle.done;
    await other.done;
    request.end();
    const requestId = request.spanContext().traceId;
    expect(handle.trace().traceId).toBe(requestId);
    const spans = exporter.getFinishedSpans();
    const runSpan = spans.find(
      (s) =>
        s.attributes['agentcharts.span_id'] ===
        handle.trace().spans.find((x) => x.operation === 'run')!.spanId,
    )!;
    expect(runSpan.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    const mine = spans.filter((s) => s.attributes['agentcharts.trace_id'] === handle.trace().traceId);
    expect(mine).toHaveLength(handle.trace().spans.length);
    expect(mine.every((s) => s.spanContext().traceId === requestId)).toBe(true);
    expect(other.trace().traceId).not.toBe(requestId);
    expect(spans.filter((s) => s.spanContext().traceId === other.trace().traceId)).toHaveLength(
      other.trace().spans.length,
    );
    await provider.shutdown();
  });

  it('without a tracer, { parent } still makes the run’s trace id the caller’s; a non-Context is refused', async () => {
    const provider = new BasicTracerProvider();
    const request = provider.getTracer('test').startSpan('GET /');
    const clock = testClock();
    const { workflow } = reportWorkflow(clock);
    runtime = createRuntime({ clock });
    const handle = runtime.start(workflow, { topic: 't' }, { parent: trace.setSpan(ROOT_CONTEXT, request) });
    expect(handle.trace().traceId).toBe(request.spanContext().traceId);
    expect(() => runtime!.start(workflow, { topic: 't' }, { parent: { span: 1 } as never })).toThrow(
      /runtime\.start: parent must be an OpenTelemetry Context/,
    );
    request.end();
    await provider.shutdown();
  });

  it('an observer, exporter or listener that throws never breaks the run; it is reported', async () => {
    const reported: string[] = [];
    const { handle, result } = await run(
      {},
      {
        observers: [
          () => {
            throw new Error('observer down');
          },
        ],
        tracer: {
          startSpan: () => {
            throw new Error('exporter down');
          },
        } as never,
        onObserverError: (error, source) => reported.push(`${source}: ${(error as Error).message}`),
      },
    );
    handle.subscribe(() => {
      throw new Error('listener down');
    });
    await settle();
    expect(result.status).toBe('completed');
    expect(reported.some((r) => r.includes('observer down'))).toBe(true);
    expect(reported.some((r) => r.includes('exporter down'))).toBe(true);
  });
});

describe('token usage on attempt spans', () => {
  it('usage reported with withAttemptMeta lands on the attempt span under the GenAI names', async () => {
    const { withAttemptMeta } = await import('../machines/attempt-meta.js');
    const { defineAgent } = await import('../src/agent.js');
    const { defineWorkflow } = await import('../src/workflow/define.js');
    const { mockRun } = await import('../src/testing/mock-agent.js');
    const { Draft } = await import('./helpers/agents.js');
    const clock = testClock();
    const agent = defineAgent({
      id: 'counted',
      output: Draft,
      run: mockRun([
        { output: withAttemptMeta(draft('x', 0.9), { usage: { inputTokens: 12, outputTokens: 34 } }) },
      ]),
    });
    runtime = createRuntime({ clock });
    const handle = runtime.start(defineWorkflow({ id: 'usage', steps: [agent] }), null);
    await clock.advance(10);
    await handle.done;
    const attempt = handle.trace().spans.find((s) => s.operation === 'attempt')!;
    expect(attempt.attributes).toMatchObject({
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 34,
    });
  });
});
