import type { AnyActorRef, InspectionEvent } from 'xstate';
import type { Clock } from '../machines/clock.js';
import type { BreakerOpen, EdgeDecision } from '../machines/edge-result.js';
import type { WorkflowContext } from '../machines/workflow-context.js';
import { isEscalationSnapshot } from './review/records.js';
import type { RunTerminal } from './run-result.js';
import { agentSpans } from './trace/agent-spans.js';
import type { EventStream } from './trace/event-stream.js';
import { createEventStream } from './trace/event-stream.js';
import type { ReviewDecision, RunEvent } from './trace/events.js';
import type { ObserverErrorHandler } from './trace/report.js';
import { safeReport } from './trace/report.js';
import type { SpanStatus } from './trace/span.js';
import { runCompletedEvent, STEP_STATUS, stepEndEvents } from './trace/step-events.js';
import type { TraceExporter, TraceRecorder } from './trace/tracer.js';
import { createTraceRecorder } from './trace/tracer.js';

/**
 * A run's trace and progress events, built from its actor system's inspection stream: the run span,
 * a span per step execution, gate and breaker decisions, the agent and attempt spans (agent-spans),
 * and escalations. Nothing here wraps user code, and nothing here can break the run.
 */
export interface RunObserver {
  readonly recorder: TraceRecorder;
  readonly events: EventStream<RunEvent>;
  /** The run's inspection observer. */
  readonly inspect: (event: InspectionEvent) => void;
  /** A step's breaker refused its call (told by the action that asked, inside the transition). */
  refused(context: WorkflowContext, stepId: string, refusal: BreakerOpen): void;
  /** The gate decided on a step's result (told by the action that decided). */
  gated(context: WorkflowContext, stepId: string, decision: EdgeDecision): void;
  /**
   * The run ended: close its spans, emit `run.completed`, end the event stream. `context` is the
   * workflow's last context: XState reports the final snapshot only after the actor completes.
   */
  finish(result: RunTerminal, context?: WorkflowContext): void;
}

export interface RunObserverOptions {
  runId: string;
  /** The trace id to use (a parent span's); default: the exporters' (OpenTelemetry's) or a new one. */
  traceId?: string;
  workflowId: string;
  clock: Clock | undefined;
  exporters: TraceExporter[];
  onError: ObserverErrorHandler;
}

