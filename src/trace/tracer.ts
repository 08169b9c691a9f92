import { z } from 'zod';
import { pushed } from '../../machines/lists.js';
import { parseOptions } from '../options.js';
import { randomUint32 } from '../random-id.js';
import { isTraceId, newTraceId, numberedSpanId, spanNumber, spanPrefix } from './ids.js';
import { type ObserverErrorHandler, reportOncePerSource, safeReport } from './report.js';
import type { Span, SpanAttributes, SpanEnd, SpanOperation, SpanStart, Trace } from './span.js';
import { SpanRecord, type SpanRef, spanView } from './span-record.js';

export type { SpanRef } from './span-record.js';

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

const isExporter = (v: unknown): boolean =>
  isObject(v) &&
  (isFunction(v.onSpanStart) || isFunction(v.onSpanEnd)) &&
  (v.onSpanStart === undefined || isFunction(v.onSpanStart)) &&
  (v.onSpanEnd === undefined || isFunction(v.onSpanEnd)) &&
  (v.traceIdFor === undefined || isFunction(v.traceIdFor));

const exporterSchema = z.custom<TraceExporter>(isExporter, {
  error: 'must be an object with onSpanStart and/or onSpanEnd functions',
});

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
const NO_SINKS: Sink[] = [];

export function createTraceRecorder(options: TraceRecorderOptions = {}): TraceRecorder {
  // Every run makes a recorder: the options are checked by hand, and zod only words a refusal.
  return new Recorder(
    validOptions(options) ? options : parseOptions(optionsSchema, options, 'createTraceRecorder'),
  );
}

const OPTION_KEYS: ReadonlySet<string> = new Set(['traceId', 'clock', 'exporters', 'onError']);

/** What `optionsSchema` accepts, without zod (anything in doubt goes to zod). */
function validOptions(options: unknown): options is TraceRecorderOptions {
  if (!isObject(options) || Array.isArray(options)) return false;
  for (const key in options) if (!OPTION_KEYS.has(key)) return false;
  const { traceId, clock, exporters, onError } = options;
  return (
    (traceId === undefined || isTraceId(traceId)) &&
    (clock === undefined || (isObject(clock) && isFunction(clock.now))) &&
    (exporters === undefined || (Array.isArray(exporters) && exporters.every(isExporter))) &&
    (onError === undefined || isFunction(onError))
  );
}

/**
 * The recorder. A class, not a literal of closures: every run has one, and its methods are shared.
 * Spans are numbered 1, 2, … in start order; a span's id is the trace's random prefix and its
 * number (`numberedSpanId`), so finding a span by id needs no map.
 *
 * `open` and `close` are the library's own entry points: positional, spans by number, and they take
 * ownership of the attributes object they are given (frozen when seen, not copied). `start` and
 * `end` copy.
 */
export class Recorder implements TraceRecorder {
  // Decided late: an exporter may name it when the first span starts (see TraceExporter.traceIdFor).
  #traceId: string | null;
  readonly #clock: { now(): number };
  readonly #onError: ObserverErrorHandler;
  #spans: SpanRecord[] = [];
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

