import type { AnyActorRef, InspectionEvent, Snapshot } from 'xstate';
import { type AgentContext, keyOf } from '../../machines/agent-context.js';
import type { AgentResult, AttemptOutcome, AttemptRecord } from '../../machines/agent-result.js';
import { now } from '../../machines/clock.js';
import { describeError } from '../../machines/untrusted.js';
import type { EventSink, RunEvent, RunEventOf } from './events.js';
import { type ObserverErrorHandler, reportOncePerSource, safeReport } from './report.js';
import type { SpanAttributes, SpanEnd } from './span.js';
import type { TraceRecorder } from './tracer.js';

/**
 * Spans for agent actors, derived from XState's inspection stream (not by wrapping user code):
 *
 *   const observer = agentSpans({ recorder, parentOf: (agent) => stepSpanOf(agent) });
 *   createActor(machine, { inspect: observer });
 *
 * An actor is an agent when its snapshot context has the agent statechart's shape. Everything is
 * read from `@xstate.snapshot` events, and times come from the context (the actor system's clock):
 *
 * - `agent` span: from `context.startedAt` until the snapshot is done, ended with the AgentResult:
 *   success, or fallback (every typed fallback, `cancelled` included) with its reason, confidence,
 *   quality and status as attributes. An actor stopped from outside (its parent left the state, the
 *   run was stopped) ends as a fallback too: it produced no result. An actor error (a bug, never an
 *   agent failure) ends it as `error`.
 * - `attempt` span: opens when `context.attempt` increments (start = `attemptStartedAt`) and ends
 *   when its record appears in `context.attempts`. `valid` and `notDone` (a valid output that asked
 *   for another iteration: refinement, not failure) are success; `invalid`, `threw`, `timedOut`,
 *   `deadline` and `cancelled` are error, with the record's reason and normalised error.
 *
 * Progress events (agent.started/finished, attempt.started/finished, fallback) go to `events`.
 * Nothing here can break the run: the observer catches its own failures and reports them.
 */

/** What the callbacks get to decide where an agent's spans and events go. */
export interface AgentActorInfo {
  ref: AnyActorRef;
  context: AgentContext;
}

export interface AgentSpansOptions {
  /** Where the spans go: one recorder, or one per agent actor (e.g. by `context.runId`); undefined skips it. */
  recorder: TraceRecorder | ((agent: AgentActorInfo) => TraceRecorder | undefined);
  /** The agent span's parent, e.g. its step's span. Default: the recorder's root span (the run), else none. */
  parentOf?: (agent: AgentActorInfo) => string | null | undefined;
  /** Progress events go here too. */
  events?: EventSink<RunEvent> | ((agent: AgentActorInfo) => EventSink<RunEvent> | undefined);
  /** Failures of this adapter or of the event sink. Default: console.error once per source. */
  onError?: ObserverErrorHandler;
}

interface Tracked {
  recorder: TraceRecorder;
  /** The context last handled: a snapshot with the same one changes no span. */
  context: AgentContext;
  events: EventSink<RunEvent> | undefined;
  agentSpanId: string;
  /** Attempt number → open span id. */
  open: Map<number, string>;
  /** Highest attempt number a span was opened for. */
  opened: number;
  /** How many records of `context.attempts` were handled. */
  closed: number;
}

const ENDED = Symbol('ended');

const SUCCESSFUL: ReadonlySet<AttemptOutcome> = new Set(['valid', 'notDone']);

export function isAgentContext(context: unknown): context is AgentContext {
  const c = context as Partial<AgentContext> | null;
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.agentId === 'string' &&
    typeof c.stepId === 'string' &&
    typeof c.runId === 'string' &&
    typeof c.attempt === 'number' &&
    typeof c.startedAt === 'number' &&
    Array.isArray(c.attempts)
  );
}

