import type {
  Attributes,
  Context,
  Span as OtelSpan,
  SpanOptions,
  SpanStatusCode,
  Tracer,
} from '@opentelemetry/api';
import { isTraceId } from './ids.js';
import type { Span } from './span.js';
import type { TraceExporter } from './tracer.js';

/**
 * Exports a recorder's spans to an OpenTelemetry Tracer, with the same parent/child links.
 *
 *   createTraceRecorder({ exporters: [otelExporter(trace.getTracer('my-app'))] })
 *
 * OpenTelemetry stays optional: this file imports `@opentelemetry/api` for types only, so it loads
 * without it. The parent link needs no API call either: a parent travels in a Context under the
 * API's span key, which the API defines as `Symbol.for('OpenTelemetry Context Key SPAN')` precisely
 * so that separate copies of the API agree on it.
 *
 * Mapping (GenAI semantic conventions where they fit, `agentcharts.*` for the rest):
 * - agent spans are named `invoke_agent {agentId}` with `gen_ai.operation.name = invoke_agent`,
 *   `gen_ai.agent.name` and `gen_ai.agent.id`; a run span with a `workflow_id` attribute is named
 *   `invoke_workflow {workflow_id}` with `gen_ai.operation.name = invoke_workflow`. Other spans keep
 *   their name.
 * - status `error` and `fallback` are both ERROR (message = the reason; `error.type` = the error
 *   name, agent status or attempt outcome): a fallback is a failure the run handled, and a tracing
 *   backend must not show it as a silent success. `agentcharts.status` tells them apart. `success`
 *   leaves the status UNSET, as instrumentation libraries should.
 * - span attributes become `agentcharts.<key>`; keys already in the `gen_ai.` namespace pass through.
 * - start and end times are the spans' clock times (ms since the epoch on a real clock).
 *
 * One trace id: OpenTelemetry assigns trace ids (the parent's, or a new one for a root), so the
 * recorder takes the id of the OpenTelemetry span its first span became (`traceIdFor`), and
 * `run.trace().traceId` is the id a tracing backend shows. Span ids stay each side's own; every span
 * carries ours as `agentcharts.span_id` (and `agentcharts.trace_id`) for correlation.
 */

export interface OtelExporterOptions {
  /**
   * The context root spans start in: pass `() => context.active()` to nest runs under the caller's
   * active span. Default: none, so each run is its own OpenTelemetry trace.
   */
  context?: () => Context;
}

// The API's own key (see above); typed as the API's context keys are.
const SPAN_KEY: symbol = Symbol.for('OpenTelemetry Context Key SPAN');
const STATUS_ERROR = 2 as SpanStatusCode.ERROR;

interface Entry {
  span: OtelSpan;
  /** The context that makes this span the parent of its children. */
  context: Context;
}

export function otelExporter(tracer: Tracer, options: OtelExporterOptions = {}): TraceExporter {
  // Per trace, so a finished trace's entries can be dropped together.
  const traces = new Map<string, { entries: Map<string, Entry>; running: number }>();
  // A trace's first span, started early to learn its trace id (traceIdFor), by our span id.
  const early = new Map<string, Entry>();

  const startOtel = (span: Span, base: Context | undefined): Entry => {
    const spanOptions: SpanOptions = {
      startTime: span.startedAt,
      attributes: startAttributes(span),
      ...(base ? {} : { root: true }),
    };
    const otelSpan = tracer.startSpan(otelName(span), spanOptions, base);
    return { span: otelSpan, context: (base ?? emptyContext).setValue(SPAN_KEY, otelSpan) };
  };

  return {
    name: 'opentelemetry',
    traceIdFor(first) {
      if (first.parentSpanId !== null) return undefined;
      try {
        const entry = startOtel(first, options.context?.());
        early.set(first.spanId, entry);
        return entry.span.spanContext().traceId;
      } catch {
        return undefined; // onSpanStart tries again, and its failure is reported there
      }
    },
    onSpanStart(span) {
      let trace = traces.get(span.traceId);
      if (!trace) {
        trace = { entries: new Map(), running: 0 };
        traces.set(span.traceId, trace);
      }
      let entry = early.get(span.spanId);
      if (entry) {
        early.delete(span.spanId);
        entry.span.setAttribute('agentcharts.trace_id', span.traceId);
      } else {
        const parent = span.parentSpanId === null ? undefined : trace.entries.get(span.parentSpanId);
        entry = startOtel(span, parent?.context ?? options.context?.());
      }
      trace.entries.set(span.spanId, entry);
      trace.running++;
    },
    onSpanEnd(span) {
      const trace = traces.get(span.traceId);
      const entry = trace?.entries.get(span.spanId);
      if (!trace || !entry) return;
      const endTime = span.endedAt ?? span.startedAt;
      entry.span.setAttributes(endAttributes(span));
      if (span.status === 'error' || span.status === 'fallback') {
        if (span.error)
          entry.span.recordException({ name: span.error.name, message: span.error.message }, endTime);
        entry.span.setStatus({ code: STATUS_ERROR, message: span.reason ?? span.status });
      }
      entry.span.end(endTime);
      // Ended entries stay while the trace runs: a later span may still name them as parent.
      if (--trace.running === 0) traces.delete(span.traceId);
    },
  };
}

