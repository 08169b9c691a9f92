import type { SpanAttributes, SpanEnd, SpanOperation } from './span.js';
import { Recorder, type SpanRef, type TraceRecorder } from './tracer.js';

/**
 * The recorder calls the agent span adapter makes: the library's recorder itself (spans by number), or an
 * adapter over another TraceRecorder (spans by id).
 */
export interface SpanWriter {
  open(
    name: string,
    label: string | number | undefined,
    operation: SpanOperation,
    parent: SpanRef | null,
    agentId: string | undefined,
    stepId: string | undefined,
    startedAt: number | undefined,
    attributes: SpanAttributes | undefined,
  ): SpanRef;
  close(
    ref: SpanRef,
    status: SpanEnd['status'],
    endedAt: number | undefined,
    reason: string | undefined,
    error: SpanEnd['error'] | undefined,
    attributes: SpanAttributes | undefined,
  ): unknown;
}

/** The library's recorder as is; another TraceRecorder through its public start/end. */
export function spanWriter(recorder: TraceRecorder): SpanWriter {
  if (recorder instanceof Recorder) return recorder;
  return {
    open(name, label, operation, parent, agentId, stepId, startedAt, attributes) {
      return recorder.start({
        name: label === undefined ? name : `${name} ${label}`,
        operation,
        parentSpanId: parent as string | null,
        ...(agentId !== undefined ? { agentId } : {}),
        ...(stepId !== undefined ? { stepId } : {}),
        ...(startedAt !== undefined ? { startedAt } : {}),
        ...(attributes ? { attributes } : {}),
      });
    },
    close(ref, status, endedAt, reason, error, attributes) {
      return recorder.end(ref as string, {
        status,
        ...(endedAt !== undefined ? { endedAt } : {}),
        ...(reason !== undefined ? { reason } : {}),
        ...(error !== undefined ? { error } : {}),
        ...(attributes ? { attributes } : {}),
      });
    },
  };
}