export function agentSpans(options: AgentSpansOptions): (event: InspectionEvent) => void {
  const onError = options.onError ?? reportOncePerSource();
  // null: seen, not recorded (nobody records it); ENDED: its spans are closed, later snapshots are
  // ignored. A WeakMap, so finished actors are collected.
  const tracked = new WeakMap<AnyActorRef, Tracked | null | typeof ENDED>();

  // Callers check `t.events` first, so no event object is built when nobody listens.
  const emit = (sink: EventSink<RunEvent>, event: RunEvent) => {
    try {
      sink.emit(event);
    } catch (error) {
      safeReport(onError, error, 'a run event sink');
    }
  };

  function begin(ref: AnyActorRef, context: AgentContext): Tracked | null {
    const info = { ref, context };
    const recorder = typeof options.recorder === 'function' ? options.recorder(info) : options.recorder;
    if (!recorder) return null;
    const events = typeof options.events === 'function' ? options.events(info) : options.events;
    const parent = options.parentOf ? options.parentOf(info) : undefined;
    const attributes: SpanAttributes = {
      run_id: context.runId,
      max_iterations: context.limits.maxIterations,
      attempt_timeout_ms: context.limits.attemptTimeoutMs,
    };
    if (context.limits.deadlineMs !== null) attributes.deadline_ms = context.limits.deadlineMs;
    const agentSpanId = recorder.start({
      name: `agent ${context.agentId}`,
      operation: 'agent',
      parentSpanId: parent === undefined ? recorder.rootSpanId() : parent,
      agentId: context.agentId,
      stepId: context.stepId,
      startedAt: context.startedAt,
      attributes,
    });
    const t: Tracked = { recorder, context, events, agentSpanId, open: new Map(), opened: 0, closed: 0 };
    if (t.events) {
      const { runId, agentId } = context;
      const stepId = context.stepId;
      emit(t.events, { type: 'agent.started', runId, stepId, agentId, at: context.startedAt });
    }
    return t;
  }

  function openAttempt(t: Tracked, context: AgentContext, attempt: number, startedAt: number): string {
    const spanId = t.recorder.start({
      name: `attempt ${attempt}`,
      operation: 'attempt',
      parentSpanId: t.agentSpanId,
      agentId: context.agentId,
      stepId: context.stepId,
      startedAt,
      attributes: { attempt, idempotency_key: keyOf(context, attempt) },
    });
    t.open.set(attempt, spanId);
    t.opened = Math.max(t.opened, attempt);
    if (t.events) {
      const { runId, agentId } = context;
      const stepId = context.stepId;
      const idempotencyKey = keyOf(context, attempt);
      emit(t.events, {
        type: 'attempt.started',
        runId,
        stepId,
        agentId,
        at: startedAt,
        attempt,
        idempotencyKey,
      });
    }
    return spanId;
  }

  function closeAttempt(t: Tracked, context: AgentContext, record: AttemptRecord): void {
    // A record for an attempt never seen open (e.g. restored from a snapshot) still gets its span.
    const spanId = t.open.get(record.attempt) ?? openAttempt(t, context, record.attempt, record.startedAt);
    t.open.delete(record.attempt);
    const attributes: SpanAttributes = { outcome: record.outcome, idempotency_key: record.idempotencyKey };
    if (record.confidence !== undefined) attributes.confidence = record.confidence;
    if (record.bytes !== undefined) attributes.bytes = record.bytes;
    // Token usage reported by the agent (withAttemptMeta), under the GenAI semantic-convention names.
    const usage = record.usage;
    if (usage?.inputTokens !== undefined) attributes['gen_ai.usage.input_tokens'] = usage.inputTokens;
    if (usage?.outputTokens !== undefined) attributes['gen_ai.usage.output_tokens'] = usage.outputTokens;
    if (record.issues !== undefined) attributes.issues = record.issues.length;
    const end: SpanEnd = {
      status: SUCCESSFUL.has(record.outcome) ? 'success' : 'error',
      endedAt: record.endedAt,
      attributes,
    };
    if (record.reason !== undefined) end.reason = record.reason;
    if (record.error !== undefined) end.error = record.error;
    t.recorder.end(spanId, end);
    if (t.events) {
      const { runId, agentId } = context;
      const stepId = context.stepId;
      const { attempt, outcome, durationMs } = record;
      const event: RunEventOf<'attempt.finished'> = {
        type: 'attempt.finished',
        runId,
        stepId,
        agentId,
        at: record.endedAt,
        attempt,
        outcome,
        durationMs,
      };
      if (record.reason !== undefined) event.reason = record.reason;
      if (record.confidence !== undefined) event.confidence = record.confidence;
      emit(t.events, event);
    }
  }

  /** End whatever is still open when the actor ends without closing it (stopped, or an actor error). */
  function abandon(t: Tracked, at: number, end: SpanEnd): void {
    const reason = end.reason ?? 'the agent call ended while this attempt was open';
    for (const spanId of t.open.values()) t.recorder.end(spanId, { status: 'error', endedAt: at, reason });
    t.open.clear();
    end.endedAt = at;
    t.recorder.end(t.agentSpanId, end);
  }

  function finish(t: Tracked, context: AgentContext, result: AgentResult): void {
    const end: SpanEnd = {
      status: result.fallback ? 'fallback' : 'success',
      attributes: {
        agent_status: result.status,
        confidence: result.confidence,
        quality: result.quality,
        attempts: result.attempts.length,
        fallback: result.fallback,
      },
    };
    if (result.fallback) end.reason = result.reason;
    abandon(t, result.endedAt, end);
    if (!t.events) return;
    const { runId, agentId } = context;
    const stepId = context.stepId;
    emit(t.events, {
      type: 'agent.finished',
      runId,
      stepId,
      agentId,
      at: result.endedAt,
      status: result.status,
      fallback: result.fallback,
      confidence: result.confidence,
      quality: result.quality,
      attempts: result.attempts.length,
      durationMs: result.durationMs,
      reason: result.reason,
    });
    if (result.fallback) {
      emit(t.events, {
        type: 'fallback',
        runId,
        stepId,
        agentId,
        at: result.endedAt,
        source: 'agent',
        status: result.status,
        reason: result.reason,
        content: result.content,
      });
    }
  }

  function onSnapshot(ref: AnyActorRef, snapshot: Snapshot<unknown> & { context?: unknown }): void {
    // Cheap checks first: most snapshots are not an agent's (the workflow, each attempt's promise),
    // and an active one that is not agent-shaped can open or close nothing.
    const active = snapshot.status === 'active';
    const context = isAgentContext(snapshot.context) ? snapshot.context : undefined;
    if (active && context === undefined) return;
    let t = tracked.get(ref);
    if (t === ENDED) return;
    if (t === undefined) {
      t = context ? begin(ref, context) : null;
      tracked.set(ref, t);
    } else if (t !== null && active && context === t.context) {
      return; // nothing changed since the last snapshot
    }
    if (t === null) return;
    // An error snapshot may lack context; the last one we saw is what we have then.
    if (context) {
      t.context = context;
      for (; t.closed < context.attempts.length; t.closed++)
        closeAttempt(t, context, context.attempts[t.closed]!);
      // Opened after closing: one macrostep can close attempt n and begin attempt n + 1.
      if (context.inFlight && context.attempt > t.opened) {
        openAttempt(t, context, context.attempt, context.attemptStartedAt);
      }
    }
    switch (snapshot.status) {
      case 'active':
        return;
      case 'done':
        if (context) finish(t, context, (snapshot as { output: AgentResult }).output);
        else abandon(t, now(ref.system), { status: 'error', reason: 'finished without a context' });
        break;
      case 'stopped':
        abandon(t, now(ref.system), {
          status: 'fallback',
          reason: 'stopped before it finished',
          attributes: { agent_status: 'stopped' },
        });
        break;
      case 'error': {
        const error = describeError((snapshot as { error?: unknown }).error);
        abandon(t, now(ref.system), { status: 'error', reason: `${error.name}: ${error.message}`, error });
        break;
      }
    }
    tracked.set(ref, ENDED);
  }

  return (event) => {
    if (event.type !== '@xstate.snapshot') return;
    try {
      onSnapshot(event.actorRef as AnyActorRef, event.snapshot as Snapshot<unknown> & { context?: unknown });
    } catch (error) {
      safeReport(onError, error, 'the agent span adapter');
    }
  };
}
