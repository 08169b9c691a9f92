import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { defineAgent } from '../src/agent.js';
import { runAgent } from '../src/run-agent.js';
import { mockRun } from '../src/testing/mock-agent.js';
import { agentSpans } from '../src/trace/agent-spans-adapter.js';
import { otelExporter } from '../src/trace/otel.js';
import { createTraceRecorder } from '../src/trace/tracer.js';
import { Draft, draft } from './helpers/agents.js';
import { testClock } from './helpers/clock.js';

const T0 = 1_700_000_000_000; // ms since the epoch, so the OTel times read as real dates

function setup() {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  const clock = testClock();
  clock.set(T0);
  return { memory, provider, clock, tracer: provider.getTracer('agentcharts-test') };
}

let providers: BasicTracerProvider[] = [];
afterEach(async () => {
  await Promise.all(providers.map((p) => p.shutdown()));
  providers = [];
});

const byName = (spans: ReadableSpan[], name: string): ReadableSpan => {
  const span = spans.find((s) => s.name === name);
  if (!span) throw new Error(`no span named ${name}: ${spans.map((s) => s.name).join(', ')}`);
  return span;
};
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const hr = (ms: number) => [Math.floor(ms / 1000), (ms % 1000) * 1e6];

describe('OpenTelemetry export', () => {
  it('exports a run with the same parent/child links, names, times, GenAI attributes and statuses', async () => {
    const { memory, provider, clock, tracer } = setup();
    providers.push(provider);
    const recorder = createTraceRecorder({ clock, exporters: [otelExporter(tracer)] });
    const run = recorder.start({
      name: 'run report',
      operation: 'run',
      attributes: { workflow_id: 'report' },
    });
    const step = recorder.start({
      name: 'step draft',
      operation: 'step',
      parentSpanId: run,
      stepId: 'draft',
    });
    const agent = defineAgent({
      id: 'writer',
      output: Draft,
      run: mockRun(
        [
          { throws: new TypeError('bad json'), delayMs: 30 },
          { output: draft('ok', 0.9), delayMs: 20 },
        ],
        {
          clock,
        },
      ),
      limits: { maxIterations: 3, attemptTimeoutMs: 1000 },
      retry: { initialDelayMs: 100 },
    });
    const done = runAgent(agent, null, {
      clock,
      runId: 'r1',
      stepId: 'draft',
      inspect: agentSpans({ recorder, parentOf: () => step }),
    });
    await clock.advance(30);
    await clock.advance(100);
    await clock.advance(20);
    await done;
    recorder.record({
      name: 'gate draft→review',
      operation: 'gate',
      parentSpanId: step,
      status: 'fallback',
      reason: 'LOW quality',
    });
    recorder.end(step, { status: 'success' });
    recorder.end(run, { status: 'success' });

    const spans = memory.getFinishedSpans();
    expect(spans.map((s) => s.name).sort()).toEqual(
      [
        'attempt 1',
        'attempt 2',
        'gate draft→review',
        'invoke_agent writer',
        'invoke_workflow report',
        'step draft',
      ].sort(),
    );
    const root = byName(spans, 'invoke_workflow report');
    const stepSpan = byName(spans, 'step draft');
    const agentSpan = byName(spans, 'invoke_agent writer');
    const first = byName(spans, 'attempt 1');
    const second = byName(spans, 'attempt 2');
    const gate = byName(spans, 'gate draft→review');
    // One OpenTelemetry trace, linked exactly as the recorder's spans are.
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
    expect(parentOf(root)).toBeUndefined();
    expect(parentOf(stepSpan)).toBe(root.spanContext().spanId);
    expect(parentOf(agentSpan)).toBe(stepSpan.spanContext().spanId);
    expect(parentOf(first)).toBe(agentSpan.spanContext().spanId);
    expect(parentOf(second)).toBe(agentSpan.spanContext().spanId);
    expect(parentOf(gate)).toBe(stepSpan.spanContext().spanId);
    for (const span of spans) {
      const ours = recorder.get(span.attributes['agentcharts.span_id'] as string)!;
      expect(ours.traceId).toBe(recorder.traceId);
      expect(span.startTime).toEqual(hr(ours.startedAt));
      expect(span.endTime).toEqual(hr(ours.endedAt!));
    }
    expect(first.startTime).toEqual(hr(T0));
    expect(second.endTime).toEqual(hr(T0 + 150));

    expect(root.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_workflow',
      'agentcharts.operation': 'run',
      'agentcharts.workflow_id': 'report',
      'agentcharts.status': 'success',
      'agentcharts.trace_id': recorder.traceId,
    });
    expect(agentSpan.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'writer',
      'gen_ai.agent.id': 'writer',
      'agentcharts.agent_id': 'writer',
      'agentcharts.step_id': 'draft',
      'agentcharts.run_id': 'r1',
      'agentcharts.confidence': 0.9,
      'agentcharts.quality': 'HIGH',
      'agentcharts.attempts': 2,
      'agentcharts.status': 'success',
    });
    expect(agentSpan.status).toEqual({ code: SpanStatusCode.UNSET });
    expect(first.attributes).toMatchObject({
      'agentcharts.attempt': 1,
      'agentcharts.outcome': 'threw',
      'agentcharts.status': 'error',
      'agentcharts.reason': 'TypeError: bad json',
      'error.type': 'TypeError',
    });
    expect(first.status).toEqual({ code: SpanStatusCode.ERROR, message: 'TypeError: bad json' });
    expect(first.events).toEqual([
      expect.objectContaining({
        name: 'exception',
        attributes: expect.objectContaining({
          'exception.type': 'TypeError',
          'exception.message': 'bad json',
        }),
      }),
    ]);
    // A fallback is a handled failure, never shown as a silent success.
    expect(gate.status).toEqual({ code: SpanStatusCode.ERROR, message: 'LOW quality' });
    expect(gate.attributes).toMatchObject({ 'agentcharts.status': 'fallback', 'error.type': 'fallback' });
    expect(second.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('a fallback agent span is ERROR with the agent status as error.type', async () => {
    const { memory, provider, clock, tracer } = setup();
    providers.push(provider);
    const recorder = createTraceRecorder({ clock, exporters: [otelExporter(tracer)] });
    const agent = defineAgent({
      id: 'slow',
      output: Draft,
      run: mockRun([{ hang: true }]),
      limits: { maxIterations: 1, attemptTimeoutMs: 500 },
    });
    const done = runAgent(agent, null, { clock, inspect: agentSpans({ recorder }) });
    await clock.advance(500);
    const result = await done;
    const agentSpan = byName(memory.getFinishedSpans(), 'invoke_agent slow');
    expect(agentSpan.status).toEqual({ code: SpanStatusCode.ERROR, message: result.reason });
    expect(agentSpan.attributes).toMatchObject({
      'agentcharts.status': 'fallback',
      'error.type': 'timedOut',
    });
    expect(parentOf(agentSpan)).toBeUndefined();
  });

  it('the context option nests root spans under the caller’s span; gen_ai.* attributes pass through', () => {
    const { memory, provider, clock, tracer } = setup();
    providers.push(provider);
    const outer = tracer.startSpan('http request');
    const recorder = createTraceRecorder({
      clock,
      exporters: [otelExporter(tracer, { context: () => trace.setSpan(ROOT_CONTEXT, outer) })],
    });
    const run = recorder.start({
      name: 'run',
      operation: 'run',
      attributes: { 'gen_ai.usage.input_tokens': 12 },
    });
    const child = recorder.start({ name: 'step', operation: 'step', parentSpanId: run });
    recorder.end(child, { status: 'success' });
    recorder.end(run, { status: 'success' });
    outer.end();
    const spans = memory.getFinishedSpans();
    expect(parentOf(byName(spans, 'run'))).toBe(outer.spanContext().spanId);
    expect(parentOf(byName(spans, 'step'))).toBe(byName(spans, 'run').spanContext().spanId);
    expect(byName(spans, 'run').attributes['gen_ai.usage.input_tokens']).toBe(12);
  });

  it('one trace id: the recorder takes the OpenTelemetry trace id (a new root’s, or the parent span’s)', () => {
    const { memory, provider, clock, tracer } = setup();
    providers.push(provider);
    const alone = createTraceRecorder({ clock, exporters: [otelExporter(tracer)] });
    const root = alone.start({ name: 'run', operation: 'run' });
    alone.end(alone.start({ name: 'step', operation: 'step', parentSpanId: root }), { status: 'success' });
    alone.end(root, { status: 'success' });
    const spans = memory.getFinishedSpans();
    expect(spans).toHaveLength(2);
    for (const span of spans) {
      expect(span.spanContext().traceId).toBe(alone.traceId);
      expect(span.attributes['agentcharts.trace_id']).toBe(alone.traceId);
    }
    expect(alone.trace().spans.every((s) => s.traceId === alone.traceId)).toBe(true);

    const outer = tracer.startSpan('http request');
    const nested = createTraceRecorder({
      clock,
      exporters: [otelExporter(tracer, { context: () => trace.setSpan(ROOT_CONTEXT, outer) })],
    });
    nested.end(nested.start({ name: 'run', operation: 'run' }), { status: 'success' });
    expect(nested.traceId).toBe(outer.spanContext().traceId);
    // A trace id given to the recorder is kept; a read before any span fixes a new one.
    const given = createTraceRecorder({ traceId: 'a'.repeat(32), exporters: [otelExporter(tracer)] });
    given.start({ name: 'run', operation: 'run' });
    expect(given.traceId).toBe('a'.repeat(32));
    const early = createTraceRecorder({ exporters: [otelExporter(tracer)] });
    const id = early.traceId;
    early.start({ name: 'run', operation: 'run' });
    expect(early.trace().spans[0]!.traceId).toBe(id);
    outer.end();
  });

  it('a failing tracer is reported by the recorder and never breaks recording', () => {
    const errors: string[] = [];
    const broken = {
      startSpan: () => {
        throw new Error('collector unreachable');
      },
    } as never;
    const recorder = createTraceRecorder({
      clock: testClock(),
      exporters: [otelExporter(broken)],
      onError: (_e, source) => errors.push(source),
    });
    const id = recorder.start({ name: 'run', operation: 'run' });
    expect(recorder.end(id, { status: 'success' })?.status).toBe('success');
    expect(errors).toEqual(['trace exporter "opentelemetry" (onSpanStart)']);
  });

  it('OpenTelemetry stays optional: src/ imports @opentelemetry/api for types only, and only in trace/otel.ts', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith('.ts')) files.push(path);
      }
    };
    walk('src');
    walk('machines');
    const users = files.filter((f) => readFileSync(f, 'utf8').includes('@opentelemetry'));
    expect(users).toEqual([join('src', 'trace', 'otel.ts')]);
    const imports = readFileSync(users[0]!, 'utf8').match(/import[^;]*?from '@opentelemetry\/api'/g) ?? [];
    expect(imports).toHaveLength(1);
    expect(imports[0]).toMatch(/^import type \{/);
  });
});
