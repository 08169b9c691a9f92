import type { AnyActorRef, InspectionEvent, Snapshot } from 'xstate';
import type { AgentContext } from '../machines/agent-context.js';
import type { Clock } from '../machines/clock.js';
import type { BreakerOpen, EdgeDecision } from '../machines/edge-result.js';
import type { WorkflowContext } from '../machines/workflow-context.js';
import { isEscalationSnapshot } from './review/records.js';
import type { RunTerminal } from './run-result.js';
import { type AgentHost, agentSnapshot, type TrackedEntry } from './trace/agent-spans.js';
import { EscalationSpans } from './trace/escalation-spans.js';
import type { EventStream } from './trace/event-stream.js';
import { createEventStream } from './trace/event-stream.js';
import type { RunEvent } from './trace/events.js';
import type { ObserverErrorHandler } from './trace/report.js';
import { safeReport } from './trace/report.js';
import type { SpanAttributes, SpanStatus } from './trace/span.js';
import type { SpanWriter } from './trace/span-writer.js';
import { runCompletedEvent, STEP_STATUS, stepEndEvents } from './trace/step-events.js';
import type { Recorder, TraceExporter, TraceRecorder } from './trace/tracer.js';
import { createTraceRecorder } from './trace/tracer.js';

/**
 * A run's trace and progress events, built from its actor system's inspection stream: the run span,
 * a span per step execution, gate and breaker decisions, the agent and attempt spans (agent-spans),
 * and escalations. Nothing here wraps user code, and nothing here can break the run.
 */
export interface RunObserver {
  readonly recorder: TraceRecorder;
  readonly events: EventStream<RunEvent>;
  /** The run's inspection observer (a method: call it on the observer). */
  inspect(event: InspectionEvent): void;
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
  return new Observer(options);
}

/** A step's latest execution and its span. */
interface StepSpan {
  visit: number;
  span: number;
}

const NO_VISITS: Record<string, number> = Object.freeze({}) as Record<string, number>;
const DONE_ACTOR = 'xstate.done.actor.';
const DONE_AGENT = 'xstate.done.actor.agent:';

type AnySnapshot = Snapshot<unknown> & { context?: unknown };

/**
 * A class, not closures: every run in flight holds one, and its methods are shared. Inspection
 * events that can open or close nothing (microsteps, actions, other events) return at the first
 * check, allocating nothing.
 */
class Observer implements RunObserver, AgentHost {
  readonly recorder: Recorder;
  readonly events: EventStream<RunEvent>;
  readonly onError: ObserverErrorHandler;
  readonly #runId: string;
  readonly #clock: Clock | undefined;
  readonly #runSpan: number;
  /** Step id → its latest execution's span. */
  readonly #steps = new Map<string, StepSpan>();
  /** The workflow actor, once it has been seen. */
  #root: AnyActorRef | undefined = undefined;
  /** The run's reviews' spans and events; made at the first escalation. */
  #escalations: EscalationSpans | null = null;
  // The run's agent actors (AgentHost.tracked): two in place — one in flight, and the one before it
  // until XState reports its last snapshot — and a map only when more run at once (parallel steps).
  #agentA: AnyActorRef | undefined = undefined;
  #entryA: TrackedEntry | undefined = undefined;
  #agentB: AnyActorRef | undefined = undefined;
  #entryB: TrackedEntry | undefined = undefined;
  #moreAgents: Map<AnyActorRef, TrackedEntry> | null = null;
  #seenVisits: Record<string, number> = NO_VISITS;
  #seenSteps = 0;

