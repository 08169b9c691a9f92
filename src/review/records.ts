import type {
  EscalationContext,
  EscalationDecision,
  EscalationOutcome,
  NotifyFailure,
  ReviewStatus,
} from '../../machines/escalation-context.js';
import { escalationStatus } from '../../machines/escalation-context.js';
import { deepFreeze } from '../../machines/frozen.js';

// What the review API hands out: plain, frozen copies of an escalation actor's state.

/** A pending review as `list()` shows it. */
export interface PendingReview {
  /** The id to decide on: URL-safe, opaque (runId, stepId and visit are their own fields). */
  readonly reviewId: string;
  readonly runId: string;
  readonly stepId: string;
  /** Which visit of the step (a step in a loop may be reviewed once per visit). */
  readonly visit: number;
  readonly agentId: string;
  /** The output under review; null when there is none to approve (then edit or reject). */
  readonly output: unknown;
  readonly confidence: number;
  readonly reason: string;
  readonly trigger: EscalationContext['trigger'];
  /** What the run shows meanwhile, e.g. `[Pending human review — confidence 62%]`. */
  readonly placeholder: string;
  readonly openedAt: number;
  readonly expiresAt: number | null;
  readonly status: ReviewStatus;
  readonly notifyFailures: readonly NotifyFailure[];
}

/** A review that is over (`get(id)` remembers the most recent ones). */
export interface ClosedReview extends Omit<PendingReview, 'status'> {
  readonly status: EscalationDecision;
  readonly outcome: EscalationOutcome;
}

export type ReviewRecord = PendingReview | ClosedReview;

/** The parts of an escalation actor's snapshot the review API reads. */
export interface EscalationSnap {
  status: string;
  value: unknown;
  output?: EscalationOutcome;
  context: EscalationContext;
}

/** Whether a snapshot is an escalation statechart's (to recognise actors to track). */
export function isEscalationSnapshot(snapshot: unknown): snapshot is EscalationSnap {
  const c = (snapshot as { context?: Partial<EscalationContext> } | undefined)?.context;
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.reviewId === 'string' &&
    typeof c.placeholder === 'string' &&
    Array.isArray(c.notifyFailures) &&
    Array.isArray(c.refusals)
  );
}

/** A frozen deep copy: nothing handed out is shared with a live actor. */
export const frozenCopy = <T>(value: T): T => deepFreeze(structuredClone(value)) as T;

/** The record for an open review; reuses the parts of `previous` that cannot have changed. */
export function pendingRecord(snap: EscalationSnap, previous?: PendingReview): PendingReview {
  const c = snap.context;
  return Object.freeze({
    reviewId: c.reviewId,
    runId: c.runId,
    stepId: c.stepId,
    visit: c.visit,
    agentId: c.agentId,
    // The output never changes while a review is open: copy it once.
    output: previous ? previous.output : frozenCopy(c.output),
    confidence: c.confidence,
    reason: c.reason,
    trigger: c.trigger,
    placeholder: c.placeholder,
    openedAt: c.openedAt,
    expiresAt: c.expiresAt,
    status: escalationStatus(snap) === 'awaitingReview' ? 'awaitingReview' : 'notifying',
    notifyFailures:
      previous && previous.notifyFailures.length === c.notifyFailures.length
        ? previous.notifyFailures
        : frozenCopy(c.notifyFailures),
  });
}

/** Whether the record of an open review is out of date for this snapshot. */
export const isStale = (record: PendingReview, snap: EscalationSnap): boolean =>
  escalationStatus(snap) !== record.status ||
  snap.context.notifyFailures.length !== record.notifyFailures.length;

/** The record for a review whose actor reached a final state. */
export function closedRecord(snap: EscalationSnap, previous?: PendingReview): ClosedReview {
  const outcome = snap.output as EscalationOutcome;
  const { status: _, ...base } = previous ?? pendingRecord(snap);
  return Object.freeze({
    ...base,
    notifyFailures: frozenCopy(snap.context.notifyFailures),
    status: outcome.decision,
    outcome: frozenCopy(outcome),
  });
}
