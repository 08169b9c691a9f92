import { z } from 'zod';
import { parseOptions } from '../options.js';
import { isTraceId, newSpanId, newTraceId } from './ids.js';
import { type ObserverErrorHandler, reportOncePerSource, safeReport } from './report.js';
import type { Span, SpanAttributes, SpanEnd, SpanStart, Trace } from './span.js';

/**
 * The span collector of one trace (one run). Adapters (agent actors, breakers, the workflow) call
 * `start`/`end`; exporters (OpenTelemetry, a dashboard) see each span as it starts and ends.
 *
 * Spans are frozen plain data: `end` replaces a span with its ended version, so what an exporter or
 * `spans()` handed out never changes under anyone's feet.
 */

export interface TraceExporter {
  /** Names the exporter in error reports. */
  readonly name?: string;
  /**
   * Called once, with the trace's first span (its `traceId` still empty), when the recorder was given
   * no trace id: an exporter whose backend assigns trace ids (OpenTelemetry) returns the one it uses,
   * so `trace().traceId` and the backend's are the same id. The first valid id returned wins.
   */
  traceIdFor?(first: Span): string | undefined;
  onSpanStart?(span: Span): void;
  onSpanEnd?(span: Span): void;
}

export interface TraceRecorderOptions {
  /** 32 lowercase hex characters (a W3C trace id). Default: a new random one. */
  traceId?: string;
  /** Times for spans that do not bring their own. Default: Date.now. */
  clock?: { now(): number };
  exporters?: TraceExporter[];
  /** A throwing exporter or listener is reported here and recording goes on. Default: console.error once per exporter. */
  onError?: ObserverErrorHandler;
}

export interface TraceRecorder {
  /** Fixed by the first span (an exporter may name it) or the first read, whichever comes first. */
  readonly traceId: string;
  /** Open a span; returns its id. */
  start(span: SpanStart): string;
  /** Close a running span. Returns the ended span, or undefined if it is unknown or already ended. */
  end(spanId: string, end: SpanEnd): Span | undefined;
  /** A span that starts and ends at once: a decision (gate, breaker). Returns its id. */
  record(span: SpanStart & SpanEnd): string;
  /** End every running span (innermost first), e.g. when a run is stopped. Returns how many. */
  endRunning(end: SpanEnd): number;
  get(spanId: string): Span | undefined;
  /** The first span without a parent (the run span, when there is one), or null. */
  rootSpanId(): string | null;
  /** Every span in start order, running ones included. */
  spans(): Span[];
  /** The seed's shape: `{ traceId, totalDurationMs, agentCalls, errors, spans }`. */
  trace(): Trace;
  /** Add an exporter; returns the function that removes it. */
  addExporter(exporter: TraceExporter): () => void;
  onSpanStart(listener: (span: Span) => void): () => void;
  onSpanEnd(listener: (span: Span) => void): () => void;
}

const isFunction = (v: unknown): boolean => typeof v === 'function';
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

const exporterSchema = z.custom<TraceExporter>(
  (v) =>
    isObject(v) &&
    (isFunction(v.onSpanStart) || isFunction(v.onSpanEnd)) &&
    (v.onSpanStart === undefined || isFunction(v.onSpanStart)) &&
    (v.onSpanEnd === undefined || isFunction(v.onSpanEnd)) &&
    (v.traceIdFor === undefined || isFunction(v.traceIdFor)),
  { error: 'must be an object with onSpanStart and/or onSpanEnd functions' },
);

const optionsSchema = z.strictObject({
  traceId: z
    .custom<string>(isTraceId, { error: 'must be 32 lowercase hex characters, not all zero' })
    .optional(),
  clock: z
    .custom<{ now(): number }>((v) => isObject(v) && isFunction(v.now), { error: 'must have a now() method' })
    .optional(),
  exporters: z.array(exporterSchema).optional(),
  onError: z.custom<ObserverErrorHandler>(isFunction, { error: 'must be a function' }).optional(),
});

