import type { AnyActorRef, Snapshot } from 'xstate';
import { type AgentContext, keyOf } from '../../machines/agent-context.js';
import type { AgentResult, AttemptOutcome, AttemptRecord } from '../../machines/agent-result.js';
import { now } from '../../machines/clock.js';
import { describeError } from '../../machines/untrusted.js';
import type { EventSink, RunEvent, RunEventOf } from './events.js';
import { type ObserverErrorHandler, safeReport } from './report.js';
import type { SpanAttributes, SpanEnd } from './span.js';
import type { SpanWriter } from './span-writer.js';
import type { SpanRef } from './tracer.js';

/**
 * Agent and attempt spans, derived from XState's inspection stream (not by wrapping user code),
 * for a host that says where they go: the run observer, or the `agentSpans` adapter
 * (agent-spans-adapter.ts).
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

/** One agent actor's open spans. */
export interface Tracked {
  recorder: SpanWriter;
  /** The context last handled: a snapshot with the same one changes no span. */
  context: AgentContext;
  events: EventSink<RunEvent> | undefined;
  agentSpan: SpanRef;
  /** The open attempt (0: none) and its span: one at a time, as attempts run. */
  attempt: number;
  attemptSpan: SpanRef;
  /** Further open attempts (a record never seen open, restored): rare, so made only then. */
  more: Map<number, SpanRef> | null;
  /** Highest attempt number a span was opened for. */
  opened: number;
  /** How many records of `context.attempts` were handled. */
  closed: number;
}

/**
 * The actor's spans are closed from its last snapshot, taken early (see `agentSnapshot`): the same
 * snapshot, when XState reports it, is ignored.
 */
export const ENDED = Symbol('ended');

/** What the table holds for an agent actor: null = seen, not recorded (nobody records it). */
export type TrackedEntry = Tracked | null | typeof ENDED;

/**
 * Where an agent's spans and events go, asked once, at the agent's first snapshot: the run observer
 * answers for its run, `agentSpans` from its options.
 */
export interface AgentHost {
  /**
   * The agent actors in flight, and those whose last snapshot was taken early. An actor is dropped
   * when it ends: after its last snapshot XState reports none, so the table holds only live agents.
   */
  tracked(ref: AnyActorRef): TrackedEntry | undefined;
  track(ref: AnyActorRef, entry: TrackedEntry): void;
  untrack(ref: AnyActorRef): void;
  readonly onError: ObserverErrorHandler;
  /** Undefined: the agent is not recorded. */
  agentRecorder(ref: AnyActorRef, context: AgentContext): SpanWriter | undefined;
  agentEvents(ref: AnyActorRef, context: AgentContext): EventSink<RunEvent> | undefined;
  agentParent(ref: AnyActorRef, context: AgentContext): SpanRef | null;
}

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

// Callers check `t.events` first, so no event object is built when nobody listens.
function emit(host: AgentHost, sink: EventSink<RunEvent>, event: RunEvent): void {
  try {
    sink.emit(event);
  } catch (error) {
    safeReport(host.onError, error, 'a run event sink');
  }
}

function begin(host: AgentHost, ref: AnyActorRef, context: AgentContext): Tracked | null {
  const recorder = host.agentRecorder(ref, context);
  if (!recorder) return null;
  const events = host.agentEvents(ref, context);
  const parent = host.agentParent(ref, context);
  const attributes: SpanAttributes = {
    run_id: context.runId,
    max_iterations: context.limits.maxIterations,
    attempt_timeout_ms: context.limits.attemptTimeoutMs,
  };
  if (context.limits.deadlineMs !== null) attributes.deadline_ms = context.limits.deadlineMs;
  const agentSpan = recorder.open(
    'agent',
    context.agentId,
    'agent',
    parent,
    context.agentId,
    context.stepId,
    context.startedAt,
    attributes,
  );
  const t: Tracked = {
    recorder,
    context,
    events,
    agentSpan,
    attempt: 0,
    attemptSpan: 0,
    more: null,
    opened: 0,
    closed: 0,
  };
  if (events) {
    const { runId, agentId, stepId } = context;
    emit(host, events, { type: 'agent.started', runId, stepId, agentId, at: context.startedAt });
  }
  return t;
}