  /** The number of a span of this recorder, or 0. */
  #numberOf(ref: SpanRef): number {
    if (typeof ref === 'number') return ref >= 1 && ref <= this.#spans.length ? ref : 0;
    const n = spanNumber(ref);
    return n >= 1 && n <= this.#spans.length && spanPrefix(ref) === this.#prefix ? n : 0;
  }

  /** A span's id, by its number. */
  idOf(n: number): string {
    return numberedSpanId(this.#prefix, n);
  }

  /** The frozen span the world sees, made when first asked for and kept until the span changes. */
  #view(n: number, traceId?: string): Span {
    const record = this.#spans[n - 1]!;
    if (record.view !== null && traceId === undefined) return record.view;
    const span = spanView(record, n, this.#prefix, traceId ?? this.#traceId ?? '');
    if (traceId === undefined) record.view = span;
    return span;
  }

  /** Open a span named `name` or `name label` (`attributes` is taken over). Returns its number. */
  open(
    name: string,
    label: string | number | undefined,
    operation: SpanOperation,
    parent: SpanRef | null,
    agentId: string | undefined,
    stepId: string | undefined,
    startedAt: number | undefined,
    attributes: SpanAttributes | undefined,
  ): number {
    const spans = pushed(
      this.#spans,
      new SpanRecord(
        parent,
        name,
        label,
        operation,
        agentId,
        stepId,
        startedAt ?? this.#clock.now(),
        attributes,
      ),
    );
    this.#spans = spans;
    const n = spans.length;
    if (this.#traceId === null) this.#fixTraceId(this.#idSources ? this.#view(n, '') : null);
    if (this.#startSinks.length > 0) this.#notify(this.#startSinks, this.#view(n), 'start');
    return n;
  }

  /**
   * Close a running span; `attributes` are merged over the ones it started with. Returns false if
   * it is unknown or already ended.
   */
  close(
    ref: SpanRef,
    status: SpanEnd['status'],
    endedAt: number | undefined,
    reason: string | undefined,
    error: SpanEnd['error'] | undefined,
    attributes: SpanAttributes | undefined,
  ): boolean {
    const n = this.#numberOf(ref);
    const record = n === 0 ? undefined : this.#spans[n - 1]!;
    if (record === undefined || record.status !== 'running') return false;
    record.status = status;
    record.endedAt = endedAt ?? this.#clock.now();
    record.reason = reason;
    record.error = error;
    record.ended = attributes;
    record.view = null;
    if (this.#endSinks.length > 0) this.#notify(this.#endSinks, this.#view(n), 'end');
    return true;
  }

  start(fields: SpanStart): string {
    return this.idOf(
      this.open(
        fields.name,
        undefined,
        fields.operation,
        fields.parentSpanId ?? null,
        fields.agentId,
        fields.stepId,
        fields.startedAt,
        fields.attributes ? { ...fields.attributes } : undefined,
      ),
    );
  }

  /** `endedAt` defaults to `at`, else the clock's now. */
  end(spanId: string, fields: SpanEnd, at?: number): Span | undefined {
    const closed = this.close(
      spanId,
      fields.status,
      fields.endedAt ?? at,
      fields.reason,
      fields.error ? { name: fields.error.name, message: fields.error.message } : undefined,
      fields.attributes ? { ...fields.attributes } : undefined,
    );
    return closed ? this.#view(this.#numberOf(spanId)) : undefined;
  }

  record(fields: SpanStart & SpanEnd): string {
    const spanId = this.start(fields);
    // A decision takes no time: it ends when it started, unless it says otherwise.
    this.end(spanId, fields, this.#spans[this.#spans.length - 1]!.startedAt);
    return spanId;
  }

  endRunning(fields: SpanEnd): number {
    let ended = 0;
    for (let n = this.#spans.length; n >= 1; n--) {
      if (this.#spans[n - 1]!.status !== 'running') continue;
      this.end(this.idOf(n), fields);
      ended++;
    }
    return ended;
  }

  /** Close every running span but `keep`, in start order. */
  closeRunning(keep: number, status: SpanEnd['status'], endedAt: number, reason: string): void {
    for (let n = 1; n <= this.#spans.length; n++) {
      if (n !== keep && this.#spans[n - 1]!.status === 'running')
        this.close(n, status, endedAt, reason, undefined, undefined);
    }
  }

  get(spanId: string): Span | undefined {
    const n = this.#numberOf(spanId);
    return n === 0 ? undefined : this.#view(n);
  }

  rootSpanId(): string | null {
    for (let n = 1; n <= this.#spans.length; n++)
      if (this.#spans[n - 1]!.parent === null) return this.idOf(n);
    return null;
  }

  spans(): Span[] {
    const spans = new Array<Span>(this.#spans.length);
    for (let n = 1; n <= spans.length; n++) spans[n - 1] = this.#view(n);
    return spans;
  }

  trace(): Trace {
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    let agentCalls = 0;
    let errors = 0;
    let running = false;
    for (const span of this.#spans) {
      first = Math.min(first, span.startedAt);
      if (span.status === 'running') running = true;
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
      spans: this.spans(),
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