interface Sink {
  source: string;
  start?: (span: Span) => void;
  end?: (span: Span) => void;
}

const wallClock = { now: () => Date.now() };
/** Shared by every span started without attributes: frozen, so sharing it is safe. */
const NO_ATTRIBUTES: Readonly<SpanAttributes> = Object.freeze({});

export function createTraceRecorder(options: TraceRecorderOptions = {}): TraceRecorder {
  const parsed = parseOptions(optionsSchema, options, 'createTraceRecorder');
  // Decided late: an exporter may name it when the first span starts (see TraceExporter.traceIdFor).
  let traceId: string | null = parsed.traceId ?? null;
  const clock = parsed.clock ?? wallClock;
  const onError = parsed.onError ?? reportOncePerSource();
  // Insertion-ordered; `end` overwrites in place, so the order stays the start order.
  const spans = new Map<string, Span>();
  // Nothing to call when nobody listens: the loops below run over empty arrays.
  let startSinks: Sink[] = [];
  let endSinks: Sink[] = [];
  let listeners = 0;

  function notify(sinks: Sink[], span: Span, phase: 'start' | 'end'): void {
    for (const sink of sinks) {
      try {
        if (phase === 'start') sink.start?.(span);
        else sink.end?.(span);
      } catch (error) {
        safeReport(onError, error, `${sink.source} (${phase === 'start' ? 'onSpanStart' : 'onSpanEnd'})`);
      }
    }
  }

  function addSink(sink: Sink): () => void {
    if (sink.start) startSinks = [...startSinks, sink];
    if (sink.end) endSinks = [...endSinks, sink];
    return () => {
      startSinks = startSinks.filter((s) => s !== sink);
      endSinks = endSinks.filter((s) => s !== sink);
    };
  }

  /** The trace id: the one given, else the first an exporter names for the first span, else a new one. */
  function fixTraceId(first: Span | null): string {
    if (traceId !== null) return traceId;
    for (const source of idSources) {
      if (!first) break;
      try {
        const id = source.traceIdFor(first);
        if (isTraceId(id)) {
          traceId = id;
          return id;
        }
      } catch (error) {
        safeReport(onError, error, `${source.source} (traceIdFor)`);
      }
    }
    traceId = newTraceId();
    return traceId;
  }

  // Built by assignment rather than conditional spreads: this runs for every span of every run.
  function start(fields: SpanStart): string {
    const spanId = newSpanId();
    const span: Span = {
      traceId: traceId ?? '',
      spanId,
      parentSpanId: fields.parentSpanId ?? null,
      name: fields.name,
      operation: fields.operation,
      status: 'running',
      startedAt: fields.startedAt ?? clock.now(),
      attributes: fields.attributes ? Object.freeze({ ...fields.attributes }) : NO_ATTRIBUTES,
    };
    if (fields.agentId !== undefined) span.agentId = fields.agentId;
    if (fields.stepId !== undefined) span.stepId = fields.stepId;
    if (traceId === null) span.traceId = fixTraceId(idSources.length > 0 ? Object.freeze({ ...span }) : null);
    spans.set(spanId, Object.freeze(span));
    if (startSinks.length > 0) notify(startSinks, span, 'start');
    return spanId;
  }

  /** `endedAt` defaults to `at`, else the clock's now. */
  function end(spanId: string, fields: SpanEnd, at?: number): Span | undefined {
    const running = spans.get(spanId);
    if (running?.status !== 'running') return undefined;
    const endedAt = fields.endedAt ?? at ?? clock.now();
    // Field by field, in the running span's key order: spreading a frozen object is the slow path.
    const span: Span = {
      traceId: running.traceId,
      spanId,
      parentSpanId: running.parentSpanId,
      name: running.name,
      operation: running.operation,
      status: fields.status,
      startedAt: running.startedAt,
      attributes: fields.attributes
        ? Object.freeze({ ...running.attributes, ...fields.attributes })
        : running.attributes,
    };
    if (running.agentId !== undefined) span.agentId = running.agentId;
    if (running.stepId !== undefined) span.stepId = running.stepId;
    span.endedAt = endedAt;
    span.durationMs = Math.max(0, endedAt - running.startedAt);
    if (fields.reason !== undefined) span.reason = fields.reason;
    if (fields.error !== undefined)
      span.error = Object.freeze({ name: fields.error.name, message: fields.error.message });
    spans.set(spanId, Object.freeze(span));
    if (endSinks.length > 0) notify(endSinks, span, 'end');
    return span;
  }

  const idSources: Array<{ source: string; traceIdFor: (first: Span) => string | undefined }> = [];
  function addExporter(exporter: TraceExporter, source: string): () => void {
    if (exporter.traceIdFor && traceId === null)
      idSources.push({ source, traceIdFor: (first) => exporter.traceIdFor!(first) });
    return addSink(sinkOf(exporter, source));
  }
  for (const [i, exporter] of (parsed.exporters ?? []).entries()) {
    addExporter(exporter, `trace exporter ${JSON.stringify(exporter.name ?? `#${i + 1}`)}`);
  }

  const recorder = {
    start,
    end: (spanId, fields) => end(spanId, fields),
    record(fields) {
      const spanId = start(fields);
      // A decision takes no time: it ends when it started, unless it says otherwise.
      end(spanId, fields, spans.get(spanId)!.startedAt);
      return spanId;
    },
    endRunning(fields) {
      const running = [...spans.values()].filter((s) => s.status === 'running').reverse();
      for (const span of running) end(span.spanId, fields);
      return running.length;
    },
    get: (spanId) => spans.get(spanId),
    rootSpanId() {
      for (const span of spans.values()) if (span.parentSpanId === null) return span.spanId;
      return null;
    },
    spans: () => [...spans.values()],
    trace() {
      let first = Number.POSITIVE_INFINITY;
      let last = Number.NEGATIVE_INFINITY;
      let agentCalls = 0;
      let errors = 0;
      let running = false;
      for (const span of spans.values()) {
        first = Math.min(first, span.startedAt);
        if (span.endedAt === undefined) running = true;
        else last = Math.max(last, span.endedAt);
        if (span.operation === 'agent') agentCalls++;
        if (span.status === 'error' || span.status === 'fallback') errors++;
      }
      // A running span lasts until now.
      if (running) last = Math.max(last, clock.now());
      return {
        traceId: fixTraceId(null),
        totalDurationMs: spans.size === 0 ? 0 : Math.max(0, last - first),
        agentCalls,
        errors,
        spans: [...spans.values()],
      };
    },
    addExporter(exporter) {
      parseOptions(exporterSchema, exporter, 'recorder.addExporter');
      return addExporter(exporter, `trace exporter ${JSON.stringify(exporter.name ?? 'added')}`);
    },
    onSpanStart(listener) {
      return addSink({ source: `span listener #${++listeners}`, start: listener });
    },
    onSpanEnd(listener: (span: Span) => void) {
      return addSink({ source: `span listener #${++listeners}`, end: listener });
    },
  } as Omit<TraceRecorder, 'traceId'> as TraceRecorder;
  // Defined after: a getter written in the literal makes every run's recorder a dictionary object in V8.
  Object.defineProperty(recorder, 'traceId', { get: () => fixTraceId(null), enumerable: true });
  return recorder;
}

function sinkOf(exporter: TraceExporter, source: string): Sink {
  // Bound here so an exporter written as a class keeps its `this`.
  return {
    source,
    ...(exporter.onSpanStart ? { start: (span: Span) => exporter.onSpanStart!(span) } : {}),
    ...(exporter.onSpanEnd ? { end: (span: Span) => exporter.onSpanEnd!(span) } : {}),
  };
}
