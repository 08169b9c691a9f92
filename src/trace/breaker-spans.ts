import type { BreakerEmitted } from '../../machines/breaker.js';
import type { Breaker } from '../breaker.js';
import type { EventSink, RunEvent } from './events.js';
import { type ObserverErrorHandler, reportOncePerSource, safeReport } from './report.js';
import type { SpanAttributes, SpanEnd } from './span.js';
import type { TraceRecorder } from './tracer.js';

/**
 * Breaker decisions as spans and progress events, from the breaker's typed events (`breaker.on`).
 * Each is a zero-length `breaker` span at the event's clock time, attribute `breaker.state` = the
 * state after it:
 *
 * - `opened`: error (the edge tripped; reason = the last failure). `halfOpened`, `closed`: success.
 * - `rejected`: fallback (the caller got `breakerOpen` and the agent was not called).
 *
 * Progress events: `breaker.opened`, `breaker.halfOpened`, `breaker.closed` (a rejection reaches the
 * run as the caller's own `fallback` event, so it is not repeated here).
 */

export interface TraceBreakerOptions {
  /** Where the spans go; a function can route by the run that is crossing the edge. Undefined skips. */
  recorder: TraceRecorder | ((event: BreakerEmitted) => TraceRecorder | undefined);
  /** The span's parent, e.g. the gate span of the call that tripped it. Default: the recorder's root span. */
  parentOf?: (event: BreakerEmitted) => string | null | undefined;
  events?: EventSink<RunEvent> | ((event: BreakerEmitted) => EventSink<RunEvent> | undefined);
  /** The run a breaker event belongs to, for progress events. Default: null (breakers are shared). */
  runId?: (event: BreakerEmitted) => string | null;
  onError?: ObserverErrorHandler;
}

const STATE_AFTER = { opened: 'open', halfOpened: 'halfOpen', closed: 'closed' } as const;

/** The span fields for one breaker event. */
export function breakerSpanFields(event: BreakerEmitted): { name: string; end: SpanEnd } {
  const attributes: SpanAttributes = {
    'breaker.key': event.key,
    'breaker.event': event.type,
    'breaker.state': event.type === 'rejected' ? event.state : STATE_AFTER[event.type],
  };
  let end: SpanEnd;
  switch (event.type) {
    case 'opened':
      attributes['breaker.failures'] = event.failures;
      attributes['breaker.opens'] = event.opens;
      attributes['breaker.cooldown_ms'] = event.cooldownMs;
      attributes['breaker.probe_at'] = event.probeAt;
      end = { status: 'error', reason: event.reason, attributes };
      break;
    case 'rejected':
      attributes['breaker.request_id'] = event.requestId;
      if (event.probeAt !== null) attributes['breaker.probe_at'] = event.probeAt;
      end = { status: 'fallback', reason: event.reason, attributes };
      break;
    default:
      end = { status: 'success', attributes };
  }
  return { name: `breaker ${event.key} ${event.type}`, end: { ...end, endedAt: event.at } };
}

/** Record one breaker event as a zero-length span; returns its id. */
export function recordBreakerEvent(
  recorder: TraceRecorder,
  event: BreakerEmitted,
  parentSpanId: string | null = recorder.rootSpanId(),
): string {
  const { name, end } = breakerSpanFields(event);
  return recorder.record({ name, operation: 'breaker', parentSpanId, startedAt: event.at, ...end });
}

/** The progress event for a breaker event (none for `rejected`). */
export function breakerRunEvent(event: BreakerEmitted, runId: string | null): RunEvent | undefined {
  const base = { runId, at: event.at, key: event.key };
  switch (event.type) {
    case 'opened':
      return {
        ...base,
        type: 'breaker.opened',
        probeAt: event.probeAt,
        cooldownMs: event.cooldownMs,
        failures: event.failures,
        reason: event.reason,
      };
    case 'halfOpened':
      return { ...base, type: 'breaker.halfOpened' };
    case 'closed':
      return { ...base, type: 'breaker.closed' };
    default:
      return undefined;
  }
}

/** Subscribe to a breaker's events and record them. Returns the function that unsubscribes. */
export function traceBreaker(breaker: Pick<Breaker, 'on'>, options: TraceBreakerOptions): () => void {
  const onError = options.onError ?? reportOncePerSource();
  const handle = (event: BreakerEmitted) => {
    try {
      const recorder = typeof options.recorder === 'function' ? options.recorder(event) : options.recorder;
      if (recorder) {
        const parent = options.parentOf?.(event);
        recordBreakerEvent(recorder, event, parent === undefined ? recorder.rootSpanId() : parent);
      }
      const sink = typeof options.events === 'function' ? options.events(event) : options.events;
      const runEvent = sink && breakerRunEvent(event, options.runId?.(event) ?? null);
      if (sink && runEvent) sink.emit(runEvent);
    } catch (error) {
      safeReport(onError, error, 'the breaker span adapter');
    }
  };
  const offs = [
    breaker.on('opened', handle),
    breaker.on('halfOpened', handle),
    breaker.on('closed', handle),
    breaker.on('rejected', handle),
  ];
  return () => {
    for (const off of offs) off();
  };
}
