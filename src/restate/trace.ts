import type { RunResult } from '../run-result.js';
import type { Trace } from '../trace/span.js';
import type { TraceExporter } from '../trace/tracer.js';
import { createTraceRecorder } from '../trace/tracer.js';
import { digest } from './hash.js';
import type { RunView } from './run-scope.js';

/**
 * A run's trace built from what its journal recorded (the finished steps and every agent call's
 * attempts): the same span shapes as in-process — run, step, agent, attempt — with the trace id
 * derived from the run id, so every client builds the same trace. Exporters (e.g. `otelExporter`)
 * see each span.
 */
export function traceOfRun(
  runId: string,
  view: RunView,
  result: RunResult | null,
  exporters: TraceExporter[] = [],
): Trace {
  const traceId = digest(`agentcharts.run:${runId}`, 4);
  const rec = createTraceRecorder({ traceId, exporters });
  const runSpan = rec.start({
    name: `run ${view.workflowId}`,
    operation: 'run',
    startedAt: view.startedAt,
    attributes: { runId, workflowId: view.workflowId, version: view.version },
  });
  const callsByStep = new Map(view.calls.map((c) => [`${c.stepId}.${c.visit}`, c]));
  const reviewsById = new Map(view.reviews.map((r) => [r.reviewId, r]));
  for (const step of view.steps) {
    const stepSpan = rec.start({
      name: `step ${step.stepId}`,
      operation: 'step',
      parentSpanId: runSpan,
      stepId: step.stepId,
      agentId: step.agentId,
      startedAt: step.startedAt,
      attributes: { visit: step.visit },
    });
    const entry = callsByStep.get(`${step.stepId}.${step.visit}`);
    const call = entry?.result;
    if (step.status === 'breakerOpen') {
      rec.record({
        name: `breaker ${step.stepId}`,
        operation: 'breaker',
        parentSpanId: stepSpan,
        stepId: step.stepId,
        startedAt: step.startedAt,
        endedAt: step.startedAt,
        status: 'fallback',
        ...(step.reason ? { reason: step.reason } : {}),
      });
    }
    if (call) {
      const agentSpan = rec.start({
        name: `agent ${call.agentId}`,
        operation: 'agent',
        parentSpanId: stepSpan,
        agentId: call.agentId,
        stepId: step.stepId,
        startedAt: call.startedAt,
      });
      for (const a of call.attempts) {
        rec.record({
          name: `attempt ${a.attempt}`,
          operation: 'attempt',
          parentSpanId: agentSpan,
          agentId: call.agentId,
          stepId: step.stepId,
          startedAt: a.startedAt,
          endedAt: a.endedAt,
          status: a.outcome === 'valid' ? 'success' : 'error',
          ...(a.reason ? { reason: a.reason } : {}),
          attributes: {
            attempt: a.attempt,
            idempotencyKey: a.idempotencyKey,
            outcome: a.outcome,
            ...(a.confidence === undefined ? {} : { confidence: a.confidence }),
          },
        });
      }
      rec.end(agentSpan, {
        status: call.fallback ? 'fallback' : 'success',
        endedAt: call.endedAt,
        ...(call.fallback ? { reason: call.reason } : {}),
        attributes: { status: call.status, attempts: call.attempts.length },
      });
      if (entry.gate) {
        rec.record({
          name: `gate ${step.stepId}`,
          operation: 'gate',
          parentSpanId: stepSpan,
          stepId: step.stepId,
          startedAt: call.endedAt,
          endedAt: call.endedAt,
          ...(entry.gate.passed
            ? {
                status: 'success' as const,
                attributes: { confidence: call.confidence, quality: call.quality },
              }
            : { status: 'fallback' as const, reason: entry.gate.reason ?? 'gated' }),
        });
      }
    }
    const review = step.review ? reviewsById.get(step.review.reviewId) : undefined;
    if (review) {
      rec.record({
        name: `escalation ${step.stepId}`,
        operation: 'escalation',
        parentSpanId: stepSpan,
        agentId: review.agentId,
        stepId: step.stepId,
        startedAt: review.openedAt,
        endedAt: review.decidedAt ?? step.endedAt,
        status: review.decision === 'approved' || review.decision === 'edited' ? 'success' : 'fallback',
        ...(review.reason ? { reason: review.reason } : {}),
        attributes: {
          review_id: review.reviewId,
          trigger: review.trigger,
          confidence: review.confidence,
          ...(review.decision ? { decision: review.decision } : {}),
          ...(review.by ? { by: review.by } : {}),
        },
      });
    }
    rec.end(stepSpan, {
      status: step.status === 'passed' ? 'success' : 'fallback',
      endedAt: step.endedAt,
      ...(step.reason ? { reason: step.reason } : {}),
      attributes: { status: step.status, confidence: step.confidence, quality: step.quality },
    });
  }
  if (result && result.status !== 'awaitingReview') {
    rec.end(runSpan, {
      status: result.status === 'completed' ? 'success' : result.status === 'fallback' ? 'fallback' : 'error',
      endedAt: result.endedAt,
      ...('reason' in result ? { reason: result.reason } : {}),
      attributes: { status: result.status },
    });
  }
  return rec.trace();
}