export function observeRun(options: RunObserverOptions): RunObserver {
  const { runId, workflowId, onError } = options;
  const now = () => options.clock?.now() ?? Date.now();
  const recorder = createTraceRecorder({
    ...(options.traceId ? { traceId: options.traceId } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    exporters: options.exporters,
    onError,
  });
  const events = createEventStream<RunEvent>({ onError });
  const startedAt = now();
  const runSpan = recorder.start({
    name: `run ${workflowId}`,
    operation: 'run',
    startedAt,
    attributes: { workflow_id: workflowId, run_id: runId },
  });
  events.emit({ type: 'run.started', runId, workflowId, at: startedAt });

  /** Step execution (`id.visit`) → its span. */
  const stepSpans = new Map<string, string>();
  /** The workflow actor, once it has been seen. */
  let root: AnyActorRef | undefined;
  const escalations = new Map<string, string>();
  let seenVisits: Record<string, number> = {};
  let seenSteps = 0;

  const agents = agentSpans({
    recorder,
    events,
    // An agent starts inside the transition that entered its step, before the workflow's snapshot
    // is reported (the workflow actor already holds it): what that transition did comes first.
    parentOf: ({ context }) => {
      if (root) onRoot((root.getSnapshot() as { context: WorkflowContext }).context);
      return stepSpan(context.stepId, context.visit ?? 1, context.startedAt);
    },
    onError,
  });

  function onRoot(context: WorkflowContext) {
    // Steps that ended first, then the ones that started: the order things happened in one macrostep.
    for (; seenSteps < context.steps.length; seenSteps++) {
      const record = context.steps[seenSteps]!;
      const spanId = stepSpans.get(`${record.stepId}.${record.visit}`);
      const status = STEP_STATUS[record.status];
      if (spanId) {
        recorder.end(spanId, {
          status,
          endedAt: record.endedAt,
          ...(record.reason ? { reason: record.reason } : {}),
          attributes: {
            step_status: record.status,
            confidence: record.confidence,
            quality: record.quality,
            attempts: record.attempts,
            ...(record.review ? { review_decision: record.review.decision } : {}),
          },
        });
      }
      for (const event of stepEndEvents(runId, record)) events.emit(event);
    }
    if (context.visits !== seenVisits) {
      for (const [stepId, visit] of Object.entries(context.visits)) {
        if (Object.hasOwn(seenVisits, stepId) && seenVisits[stepId]! >= visit) continue;
        const slot = Object.hasOwn(context.slots, stepId) ? context.slots[stepId] : undefined;
        stepSpan(stepId, visit, slot?.startedAt);
      }
      seenVisits = context.visits;
    }
  }

  /**
   * A step execution's span, opened when first needed: by the workflow's snapshot, or earlier by a
   * decision or an agent inside the transition that entered the step.
   */
  function stepSpan(stepId: string, visit: number, startedAt: number | undefined): string {
    const key = `${stepId}.${visit}`;
    let spanId = stepSpans.get(key);
    if (spanId) return spanId;
    const at = startedAt ?? now();
    spanId = recorder.start({
      name: `step ${stepId}`,
      operation: 'step',
      parentSpanId: runSpan,
      stepId,
      startedAt: at,
      attributes: { visit },
    });
    stepSpans.set(key, spanId);
    events.emit({ type: 'step.started', runId, stepId, at });
    return spanId;
  }

  // Decisions are told from inside the transition that took them: what the context says happened
  // before them in that transition (a step ended, the next one entered) is reported first.
  function gated(context: WorkflowContext, stepId: string, decision: EdgeDecision) {
    try {
      onRoot(context);
      const slot = context.slots[stepId]!;
      const result = decision.passed ? decision.result : undefined;
      recorder.record({
        name: `gate ${stepId}`,
        operation: 'gate',
        parentSpanId: stepSpan(stepId, slot.visit, slot.startedAt),
        stepId,
        ...(decision.passed
          ? {
              status: 'success' as const,
              attributes: { confidence: result!.confidence, quality: result!.quality },
            }
          : {
              status: 'fallback' as const,
              reason: decision.fallback.reason,
              attributes: { fallback_status: decision.fallback.status },
            }),
      });
    } catch (error) {
      safeReport(onError, error, 'the run tracer');
    }
  }

  function refused(context: WorkflowContext, stepId: string, refusal: BreakerOpen) {
    try {
      onRoot(context);
      const slot = context.slots[stepId]!;
      recorder.record({
        name: `breaker ${refusal.breaker}`,
        operation: 'breaker',
        parentSpanId: stepSpan(stepId, slot.visit, slot.startedAt),
        stepId,
        status: 'fallback',
        reason: refusal.reason,
        attributes: { 'breaker.key': refusal.breaker, 'breaker.state': refusal.state },
      });
    } catch (error) {
      safeReport(onError, error, 'the run tracer');
    }
  }

  // Reviews already reported: the decision can be seen twice (see `inspect`).
  const reviewed = new Set<string>();

  function onEscalation(ref: AnyActorRef, snapshot: unknown) {
    if (!isEscalationSnapshot(snapshot)) return;
    const c = snapshot.context;
    let spanId = escalations.get(c.reviewId);
    if (!spanId) {
      spanId = recorder.start({
        name: `escalation ${c.stepId}`,
        operation: 'escalation',
        parentSpanId: stepSpans.get(`${c.stepId}.${c.visit}`) ?? runSpan,
        agentId: c.agentId,
        stepId: c.stepId,
        startedAt: c.openedAt,
        attributes: { review_id: c.reviewId, trigger: c.trigger, confidence: c.confidence },
      });
      escalations.set(c.reviewId, spanId);
      events.emit({
        type: 'escalated',
        runId,
        at: c.openedAt,
        stepId: c.stepId,
        reviewId: c.reviewId,
        reason: c.reason,
        agentId: c.agentId,
        confidence: c.confidence,
      });
    }
    const status = (snapshot as { status?: string }).status;
    if (status !== 'done' || reviewed.has(c.reviewId)) return;
    const output = (
      snapshot as {
        output?: { decision: ReviewDecision; by: string | null; decidedAt: number; reason: string };
      }
    ).output;
    if (!output) return;
    recorder.end(spanId, {
      status: output.decision === 'approved' || output.decision === 'edited' ? 'success' : 'fallback',
      endedAt: output.decidedAt,
      reason: output.reason,
      attributes: { decision: output.decision, ...(output.by ? { by: output.by } : {}) },
    });
    reviewed.add(c.reviewId);
    events.emit({
      type: 'reviewed',
      runId,
      at: output.decidedAt,
      stepId: c.stepId,
      reviewId: c.reviewId,
      decision: output.decision,
      reason: output.reason,
    });
    void ref;
  }

  const inspect = (event: InspectionEvent) => {
    const ref = event.actorRef as AnyActorRef;
    const isRoot = !(ref as { _parent?: unknown })._parent;
    if (isRoot) root = ref;
    // XState tells the parent a child is done before it reports the child's last snapshot. Report
    // that snapshot first — an agent's spans end, a review's decision is told — so events keep the
    // order of things, and a decision that ends the run is not lost when the run's end closes the
    // event stream. (Both ignore the late snapshot when it comes.)
    if (
      event.type === '@xstate.event' &&
      isRoot &&
      event.sourceRef &&
      event.event.type.startsWith('xstate.done.actor.')
    ) {
      const source = event.sourceRef as AnyActorRef;
      const snapshot = source.getSnapshot();
      if (event.event.type.startsWith('xstate.done.actor.agent:'))
        agents({ ...event, type: '@xstate.snapshot', actorRef: source, snapshot } as InspectionEvent);
      else {
        try {
          onEscalation(source, snapshot);
        } catch (error) {
          safeReport(onError, error, 'the run tracer');
        }
      }
    }
    agents(event);
    try {
      if (event.type === '@xstate.snapshot') {
        if (isRoot) onRoot((event.snapshot as unknown as { context: WorkflowContext }).context);
        else onEscalation(ref, event.snapshot);
      }
    } catch (error) {
      safeReport(onError, error, 'the run tracer');
    }
  };

  return {
    recorder,
    events,
    inspect,
    gated,
    refused,
    finish(result, context) {
      try {
        if (context) onRoot(context);
        const status: SpanStatus =
          result.status === 'completed' ? 'success' : result.status === 'failed' ? 'error' : 'fallback';
        const reason = result.status === 'completed' ? undefined : result.reason;
        // Anything still open (a call cut short by cancel or the deadline) ends with the run.
        for (const span of recorder.spans()) {
          if (span.status === 'running' && span.spanId !== runSpan) {
            recorder.end(span.spanId, {
              status: 'fallback',
              endedAt: result.endedAt,
              reason: `the run ended: ${result.status}`,
            });
          }
        }
        recorder.end(runSpan, { status, endedAt: result.endedAt, ...(reason ? { reason } : {}) });
        events.emit(runCompletedEvent(runId, result));
      } catch (error) {
        safeReport(onError, error, 'the run tracer');
      }
      events.close();
    },
  };
}
