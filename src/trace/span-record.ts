import { numberedSpanId } from './ids.js';
import type { Span, SpanAttributes, SpanEnd, SpanOperation, SpanStatus } from './span.js';

/** Shared by every span started without attributes: frozen, so sharing it is safe. */
const NO_ATTRIBUTES: Readonly<SpanAttributes> = Object.freeze({});

/** A span of a recorder: its number (from `open`) or its id. */
export type SpanRef = number | string;

/**
 * A span as the recorder keeps it: one mutable record per span, ended in place. The frozen `Span`
 * everyone else sees is made from it when first asked for (an exporter, `spans()`, `get()`) and kept
 * until the span changes, so a run nobody reads builds no span objects at all.
 */
export class SpanRecord {
  /** A span of this recorder by number, another's by id, or null (a root). */
  readonly parent: SpanRef | null;
  /** The span's name is `name`, or `name label` (made when seen: most spans are never looked at). */
  readonly name: string;
  readonly label: string | number | undefined;
  readonly operation: SpanOperation;
  readonly agentId: string | undefined;
  readonly stepId: string | undefined;
  readonly startedAt: number;
  readonly attributes: SpanAttributes | undefined;
  status: SpanStatus = 'running';
  endedAt = 0;
  reason: string | undefined = undefined;
  error: SpanEnd['error'] | undefined = undefined;
  /** Merged over `attributes` when the span is seen. */
  ended: SpanAttributes | undefined = undefined;
  view: Span | null = null;

  constructor(
    parent: SpanRef | null,
    name: string,
    label: string | number | undefined,
    operation: SpanOperation,
    agentId: string | undefined,
    stepId: string | undefined,
    startedAt: number,
    attributes: SpanAttributes | undefined,
  ) {
    this.parent = parent;
    this.name = name;
    this.label = label;
    this.operation = operation;
    this.agentId = agentId;
    this.stepId = stepId;
    this.startedAt = startedAt;
    this.attributes = attributes;
  }
}

/** The frozen `Span` of record number `n`, key by key in the order spans always had. */
export function spanView(record: SpanRecord, n: number, prefix: number, traceId: string): Span {
  const parent = record.parent;
  const start = record.attributes;
  const end = record.ended;
  const span: Span = {
    traceId,
    spanId: numberedSpanId(prefix, n),
    parentSpanId: typeof parent === 'number' ? numberedSpanId(prefix, parent) : parent,
    name: record.label === undefined ? record.name : `${record.name} ${record.label}`,
    operation: record.operation,
    status: record.status,
    startedAt: record.startedAt,
    // The record owns its attribute objects: frozen in place, copied only to merge.
    attributes:
      end === undefined || end === start
        ? start === undefined
          ? NO_ATTRIBUTES
          : Object.freeze(start)
        : Object.freeze(start === undefined ? end : Object.assign({}, start, end)),
  };
  if (record.agentId !== undefined) span.agentId = record.agentId;
  if (record.stepId !== undefined) span.stepId = record.stepId;
  if (record.status !== 'running') {
    span.endedAt = record.endedAt;
    span.durationMs = Math.max(0, record.endedAt - record.startedAt);
    if (record.reason !== undefined) span.reason = record.reason;
    if (record.error !== undefined)
      span.error = Object.freeze({ name: record.error.name, message: record.error.message });
  }
  return Object.freeze(span);
}