function openAttempt(
  host: AgentHost,
  t: Tracked,
  context: AgentContext,
  attempt: number,
  startedAt: number,
): SpanRef {
  const idempotencyKey = keyOf(context, attempt);
  const spanId = t.recorder.open(
    'attempt',
    attempt,
    'attempt',
    t.agentSpan,
    context.agentId,
    context.stepId,
    startedAt,
    { attempt, idempotency_key: idempotencyKey },
  );
  if (t.attempt !== 0) {
    t.more ??= new Map();
    t.more.set(t.attempt, t.attemptSpan);
  }
  t.attempt = attempt;
  t.attemptSpan = spanId;
  t.opened = Math.max(t.opened, attempt);
  if (t.events) {
    const { runId, agentId, stepId } = context;
    emit(host, t.events, {
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

/** The open span of `attempt`, taken out of the open ones; undefined if it is not open. */
function takeOpen(t: Tracked, attempt: number): SpanRef | undefined {
  if (t.attempt === attempt) {
    const spanId = t.attemptSpan;
    t.attempt = 0;
    t.attemptSpan = 0;
    return spanId;
  }
  const spanId = t.more?.get(attempt);
  if (spanId !== undefined) t.more!.delete(attempt);
  return spanId;
}

function closeAttempt(host: AgentHost, t: Tracked, context: AgentContext, record: AttemptRecord): void {
  // A record for an attempt never seen open (e.g. restored from a snapshot) still gets its span.
  let spanId = takeOpen(t, record.attempt);
  if (spanId === undefined) {
    openAttempt(host, t, context, record.attempt, record.startedAt);
    spanId = takeOpen(t, record.attempt)!;
  }
  const attributes: SpanAttributes = { outcome: record.outcome, idempotency_key: record.idempotencyKey };
  if (record.confidence !== undefined) attributes.confidence = record.confidence;
  if (record.bytes !== undefined) attributes.bytes = record.bytes;
  // Token usage reported by the agent (withAttemptMeta), under the GenAI semantic-convention names.
  const usage = record.usage;
  if (usage?.inputTokens !== undefined) attributes['gen_ai.usage.input_tokens'] = usage.inputTokens;
  if (usage?.outputTokens !== undefined) attributes['gen_ai.usage.output_tokens'] = usage.outputTokens;
  if (record.issues !== undefined) attributes.issues = record.issues.length;
  t.recorder.close(
    spanId,
    SUCCESSFUL.has(record.outcome) ? 'success' : 'error',
    record.endedAt,
    record.reason,
    record.error,
    attributes,
  );
  if (t.events) {
    const { runId, agentId, stepId } = context;
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
    emit(host, t.events, event);
  }
}

/** End whatever is still open when the actor ends without closing it (stopped, or an actor error). */
function abandon(t: Tracked, at: number, end: SpanEnd): void {
  const reason = end.reason ?? 'the agent call ended while this attempt was open';
  // Oldest first, as they were opened.
  if (t.more)
    for (const spanId of t.more.values()) t.recorder.close(spanId, 'error', at, reason, undefined, undefined);
  if (t.attempt !== 0) t.recorder.close(t.attemptSpan, 'error', at, reason, undefined, undefined);
  t.attempt = 0;
  t.attemptSpan = 0;
  t.more = null;
  t.recorder.close(t.agentSpan, end.status, at, end.reason, end.error, end.attributes);
}

function finish(host: AgentHost, t: Tracked, context: AgentContext, result: AgentResult): void {
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
  const { runId, agentId, stepId } = context;
  emit(host, t.events, {
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
    emit(host, t.events, {
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

/**
 * One snapshot of an actor that may be an agent: opens and closes its spans. `early`: the actor's
 * last snapshot, taken when its parent was told it is done, before XState reports it (it is then
 * ignored). Throws only on a bug of this adapter or a throwing host; callers contain it.
 */
export function agentSnapshot(
  host: AgentHost,
  ref: AnyActorRef,
  snapshot: Snapshot<unknown> & { context?: unknown },
  early = false,
): void {
  // Cheap checks first: most snapshots are not an agent's (the workflow, each attempt's promise),
  // and an active one that is not agent-shaped can open or close nothing.
  const active = snapshot.status === 'active';
  const context = isAgentContext(snapshot.context) ? snapshot.context : undefined;
  if (active && context === undefined) return;
  let t = host.tracked(ref);
  if (t === ENDED) {
    host.untrack(ref);
    return;
  }
  if (t === undefined) {
    // An actor never seen as an agent (a promise's last snapshot) has nothing to close: not kept.
    if (context === undefined) return;
    t = begin(host, ref, context);
    host.track(ref, t);
  } else if (t !== null && active && context === t.context) {
    return; // nothing changed since the last snapshot
  }
  if (t === null) {
    if (!active) ended(host, ref, early);
    return;
  }
  // An error snapshot may lack context; the last one we saw is what we have then.
  if (context) {
    t.context = context;
    for (; t.closed < context.attempts.length; t.closed++)
      closeAttempt(host, t, context, context.attempts[t.closed]!);
    // Opened after closing: one macrostep can close attempt n and begin attempt n + 1.
    if (context.inFlight && context.attempt > t.opened) {
      openAttempt(host, t, context, context.attempt, context.attemptStartedAt);
    }
  }
  switch (snapshot.status) {
    case 'active':
      return;
    case 'done':
      if (context) finish(host, t, context, (snapshot as { output: AgentResult }).output);
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
  ended(host, ref, early);
}

/** An agent's last snapshot was handled: forget it, or, if it was taken early, wait for its report. */
function ended(host: AgentHost, ref: AnyActorRef, early: boolean): void {
  if (early) host.track(ref, ENDED);
  else host.untrack(ref);
}
