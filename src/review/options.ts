import { z } from 'zod';
import { positiveDuration, TIMEOUT_POLICIES, type TimeoutPolicy } from '../../machines/escalation-options.js';
import { fail, number, parseOptions } from '../options.js';

/**
 * A step's `review` option, resolved. Defaults (one place, here):
 * - `below: 0.7` — the seed's threshold: an output with confidence under it goes to a human.
 * - `onFallback: true` — an agent fallback (timeout, max iterations, invalid output, failure, deadline)
 *   goes to a human too: its explicit text already says "escalating to human review". A cancelled
 *   call never escalates.
 * - `onBreakerOpen: false` — an open breaker means the agent is down for everyone; one review per
 *   run would flood the reviewers, so this is opt-in.
 * - `timeoutMs: null` — wait for a human indefinitely (the run stays paused).
 * - `onTimeout: 'fallback'` — when a timeout is set and passes, the step goes on with an explicit
 *   fallback; `'reject'` ends it as if a human had rejected it.
 */
export interface ReviewConfig {
  below: number;
  onFallback: boolean;
  onBreakerOpen: boolean;
  timeoutMs: number | null;
  onTimeout: TimeoutPolicy;
}

/** What a user may write in a step: `review: true` (all defaults) or an object. */
export type ReviewOptions =
  | boolean
  | {
      below?: number;
      onFallback?: boolean;
      onBreakerOpen?: boolean;
      timeoutMs?: number | null;
      onTimeout?: TimeoutPolicy;
    };

export const DEFAULT_REVIEW_THRESHOLD = 0.7;

const flag = () => z.boolean({ error: 'must be true or false' });

const ReviewObjectSchema = z
  .strictObject({
    below: number(0, 1, true).default(DEFAULT_REVIEW_THRESHOLD),
    onFallback: flag().default(true),
    onBreakerOpen: flag().default(false),
    timeoutMs: positiveDuration().nullable().default(null),
    onTimeout: z.enum(TIMEOUT_POLICIES, { error: 'must be "fallback" or "reject"' }).optional(),
  })
  .superRefine((o, ctx) => {
    // A policy for a timeout that can never happen is a mistake worth naming.
    if (o.onTimeout !== undefined && o.timeoutMs === null) {
      ctx.addIssue({
        code: 'custom',
        path: ['onTimeout'],
        input: o.onTimeout,
        message: 'has no effect without timeoutMs (set timeoutMs, or remove onTimeout)',
      });
    }
  });

// Nested under `review` so that errors name `review.below`, not `below`.
const ReviewSchema = z.strictObject({ review: ReviewObjectSchema });

/**
 * Validate a step's `review` option at definition time. `true` → every default; `false`, `null` or
 * `undefined` → null (no review). Throws an OptionsError naming the field and the value, e.g.
 * `defineWorkflow("report") step "writer": review.below must be a number above 0 and at most 1, received 0`.
 */
export function parseReviewOptions(value: unknown, where: string): ReviewConfig | null {
  if (value === undefined || value === null || value === false) return null;
  if (value !== true && (typeof value !== 'object' || Array.isArray(value))) {
    fail(
      where,
      'review',
      value,
      'must be true, false, or { below, onFallback, onBreakerOpen, timeoutMs, onTimeout }',
    );
  }
  const parsed = parseOptions(ReviewSchema, { review: value === true ? {} : value }, where).review;
  return Object.freeze({ ...parsed, onTimeout: parsed.onTimeout ?? 'fallback' });
}