function otelName(span: Span): string {
  if (span.operation === 'agent' && span.agentId) return `invoke_agent ${span.agentId}`;
  const workflow = span.attributes.workflow_id;
  if (span.operation === 'run' && workflow !== undefined) return `invoke_workflow ${workflow}`;
  return span.name;
}

const prefixed = (key: string): string => (key.startsWith('gen_ai.') ? key : `agentcharts.${key}`);

function startAttributes(span: Span): Attributes {
  const attributes: Attributes = {
    'agentcharts.operation': span.operation,
    'agentcharts.trace_id': span.traceId,
    'agentcharts.span_id': span.spanId,
  };
  if (span.agentId !== undefined) attributes['agentcharts.agent_id'] = span.agentId;
  if (span.stepId !== undefined) attributes['agentcharts.step_id'] = span.stepId;
  if (span.operation === 'agent' && span.agentId !== undefined) {
    attributes['gen_ai.operation.name'] = 'invoke_agent';
    attributes['gen_ai.agent.name'] = span.agentId;
    attributes['gen_ai.agent.id'] = span.agentId;
  }
  if (span.operation === 'run' && span.attributes.workflow_id !== undefined) {
    attributes['gen_ai.operation.name'] = 'invoke_workflow';
  }
  for (const [key, value] of Object.entries(span.attributes)) attributes[prefixed(key)] = value;
  return attributes;
}

function endAttributes(span: Span): Attributes {
  const attributes: Attributes = { 'agentcharts.status': span.status };
  for (const [key, value] of Object.entries(span.attributes)) attributes[prefixed(key)] = value;
  if (span.reason !== undefined) attributes['agentcharts.reason'] = span.reason;
  if (span.status === 'error' || span.status === 'fallback') {
    const kind = span.error?.name ?? span.attributes.agent_status ?? span.attributes.outcome ?? span.status;
    attributes['error.type'] = String(kind);
  }
  return attributes;
}

/**
 * The trace id of the span in an OpenTelemetry Context (e.g. an HTTP request's), or undefined when it
 * holds none or an invalid one. Reads the API's span key directly, so it needs no API at run time.
 */
export function traceIdOf(context: Context): string | undefined {
  const span = context.getValue(SPAN_KEY) as OtelSpan | undefined;
  const id = typeof span?.spanContext === 'function' ? span.spanContext().traceId : undefined;
  return isTraceId(id) ? id : undefined;
}

/** Whether a value is an OpenTelemetry Context (what `context.active()` returns). */
export const isOtelContext = (value: unknown): value is Context =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as { getValue?: unknown }).getValue === 'function' &&
  typeof (value as { setValue?: unknown }).setValue === 'function';

/** An immutable, empty Context, the same contract as the API's ROOT_CONTEXT. */
function contextOf(values: ReadonlyMap<symbol, unknown>): Context {
  return {
    getValue: (key) => values.get(key),
    setValue: (key, value) => contextOf(new Map(values).set(key, value)),
    deleteValue: (key) => {
      const next = new Map(values);
      next.delete(key);
      return contextOf(next);
    },
  };
}

const emptyContext = contextOf(new Map());

export type { Context as OtelContext, Tracer as OtelTracer } from '@opentelemetry/api';
