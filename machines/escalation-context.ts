import type { ValidationIssue } from './agent-result.js';
import type { EscalationTrigger, NotifyPolicy, TimeoutPolicy } from './escalation-options.js';
import { withItem } from './lists.js';

// The escalation statechart's plain-data side: its context, events, output and the pure functions over them.

export type HumanDecision = 'approved' | 'edited' | 'rejected';
export type EscalationDecision = HumanDecision | 'expired';
/** Where a review stands while it is open (`list()` shows these). */
export type ReviewStatus = 'notifying' | 'awaitingReview';

/** What the step does with the outcome: go on with `output`, go on with a fallback, or stop. */
export type Resolution = 'output' | 'fallback' | 'rejected';

export interface NotifyFailure {
  /** 1-based call of the hook. */
  attempt: number;
  at: number;
  reason: string;
}

/** A decision the machine refused; the review stays open. `requestId` lets a sender find its own. */
export interface Refusal {
  kind: 'invalidEdit' | 'nothingToApprove' | 'invalidDecision';
  requestId: string | null;
  by: string | null;
  at: number;
  reason: string;
  issues: ValidationIssue[];
}

/** Who decided and when, kept in context so the state log records it. */
export interface DecisionRecord {
  decision: EscalationDecision;
  /** Null for `expired`. */
  by: string | null;
  /** When the decision was made: the decider's `at` if given, else decidedAt; expiresAt for `expired`. */
  at: number;
  /** When the machine took it (its clock). */
  decidedAt: number;
  reason: string;
  requestId: string | null;
  /** The human's output, validated (edited only; the original stays in `output`). */
  editedOutput?: unknown;
}

export interface EscalationContext {
  /** An opaque id: nothing is parsed out of it; runId, stepId and visit are fields of their own. */
  reviewId: string;
  runId: string;
  stepId: string;
  visit: number;
  agentId: string;
  trigger: EscalationTrigger;
  /** The output under review (JSON copy); null when there is none to approve. */
  output: unknown;
  confidence: number;
  reason: string;
  /** What the run shows while it waits, e.g. `[Pending human review — confidence 62%]`. */
  placeholder: string;
  timeoutMs: number | null;
  onTimeout: TimeoutPolicy;
  notify: NotifyPolicy;
  /** Absolute times (the actor's clock), so timers can be re-armed after a restore. */
  openedAt: number;
  expiresAt: number | null;
  notifyAttempt: number;
  notifyAttemptEndsAt: number | null;
  nextNotifyAt: number | null;
  notifiedAt: number | null;
  notifyFailures: NotifyFailure[];
  /** The most recent refused decisions (bounded). */
  refusals: Refusal[];
  decided: DecisionRecord | null;
}

export interface DecisionFields {
  /** Who decides: a user name or id. Required. */
  by: string;
  /** When the human decided (e.g. a dashboard's timestamp); default: when the machine takes it. */
  at?: number;
  /** Chosen by the sender to recognise its own refusal or win (the review handle sets it). */
  requestId?: string;
}

export type EscalationEvent =
  | ({ type: 'review.approve' } & DecisionFields)
  | ({ type: 'review.edit'; output: unknown } & DecisionFields)
  | ({ type: 'review.reject'; reason: string } & DecisionFields)
  /** After restoring a persisted snapshot: re-arms the review and notify timers (XState does not). */
  | { type: 'restore' }
  /** Internal: raised on restore when the review is already past expiresAt. */
  | { type: 'escalation.expire' };

/** What the `notify` actor (the runtime's `onEscalation` hook) receives. */
export interface EscalationNotice {
  reviewId: string;
  runId: string;
  stepId: string;
  agentId: string;
  trigger: EscalationTrigger;
  confidence: number;
  reason: string;
  output: unknown;
  placeholder: string;
  openedAt: number;
  expiresAt: number | null;
  /** 1-based; with reviewId an idempotency key (a restored in-flight call runs again). */
  attempt: number;
}

/** Typed events for tracing and users: `actor.on('decided', …)`. */
export type EscalationEmitted =
  | {
      type: 'escalated';
      reviewId: string;
      runId: string;
      stepId: string;
      agentId: string;
      trigger: EscalationTrigger;
      confidence: number;
      reason: string;
      openedAt: number;
      expiresAt: number | null;
    }
  | { type: 'notified'; reviewId: string; attempt: number; at: number }
  | {
      type: 'notifyFailed';
      reviewId: string;
      attempt: number;
      at: number;
      reason: string;
      /** When false, the hook is not called again; the review still waits for a human. */
      willRetry: boolean;
      nextAttemptAt: number | null;
    }
  | ({ type: 'refused'; reviewId: string } & Omit<Refusal, 'requestId'>)
  | {
      type: 'decided';
      reviewId: string;
      decision: HumanDecision;
      by: string;
      at: number;
      decidedAt: number;
    }
  | { type: 'expired'; reviewId: string; at: number; decidedAt: number; onTimeout: TimeoutPolicy };

