// The human review API, as the runtime exposes it (`runtime.reviews`), and the helpers a workflow
// step needs to open a review.

export type { ReviewErrorCode } from './errors.js';
export { isReviewError, ReviewError } from './errors.js';
export type { EscalationHook, LineWriter } from './hook.js';
export { jsonLineHook } from './hook.js';
export type { ReviewConfig, ReviewOptions } from './options.js';
export { DEFAULT_REVIEW_THRESHOLD, parseReviewOptions } from './options.js';
export type { ClosedReview, PendingReview, ReviewRecord } from './records.js';
export { isEscalationSnapshot } from './records.js';
export type {
  CreateReviewsOptions,
  DecisionOptions,
  OpenedReview,
  OpenOptions,
  Reviews,
  ReviewsEvent,
} from './reviews.js';
export { createReviews } from './reviews.js';
export type { ReviewRequest, StepOutcome } from './trigger.js';
export { reviewTrigger } from './trigger.js';
export { schemaValidator } from './validate.js';
