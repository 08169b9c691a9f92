import { z } from 'zod';
import { parseOptions } from '../options.js';
import { randomUint32 } from '../random-id.js';
import { isTraceId, newTraceId, numberedSpanId, spanNumber } from './ids.js';
import { type ObserverErrorHandler, reportOncePerSource, safeReport } from './report.js';
import type { Span, SpanAttributes, SpanEnd, SpanOperation, SpanStart, Trace } from './span.js';

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

interface IdSource {
  source: string;
  traceIdFor: (first: Span) => string | undefined;
}

const wallClock = { now: () => Date.now() };
/** Shared by every span started without attributes: frozen, so sharing it is safe. */
const NO_ATTRIBUTES: Readonly<SpanAttributes> = Object.freeze({});
const NO_SINKS: Sink[] = [];

export function createTraceRecorder(options: TraceRecorderOptions = {}): TraceRecorder {
  const parsed = parseOptions(optionsSchema, options, 'createTraceRecorder');
  return new Recorder(parsed);
}

/**
 * A recorder for options the library built itself (a run's tracer): the same recorder, without
 * validating options on every run.
 */
export function runRecorder(options: TraceRecorderOptions): Recorder {
  return new Recorder(options);
}

/**
 * The recorder. A class, not a literal of closures: every run has one, and its methods are shared.
 * Spans live in an array in start order; a span's id ends with its number (index + 1), so finding
 * a span by id needs no map (see `numberedSpanId`).
 *
 * `open` and `close` are the library's own entry points: positional, and they take ownership of the
 * attributes object they are given (frozen in place, not copied). `start` and `end` copy.
 */
export class Recorder implements TraceRecorder {
  // Decided late: an exporter may name it when the first span starts (see TraceExporter.traceIdFor).
  #traceId: string | null;
  readonly #clock: { now(): number };
  readonly #onError: ObserverErrorHandler;
  readonly #spans: Span[] = [];
  readonly #prefix: number;
  // Nothing to call when nobody listens: the loops below run over empty arrays.
  #startSinks: Sink[] = NO_SINKS;
  #endSinks: Sink[] = NO_SINKS;
  #listeners = 0;
  #idSources: IdSource[] | null = null;

  constructor(options: TraceRecorderOptions) {
    this.#traceId = options.traceId ?? null;
    this.#clock = options.clock ?? wallClock;
    this.#onError = options.onError ?? reportOncePerSource();
    this.#prefix = randomUint32();
    const exporters = options.exporters;
    if (exporters) {
      for (let i = 0; i < exporters.length; i++) {
        const exporter = exporters[i]!;
        this.#addExporter(exporter, `trace exporter ${JSON.stringify(exporter.name ?? `#${i + 1}`)}`);
      }
    }
  }

  /** Fixed by the first span (an exporter may name it) or the first read, whichever comes first. */
  get traceId(): string {
    return this.#fixTraceId(null);
  }

