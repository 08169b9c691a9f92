import { afterEach, describe, expect, it, vi } from 'vitest';
import { isOptionsError } from '../src/errors.js';
import type { Span } from '../src/trace/span.js';
import { createTraceRecorder, type TraceExporter } from '../src/trace/tracer.js';
import { testClock } from './helpers/clock.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('trace recorder: spans', () => {
  it('gives W3C-shaped ids: a 32-hex trace id and unique 16-hex span ids', () => {
    const recorder = createTraceRecorder({ clock: testClock() });
    expect(recorder.traceId).toMatch(/^[0-9a-f]{32}$/);
    const ids = new Set(Array.from({ length: 200 }, () => recorder.start({ name: 'x', operation: 'step' })));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(createTraceRecorder().traceId).not.toBe(recorder.traceId);
  });

  it('starts a running span and ends it with status, reason, error, merged attributes and duration', () => {
    const clock = testClock();
    const recorder = createTraceRecorder({ clock, traceId: 'a'.repeat(32) });
    clock.increment(10);
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
      attributes: { attempt: 1 },
    });
    expect(recorder.get(step)).toEqual({
      traceId: 'a'.repeat(32),
      spanId: step,
      parentSpanId: run,
      name: 'step draft',
      operation: 'step',
      stepId: 'draft',
      status: 'running',
      startedAt: 10,
      attributes: { attempt: 1 },
    });
    clock.increment(25);
    const ended = recorder.end(step, {
      status: 'fallback',
      reason: 'timed out',
      error: { name: 'TimeoutError', message: 'no answer' },
      attributes: { quality: 'LOW' },
    });
    expect(ended).toMatchObject({
      status: 'fallback',
      endedAt: 35,
      durationMs: 25,
      reason: 'timed out',
      error: { name: 'TimeoutError', message: 'no answer' },
      attributes: { attempt: 1, quality: 'LOW' },
    });
    expect(recorder.get(step)).toBe(ended);
    // Explicit clock times win over the recorder's clock.
    const late = recorder.start({ name: 'a', operation: 'agent', parentSpanId: run, startedAt: 100 });
    expect(recorder.end(late, { status: 'success', endedAt: 140 })).toMatchObject({
      startedAt: 100,
      endedAt: 140,
      durationMs: 40,
    });
  });

  it('hands out frozen spans: a consumer cannot change the trace', () => {
    const recorder = createTraceRecorder({ clock: testClock() });
    const id = recorder.start({ name: 'x', operation: 'agent', attributes: { a: 1 } });
    const [span] = recorder.spans();
    expect(Object.isFrozen(span)).toBe(true);
    expect(Object.isFrozen(span!.attributes)).toBe(true);
    expect(() => {
      (span as { status: string }).status = 'success';
    }).toThrow(TypeError);
    const before = recorder.get(id);
    recorder.end(id, { status: 'success' });
    expect(before!.status).toBe('running'); // the old version is not mutated either
  });

  it('ignores ending an unknown or already ended span', () => {
    const recorder = createTraceRecorder({ clock: testClock() });
    const id = recorder.start({ name: 'x', operation: 'step' });
    expect(recorder.end('0123456789abcdef', { status: 'success' })).toBeUndefined();
    expect(recorder.end(id, { status: 'error', reason: 'first' })).toBeDefined();
    expect(recorder.end(id, { status: 'success' })).toBeUndefined();
    expect(recorder.get(id)).toMatchObject({ status: 'error', reason: 'first' });
  });

  it('record() makes a zero-length decision span; rootSpanId() is the first root', () => {
    const clock = testClock();
    const recorder = createTraceRecorder({ clock });
    expect(recorder.rootSpanId()).toBeNull();
    const run = recorder.start({ name: 'run', operation: 'run' });
    clock.increment(7);
    const gate = recorder.record({
      name: 'gate a→b',
      operation: 'gate',
      parentSpanId: run,
      status: 'fallback',
      reason: 'LOW quality',
    });
    expect(recorder.get(gate)).toMatchObject({ startedAt: 7, endedAt: 7, durationMs: 0, status: 'fallback' });
    recorder.start({ name: 'other root', operation: 'run' });
    expect(recorder.rootSpanId()).toBe(run);
  });

  it('endRunning() ends every open span, innermost first', () => {
    const recorder = createTraceRecorder({ clock: testClock() });
    const ended: string[] = [];
    recorder.onSpanEnd((s) => ended.push(s.name));
    const run = recorder.start({ name: 'run', operation: 'run' });
    const step = recorder.start({ name: 'step', operation: 'step', parentSpanId: run });
    recorder.start({ name: 'agent', operation: 'agent', parentSpanId: step });
    const done = recorder.start({ name: 'done', operation: 'step', parentSpanId: run });
    recorder.end(done, { status: 'success' });
    ended.length = 0;
    expect(recorder.endRunning({ status: 'fallback', reason: 'stopped' })).toBe(3);
    expect(ended).toEqual(['agent', 'step', 'run']);
    expect(recorder.spans().every((s) => s.status !== 'running')).toBe(true);
  });
});

