import type { ValidationIssue } from '../../machines/agent-result.js';
import type { EscalationOutcome, Refusal } from '../../machines/escalation-context.js';
import { describeError, safeText } from '../../machines/untrusted.js';
import { formatValue } from '../errors.js';

export type ReviewErrorCode =
  /** No review with this id is pending or remembered (never opened, or stopped with its run). */
  | 'unknownReview'
  /** The review was already decided (or expired); `outcome` says how and by whom. */
  | 'alreadyDecided'
  /** The edited output failed validation; `issues` says why. The review stays pending. */
  | 'invalidEdit'
  /** The review has no output to approve (an agent fallback, an open breaker): edit or reject it. */
  | 'nothingToApprove'
  /** The decision itself is malformed: no `by`, an empty rejection reason, a bad `at`. */
  | 'invalidDecision';

/**
 * A decision that was not taken. Thrown (as a rejected promise) by `reviews.approve / edit / reject`;
 * check with `isReviewError(e) && e.code === '…'`. The review stays pending unless the code is
 * `alreadyDecided`.
 */
export class ReviewError extends Error {
  readonly isReviewError = true;
  override readonly name = 'ReviewError';
  constructor(
    readonly code: ReviewErrorCode,
    readonly reviewId: string,
    message: string,
    /** For `invalidEdit`: the validation issues. */
    readonly issues: readonly ValidationIssue[] = [],
    /** For `alreadyDecided`: the decision that won. */
    readonly outcome?: EscalationOutcome,
  ) {
    super(message);
  }
}

export const isReviewError = (e: unknown): e is ReviewError =>
  typeof e === 'object' && e !== null && (e as { isReviewError?: unknown }).isReviewError === true;

// The errors the review API raises, worded in one place.

export const unknownReview = (id: unknown): ReviewError =>
  new ReviewError(
    'unknownReview',
    safeText(id),
    `no pending review ${formatValue(id)} (unknown id, or stopped with its run before a decision)`,
  );

/** A decision whose arguments could not even be read (a throwing getter, a hostile Proxy). */
export const unreadableDecision = (id: unknown, error: unknown): ReviewError =>
  new ReviewError(
    'invalidDecision',
    safeText(id),
    `review ${formatValue(id)}: the decision could not be read (${describeError(error).message})`,
  );

export function alreadyDecided(id: string, outcome: EscalationOutcome): ReviewError {
  const how =
    outcome.decision === 'expired'
      ? `expired at ${outcome.at} (${outcome.reason})`
      : `${outcome.decision} by ${outcome.by} at ${outcome.at}`;
  return new ReviewError('alreadyDecided', id, `review "${id}" was already ${how}`, [], outcome);
}

export function refused(id: string, refusal: Refusal): ReviewError {
  const what = refusal.kind === 'invalidEdit' ? 'the edit is invalid: ' : '';
  const suffix = refusal.kind === 'invalidDecision' ? '' : ' (the review stays pending)';
  return new ReviewError(
    refusal.kind,
    id,
    `review "${id}": ${what}${refusal.reason}${suffix}`,
    refusal.issues,
  );
}