  #notify(sinks: Sink[], span: Span, phase: 'start' | 'end'): void {
    for (const sink of sinks) {
      try {
        if (phase === 'start') sink.start?.(span);
        else sink.end?.(span);
      } catch (error) {
        safeReport(
          this.#onError,
          error,
          `${sink.source} (${phase === 'start' ? 'onSpanStart' : 'onSpanEnd'})`,
        );
      }
    }
  }

  #addSink(sink: Sink): () => void {
    if (sink.start) this.#startSinks = [...this.#startSinks, sink];
    if (sink.end) this.#endSinks = [...this.#endSinks, sink];
    return () => {
      this.#startSinks = this.#startSinks.filter((s) => s !== sink);
      this.#endSinks = this.#endSinks.filter((s) => s !== sink);
    };
  }

  #addExporter(exporter: TraceExporter, source: string): () => void {
    if (exporter.traceIdFor && this.#traceId === null) {
      this.#idSources ??= [];
      this.#idSources.push({ source, traceIdFor: (first) => exporter.traceIdFor!(first) });
    }
    return this.#addSink(sinkOf(exporter, source));
  }

  /** The trace id: the one given, else the first an exporter names for the first span, else a new one. */
  #fixTraceId(first: Span | null): string {
    if (this.#traceId !== null) return this.#traceId;
    if (first && this.#idSources) {
      for (const source of this.#idSources) {
        try {
          const id = source.traceIdFor(first);
          if (isTraceId(id)) {
            this.#traceId = id;
            return id;
          }
        } catch (error) {
          safeReport(this.#onError, error, `${source.source} (traceIdFor)`);
        }
      }
    }
    this.#traceId = newTraceId();
    return this.#traceId;
  }

  /** Open a span (`attributes` is taken over and frozen). Returns its id. */
  open(
    name: string,
    operation: SpanOperation,
    parentSpanId: string | null,
    agentId: string | undefined,
    stepId: string | undefined,
    startedAt: number | undefined,
    attributes: SpanAttributes | undefined,
  ): string {
    const spans = this.#spans;
    const spanId = numberedSpanId(this.#prefix, spans.length + 1);
    const span: Span = {
      traceId: this.#traceId ?? '',
      spanId,
      parentSpanId,
      name,
      operation,
      status: 'running',
      startedAt: startedAt ?? this.#clock.now(),
      attributes: attributes ? Object.freeze(attributes) : NO_ATTRIBUTES,
    };
    if (agentId !== undefined) span.agentId = agentId;
    if (stepId !== undefined) span.stepId = stepId;
    if (this.#traceId === null)
      span.traceId = this.#fixTraceId(this.#idSources ? Object.freeze({ ...span }) : null);
    spans.push(Object.freeze(span));
    if (this.#startSinks.length > 0) this.#notify(this.#startSinks, span, 'start');
    return spanId;
  }

  /**
   * Close a running span; `attributes` are merged over the ones it started with (taken over when it
   * started with none; the very object it started with adds nothing). Returns the ended span, or undefined if it is unknown or already ended.
   */
  close(
    spanId: string,
    status: SpanEnd['status'],
    endedAt: number | undefined,
    reason: string | undefined,
    error: SpanEnd['error'] | undefined,
    attributes: SpanAttributes | undefined,
  ): Span | undefined {
    const index = spanNumber(spanId) - 1;
    const running = index >= 0 ? this.#spans[index] : undefined;
    if (running === undefined || running.spanId !== spanId || running.status !== 'running') return undefined;
    const at = endedAt ?? this.#clock.now();
    // Field by field, in the running span's key order: spreading a frozen object is the slow path.
    const span: Span = {
      traceId: running.traceId,
      spanId,
      parentSpanId: running.parentSpanId,
      name: running.name,
      operation: running.operation,
      status,
      startedAt: running.startedAt,
      attributes:
        attributes === undefined || attributes === running.attributes
          ? running.attributes
          : Object.freeze(
              running.attributes === NO_ATTRIBUTES
                ? attributes
                : Object.assign({}, running.attributes, attributes),
            ),
    };
    if (running.agentId !== undefined) span.agentId = running.agentId;
    if (running.stepId !== undefined) span.stepId = running.stepId;
    span.endedAt = at;
    span.durationMs = Math.max(0, at - running.startedAt);
    if (reason !== undefined) span.reason = reason;
    if (error !== undefined) span.error = Object.freeze({ name: error.name, message: error.message });
    this.#spans[index] = Object.freeze(span);
    if (this.#endSinks.length > 0) this.#notify(this.#endSinks, span, 'end');
    return span;
  }

  start(fields: SpanStart): string {
    return this.open(
      fields.name,
      fields.operation,
      fields.parentSpanId ?? null,
      fields.agentId,
      fields.stepId,
      fields.startedAt,
      fields.attributes ? { ...fields.attributes } : undefined,
    );
  }

  /** `endedAt` defaults to `at`, else the clock's now. */
  end(spanId: string, fields: SpanEnd, at?: number): Span | undefined {
    return this.close(
      spanId,
      fields.status,
      fields.endedAt ?? at,
      fields.reason,
      fields.error,
      fields.attributes ? { ...fields.attributes } : undefined,
    );
  }

  record(fields: SpanStart & SpanEnd): string {
    const spanId = this.start(fields);
    // A decision takes no time: it ends when it started, unless it says otherwise.
    this.end(spanId, fields, this.#spans[this.#spans.length - 1]!.startedAt);
    return spanId;
  }

  endRunning(fields: SpanEnd): number {
    const running = this.#spans.filter((s) => s.status === 'running').reverse();
    for (const span of running) this.end(span.spanId, fields);
    return running.length;
  }

  /** The ids of the running spans in start order, except `keep`. */
  runningIds(keep: string | null): string[] {
    const ids: string[] = [];
    for (const span of this.#spans)
      if (span.status === 'running' && span.spanId !== keep) ids.push(span.spanId);
    return ids;
  }

  get(spanId: string): Span | undefined {
    const span = this.#spans[spanNumber(spanId) - 1];
    return span !== undefined && span.spanId === spanId ? span : undefined;
  }

  rootSpanId(): string | null {
    for (const span of this.#spans) if (span.parentSpanId === null) return span.spanId;
    return null;
  }

  spans(): Span[] {
    return this.#spans.slice();
  }

  trace(): Trace {
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    let agentCalls = 0;
    let errors = 0;
    let running = false;
    for (const span of this.#spans) {
      first = Math.min(first, span.startedAt);
      if (span.endedAt === undefined) running = true;
      else last = Math.max(last, span.endedAt);
      if (span.operation === 'agent') agentCalls++;
      if (span.status === 'error' || span.status === 'fallback') errors++;
    }
    // A running span lasts until now.
    if (running) last = Math.max(last, this.#clock.now());
    return {
      traceId: this.#fixTraceId(null),
      totalDurationMs: this.#spans.length === 0 ? 0 : Math.max(0, last - first),
      agentCalls,
      errors,
      spans: this.#spans.slice(),
    };
  }

  addExporter(exporter: TraceExporter): () => void {
    parseOptions(exporterSchema, exporter, 'recorder.addExporter');
    return this.#addExporter(exporter, `trace exporter ${JSON.stringify(exporter.name ?? 'added')}`);
  }

  onSpanStart(listener: (span: Span) => void): () => void {
    return this.#addSink({ source: `span listener #${++this.#listeners}`, start: listener });
  }

  onSpanEnd(listener: (span: Span) => void): () => void {
    return this.#addSink({ source: `span listener #${++this.#listeners}`, end: listener });
  }
}

function sinkOf(exporter: TraceExporter, source: string): Sink {
  // Bound here so an exporter written as a class keeps its `this`.
  return {
    source,
    ...(exporter.onSpanStart ? { start: (span: Span) => exporter.onSpanStart!(span) } : {}),
    ...(exporter.onSpanEnd ? { end: (span: Span) => exporter.onSpanEnd!(span) } : {}),
  };
}