describe('trace recorder: trace()', () => {
  it('has the seed shape: totalDurationMs, agentCalls, errors (error + fallback), spans in start order', () => {
    const clock = testClock();
    const recorder = createTraceRecorder({ clock });
    clock.increment(100);
    const run = recorder.start({ name: 'run', operation: 'run' });
    const a = recorder.start({ name: 'agent a', operation: 'agent', parentSpanId: run });
    const attempt = recorder.start({ name: 'attempt 1', operation: 'attempt', parentSpanId: a });
    clock.increment(50);
    recorder.end(attempt, { status: 'error', reason: 'threw' });
    recorder.end(a, { status: 'fallback', reason: 'failed' });
    const b = recorder.start({ name: 'agent b', operation: 'agent', parentSpanId: run });
    clock.increment(30);
    recorder.end(b, { status: 'success' });
    // The run span is still running: the trace lasts until now.
    clock.increment(20);
    const trace = recorder.trace();
    expect(trace).toMatchObject({
      traceId: recorder.traceId,
      totalDurationMs: 100,
      agentCalls: 2,
      errors: 2,
    });
    expect(trace.spans.map((s) => s.name)).toEqual(['run', 'agent a', 'attempt 1', 'agent b']);
    recorder.end(run, { status: 'success' });
    clock.increment(1000);
    expect(recorder.trace().totalDurationMs).toBe(100);
  });

  it('is empty before anything starts', () => {
    const recorder = createTraceRecorder({ clock: testClock() });
    expect(recorder.trace()).toEqual({
      traceId: recorder.traceId,
      totalDurationMs: 0,
      agentCalls: 0,
      errors: 0,
      spans: [],
    });
  });
});

describe('trace recorder: exporters and listeners', () => {
  it('tells exporters and listeners about every start and end, in order', () => {
    const seen: string[] = [];
    const exporter: TraceExporter = {
      name: 'mem',
      onSpanStart: (s) => seen.push(`start ${s.name} ${s.status}`),
      onSpanEnd: (s) => seen.push(`end ${s.name} ${s.status}`),
    };
    const recorder = createTraceRecorder({ clock: testClock(), exporters: [exporter] });
    const off = recorder.onSpanStart((s) => seen.push(`listener ${s.name}`));
    const id = recorder.start({ name: 'a', operation: 'agent' });
    off();
    recorder.start({ name: 'b', operation: 'agent' });
    recorder.end(id, { status: 'success' });
    expect(seen).toEqual(['start a running', 'listener a', 'start b running', 'end a success']);
  });

  it('addExporter() keeps `this` for class exporters and returns a remover', () => {
    class Counter {
      count = 0;
      onSpanEnd() {
        this.count++;
      }
    }
    const counter = new Counter();
    const recorder = createTraceRecorder({ clock: testClock() });
    const remove = recorder.addExporter(counter);
    recorder.end(recorder.start({ name: 'a', operation: 'step' }), { status: 'success' });
    remove();
    recorder.end(recorder.start({ name: 'b', operation: 'step' }), { status: 'success' });
    expect(counter.count).toBe(1);
    expect(() => recorder.addExporter({} as TraceExporter)).toThrow(/onSpanStart and\/or onSpanEnd/);
  });

  it('a throwing exporter never breaks recording: it is reported, and the others still run', () => {
    const errors: Array<[unknown, string]> = [];
    const good: Span[] = [];
    const boom = new Error('exporter down');
    const recorder = createTraceRecorder({
      clock: testClock(),
      exporters: [
        {
          name: 'broken',
          onSpanStart: () => {
            throw boom;
          },
          onSpanEnd: () => {
            throw boom;
          },
        },
        { onSpanEnd: (s) => good.push(s) },
      ],
      onError: (error, source) => errors.push([error, source]),
    });
    const id = recorder.start({ name: 'a', operation: 'agent' });
    expect(recorder.end(id, { status: 'success' })).toMatchObject({ status: 'success' });
    expect(good).toHaveLength(1);
    expect(errors).toEqual([
      [boom, 'trace exporter "broken" (onSpanStart)'],
      [boom, 'trace exporter "broken" (onSpanEnd)'],
    ]);
  });

  it('by default logs a throwing exporter once, with a clear prefix; a throwing onError is contained too', () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    const recorder = createTraceRecorder({
      clock: testClock(),
      exporters: [
        {
          onSpanStart: () => {
            throw new Error('nope');
          },
        },
      ],
    });
    for (let i = 0; i < 5; i++) recorder.start({ name: `s${i}`, operation: 'step' });
    expect(log).toHaveBeenCalledTimes(1);
    expect(log.mock.calls[0]![0]).toBe(
      'agentcharts: trace exporter "#1" (onSpanStart) failed; the run goes on (further errors from it are not logged)',
    );
    const loud = createTraceRecorder({
      exporters: [
        {
          onSpanStart: () => {
            throw new Error('a');
          },
        },
      ],
      onError: () => {
        throw new Error('the handler fails too');
      },
    });
    expect(() => loud.start({ name: 'x', operation: 'step' })).not.toThrow();
    expect(loud.spans()).toHaveLength(1);
  });
});

describe('trace recorder: options', () => {
  it.each([
    [{ traceId: 'xyz' }, 'traceId', /traceId must be 32 lowercase hex characters/],
    [{ traceId: '0'.repeat(32) }, 'traceId', /not all zero/],
    [{ clock: {} }, 'clock', /clock must have a now\(\) method/],
    [{ exporters: [{ name: 'x' }] }, 'exporters.0', /onSpanStart and\/or onSpanEnd/],
    [{ onError: 'log' }, 'onError', /onError must be a function, received "log"/],
    [{ tracer: {} }, 'tracer', /tracer is not a known option/],
  ])('rejects %j naming the field', (options, field, message) => {
    let error: unknown;
    try {
      createTraceRecorder(options as never);
    } catch (e) {
      error = e;
    }
    expect(isOptionsError(error)).toBe(true);
    expect((error as { field: string }).field).toBe(field);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/^createTraceRecorder: /);
  });
});