export interface OutcomeBase {
  reviewId: string;
  runId: string;
  stepId: string;
  agentId: string;
  trigger: EscalationTrigger;
  reason: string;
  at: number;
  openedAt: number;
  decidedAt: number;
  /** Whether the hook succeeded before the decision. */
  notified: boolean;
  notifyFailures: NotifyFailure[];
}

/** The output of every final state of the escalation statechart. */
export type EscalationOutcome =
  | (OutcomeBase & {
      decision: 'approved' | 'edited';
      resolution: 'output';
      /** approved: the original output; edited: the human's, validated. */
      output: unknown;
      by: string;
    })
  | (OutcomeBase & {
      decision: 'rejected';
      resolution: 'rejected';
      by: string;
      /** Explicit text for the step instead of an output. */
      content: string;
    })
  | (OutcomeBase & {
      decision: 'expired';
      /** The step's declared `onTimeout` policy. */
      resolution: 'fallback' | 'rejected';
      by: null;
      content: string;
    });

export const REVIEW_REJECTED_CONTENT = '[Rejected in human review]';
export const REVIEW_EXPIRED_CONTENT = '[Review expired — no human decision]';

/** The most refusals kept in context (the newest win). */
export const MAX_REFUSALS = 20;
/** The most notify failures kept in context (the newest win). */
export const MAX_NOTIFY_FAILURES = 100;

/**
 * What a run shows while a review is pending, in the seed's form: `[Pending human review — confidence
 * 62%]`. The percent is rounded down, so an output just under a 70% threshold never reads "70%".
 */
export function pendingContent(confidence: number, trigger: EscalationTrigger = 'lowConfidence'): string {
  if (trigger === 'breakerOpen') return '[Pending human review — circuit open, agent not called]';
  const finite = Number.isFinite(confidence) ? Math.min(1, Math.max(0, confidence)) : 0;
  // The epsilon keeps 0.29 → 29 (0.29 × 100 is 28.999…).
  const percent = Math.floor(finite * 100 + 1e-9);
  if (trigger === 'fallback') {
    return percent > 0
      ? `[Pending human review — agent fallback, candidate confidence ${percent}%]`
      : '[Pending human review — agent fallback, no usable output]';
  }
  return `[Pending human review — confidence ${percent}%]`;
}

/** A bounded append: the newest `max` items. */
export function appendBounded<T>(list: readonly T[], item: T, max: number): T[] {
  const next = withItem(list, item);
  return next.length > max ? next.slice(next.length - max) : next;
}

/** The hook's input for the current attempt; the output is a copy, so a hook cannot change the review. */
export function noticeOf(c: EscalationContext): EscalationNotice {
  return {
    reviewId: c.reviewId,
    runId: c.runId,
    stepId: c.stepId,
    agentId: c.agentId,
    trigger: c.trigger,
    confidence: c.confidence,
    reason: c.reason,
    output: c.output === null ? null : structuredClone(c.output),
    placeholder: c.placeholder,
    openedAt: c.openedAt,
    expiresAt: c.expiresAt,
    attempt: c.notifyAttempt,
  };
}

export function buildOutcome(c: EscalationContext): EscalationOutcome {
  const d: DecisionRecord = c.decided ?? {
    // Only reachable if the machine were stopped in a final state it never entered; keep the type total.
    decision: 'expired',
    by: null,
    at: c.openedAt,
    decidedAt: c.openedAt,
    reason: 'ended without a decision',
    requestId: null,
  };
  const base: OutcomeBase = {
    reviewId: c.reviewId,
    runId: c.runId,
    stepId: c.stepId,
    agentId: c.agentId,
    trigger: c.trigger,
    reason: d.reason,
    at: d.at,
    openedAt: c.openedAt,
    decidedAt: d.decidedAt,
    notified: c.notifiedAt !== null,
    notifyFailures: c.notifyFailures,
  };
  switch (d.decision) {
    case 'approved':
      return { ...base, decision: 'approved', resolution: 'output', output: c.output, by: d.by ?? '' };
    case 'edited':
      return { ...base, decision: 'edited', resolution: 'output', output: d.editedOutput, by: d.by ?? '' };
    case 'rejected':
      return {
        ...base,
        decision: 'rejected',
        resolution: 'rejected',
        by: d.by ?? '',
        content: REVIEW_REJECTED_CONTENT,
      };
    case 'expired':
      return {
        ...base,
        decision: 'expired',
        resolution: c.onTimeout === 'fallback' ? 'fallback' : 'rejected',
        by: null,
        content: REVIEW_EXPIRED_CONTENT,
      };
  }
}

/** A snapshot's review status, or its decision once final. Works on persisted snapshots too. */
export function escalationStatus(snapshot: {
  status: string;
  value: unknown;
  context: Pick<EscalationContext, 'decided'>;
}): ReviewStatus | EscalationDecision | 'stopped' {
  if (snapshot.status === 'done' && snapshot.context.decided) return snapshot.context.decided.decision;
  if (snapshot.status !== 'active') return 'stopped';
  const review = (snapshot.value as { open?: { review?: unknown } }).open?.review;
  return review === 'awaitingReview' ? 'awaitingReview' : 'notifying';
}