  constructor(options: RunObserverOptions) {
    const { runId, workflowId, onError } = options;
    this.#runId = runId;
    this.#clock = options.clock;
    this.onError = onError;
    // The library's own class: the observer uses its positional, by-number entry points.
    this.recorder = createTraceRecorder({
      ...(options.traceId ? { traceId: options.traceId } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      exporters: options.exporters,
      onError,
    }) as Recorder;
    this.events = createEventStream<RunEvent>({ onError });
    const startedAt = this.#now();
    this.#runSpan = this.recorder.open('run', workflowId, 'run', null, undefined, undefined, startedAt, {
      workflow_id: workflowId,
      run_id: runId,
    });
    this.events.emit({ type: 'run.started', runId, workflowId, at: startedAt });
  }

  inspect(event: InspectionEvent): void {
    this.#inspect(event);
  }

  #now(): number {
    return this.#clock?.now() ?? Date.now();
  }

  // AgentHost: every agent of the run goes to the run's recorder and events, under its step's span.
  // The run's own table, dropped with the run. (One table shared by every run did no better in the
  // bench: an old-space table keyed by young actors.)
  tracked(ref: AnyActorRef): TrackedEntry | undefined {
    if (ref === this.#agentA) return this.#entryA;
    if (ref === this.#agentB) return this.#entryB;
    return this.#moreAgents?.get(ref);
  }

  track(ref: AnyActorRef, entry: TrackedEntry): void {
    if (ref === this.#agentA) this.#entryA = entry;
    else if (ref === this.#agentB) this.#entryB = entry;
    else if (this.#moreAgents?.has(ref)) this.#moreAgents.set(ref, entry);
    else if (this.#agentA === undefined) {
      this.#agentA = ref;
      this.#entryA = entry;
    } else if (this.#agentB === undefined) {
      this.#agentB = ref;
      this.#entryB = entry;
    } else {
      this.#moreAgents ??= new Map();
      this.#moreAgents.set(ref, entry);
    }
  }

  untrack(ref: AnyActorRef): void {
    if (ref === this.#agentA) {
      this.#agentA = undefined;
      this.#entryA = undefined;
    } else if (ref === this.#agentB) {
      this.#agentB = undefined;
      this.#entryB = undefined;
    } else this.#moreAgents?.delete(ref);
  }

  agentRecorder(): SpanWriter {
    return this.recorder;
  }

  agentEvents(): EventStream<RunEvent> {
    return this.events;
  }

  // An agent starts inside the transition that entered its step, before the workflow's snapshot
  // is reported (the workflow actor already holds it): what that transition did comes first.
  agentParent(_ref: AnyActorRef, context: AgentContext): number {
    const root = this.#root;
    if (root) this.#onRoot((root.getSnapshot() as { context: WorkflowContext }).context);
    return this.#stepSpan(context.stepId, context.visit ?? 1, context.startedAt);
  }

  #onRoot(context: WorkflowContext): void {
    const runId = this.#runId;
    // Steps that ended first, then the ones that started: the order things happened in one macrostep.
    const steps = context.steps;
    for (; this.#seenSteps < steps.length; this.#seenSteps++) {
      const record = steps[this.#seenSteps]!;
      const step = this.#steps.get(record.stepId);
      if (step !== undefined && step.visit === record.visit) {
        const attributes: SpanAttributes = {
          step_status: record.status,
          confidence: record.confidence,
          quality: record.quality,
          attempts: record.attempts,
        };
        if (record.review) attributes.review_decision = record.review.decision;
        this.recorder.close(
          step.span,
          STEP_STATUS[record.status],
          record.endedAt,
          record.reason ? record.reason : undefined,
          undefined,
          attributes,
        );
      }
      for (const event of stepEndEvents(runId, record)) this.events.emit(event);
    }
    const visits = context.visits;
    if (visits !== this.#seenVisits) {
      const seen = this.#seenVisits;
      for (const stepId in visits) {
        if (!Object.hasOwn(visits, stepId)) continue;
        const visit = visits[stepId]!;
        if (Object.hasOwn(seen, stepId) && seen[stepId]! >= visit) continue;
        const slot = Object.hasOwn(context.slots, stepId) ? context.slots[stepId] : undefined;
        this.#stepSpan(stepId, visit, slot?.startedAt);
      }
      this.#seenVisits = visits;
    }
  }

  /**
   * A step execution's span, opened when first needed: by the workflow's snapshot, or earlier by a
   * decision or an agent inside the transition that entered the step.
   */
  #stepSpan(stepId: string, visit: number, startedAt: number | undefined): number {
    const step = this.#steps.get(stepId);
    if (step !== undefined && step.visit === visit) return step.span;
    const at = startedAt ?? this.#now();
    const span = this.recorder.open('step', stepId, 'step', this.#runSpan, undefined, stepId, at, {
      visit,
    });
    if (step === undefined) this.#steps.set(stepId, { visit, span });
    else if (visit > step.visit) {
      step.visit = visit;
      step.span = span;
    }
    this.events.emit({ type: 'step.started', runId: this.#runId, stepId, at });
    return span;
  }

  // Decisions are told from inside the transition that took them: what the context says happened
  // before them in that transition (a step ended, the next one entered) is reported first.
  gated(context: WorkflowContext, stepId: string, decision: EdgeDecision): void {
    try {
      this.#onRoot(context);
      const slot = context.slots[stepId]!;
      const parent = this.#stepSpan(stepId, slot.visit, slot.startedAt);
      if (decision.passed) {
        const result = decision.result;
        this.#decision(stepId, 'gate', parent, stepId, 'success', undefined, {
          confidence: result.confidence,
          quality: result.quality,
        });
      } else {
        this.#decision(stepId, 'gate', parent, stepId, 'fallback', decision.fallback.reason, {
          fallback_status: decision.fallback.status,
        });
      }
    } catch (error) {
      safeReport(this.onError, error, 'the run tracer');
    }
  }

  refused(context: WorkflowContext, stepId: string, refusal: BreakerOpen): void {
    try {
      this.#onRoot(context);
      const slot = context.slots[stepId]!;
      const parent = this.#stepSpan(stepId, slot.visit, slot.startedAt);
      this.#decision(refusal.breaker, 'breaker', parent, stepId, 'fallback', refusal.reason, {
        'breaker.key': refusal.breaker,
        'breaker.state': refusal.state,
      });
    } catch (error) {
      safeReport(this.onError, error, 'the run tracer');
    }
  }

  /** A decision's span (`gate step`, `breaker key`): it takes no time, and has its attributes from the start (as `record`). */
  #decision(
    label: string,
    operation: 'gate' | 'breaker',
    parent: number,
    stepId: string,
    status: 'success' | 'fallback',
    reason: string | undefined,
    attributes: SpanAttributes,
  ): void {
    const at = this.#now();
    const span = this.recorder.open(operation, label, operation, parent, undefined, stepId, at, attributes);
    this.recorder.close(span, status, at, reason, undefined, attributes);
  }

  #onEscalation(snapshot: unknown): void {
    if (!isEscalationSnapshot(snapshot)) return;
    const c = snapshot.context;
    const step = this.#steps.get(c.stepId);
    this.#escalations ??= new EscalationSpans(this.recorder, this.events, this.#runId);
    this.#escalations.onSnapshot(
      c,
      (snapshot as { status?: string }).status,
      (snapshot as { output?: Parameters<EscalationSpans['onSnapshot']>[2] }).output,
      step !== undefined && step.visit === c.visit ? step.span : this.#runSpan,
    );
  }

  #agent(ref: AnyActorRef, snapshot: AnySnapshot, early: boolean): void {
    try {
      agentSnapshot(this, ref, snapshot, early);
    } catch (error) {
      safeReport(this.onError, error, 'the agent span adapter');
    }
  }

  #inspect(event: InspectionEvent): void {
    const ref = event.actorRef as AnyActorRef;
    // The workflow actor is the system's only actor without a parent.
    if (this.#root === undefined && !(ref as { _parent?: unknown })._parent) this.#root = ref;
    const type = event.type;
    if (type === '@xstate.snapshot') {
      const snapshot = event.snapshot as AnySnapshot;
      // The workflow is no agent: its snapshots go to the run's own spans only.
      if (ref === this.#root) {
        try {
          this.#onRoot((snapshot as unknown as { context: WorkflowContext }).context);
        } catch (error) {
          safeReport(this.onError, error, 'the run tracer');
        }
        return;
      }
      this.#agent(ref, snapshot, false);
      try {
        this.#onEscalation(snapshot);
      } catch (error) {
        safeReport(this.onError, error, 'the run tracer');
      }
      return;
    }
    // XState tells the parent a child is done before it reports the child's last snapshot. Report
    // that snapshot first — an agent's spans end, a review's decision is told — so events keep the
    // order of things, and a decision that ends the run is not lost when the run's end closes the
    // event stream. (Both ignore the late snapshot when it comes.)
    if (type !== '@xstate.event' || ref !== this.#root || !event.sourceRef) return;
    const eventType = event.event.type;
    if (!eventType.startsWith(DONE_ACTOR)) return;
    const source = event.sourceRef as AnyActorRef;
    const snapshot = source.getSnapshot() as AnySnapshot;
    if (eventType.startsWith(DONE_AGENT)) this.#agent(source, snapshot, true);
    else {
      try {
        this.#onEscalation(snapshot);
      } catch (error) {
        safeReport(this.onError, error, 'the run tracer');
      }
    }
  }

  finish(result: RunTerminal, context?: WorkflowContext): void {
    try {
      if (context) this.#onRoot(context);
      const status: SpanStatus =
        result.status === 'completed' ? 'success' : result.status === 'failed' ? 'error' : 'fallback';
      const reason = result.status === 'completed' ? undefined : result.reason;
      // Anything still open (a call cut short by cancel or the deadline) ends with the run.
      const cut = `the run ended: ${result.status}`;
      this.recorder.closeRunning(this.#runSpan, 'fallback', result.endedAt, cut);
      this.recorder.close(
        this.#runSpan,
        status as Exclude<SpanStatus, 'running'>,
        result.endedAt,
        reason ? reason : undefined,
        undefined,
        undefined,
      );
      this.events.emit(runCompletedEvent(this.#runId, result));
    } catch (error) {
      safeReport(this.onError, error, 'the run tracer');
    }
    this.events.close();
  }
}
