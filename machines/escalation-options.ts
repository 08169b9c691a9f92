import { z } from 'zod';
import { MAX_TIMER_MS } from './clock.js';

/**
 * The escalation statechart's input and the notify (hook) policy. Every default lives here, once, as a
 * `.default()`; the machine parses its input through this schema and src/review reuses the parts.
 * The parsed values are plain JSON, so they sit in the machine's context and persist with it.
 */

/** Why a human is asked: a low-confidence output, an agent fallback, or an open breaker. */
export const TRIGGERS = ['lowConfidence', 'fallback', 'breakerOpen'] as const;
export type EscalationTrigger = (typeof TRIGGERS)[number];

/** What an expired review ends in: an explicit fallback the run goes on with, or a rejection. */
export const TIMEOUT_POLICIES = ['fallback', 'reject'] as const;
export type TimeoutPolicy = (typeof TIMEOUT_POLICIES)[number];

const durationMessage = `must be an integer number of milliseconds from 0 to ${MAX_TIMER_MS}`;
export const duration = () =>
  z
    .int({ error: durationMessage })
    .min(0, { error: durationMessage })
    .max(MAX_TIMER_MS, { error: durationMessage });

const positiveDurationMessage = `must be an integer number of milliseconds from 1 to ${MAX_TIMER_MS}`;
export const positiveDuration = () =>
  z
    .int({ error: positiveDurationMessage })
    .min(1, { error: positiveDurationMessage })
    .max(MAX_TIMER_MS, { error: positiveDurationMessage });

export const timeoutPolicy = () =>
  z.enum(TIMEOUT_POLICIES, { error: 'must be "fallback" or "reject"' }).default('fallback');

/** How the `onEscalation` hook is called: each attempt bounded, failures retried with backoff. */
export const notifyPolicyShape = {
  /** Calls of the hook before giving up (the review still waits for a human). */
  maxAttempts: z
    .int({ error: 'must be an integer from 1 to 100' })
    .min(1, { error: 'must be an integer from 1 to 100' })
    .max(100, { error: 'must be an integer from 1 to 100' })
    .default(3),
  /** Bound on one call, so a hanging hook cannot hang the review. */
  attemptTimeoutMs: positiveDuration().default(10_000),
  /** Wait before the second call; each further wait is `factor` times longer, up to maxDelayMs. */
  initialDelayMs: duration().default(1_000),
  factor: z
    .number({ error: 'must be a number from 1 to 100' })
    .min(1, { error: 'must be a number from 1 to 100' })
    .max(100, { error: 'must be a number from 1 to 100' })
    .default(2),
  maxDelayMs: duration().default(30_000),
};

export const NotifyPolicySchema = z.strictObject(notifyPolicyShape).superRefine((p, ctx) => {
  if (p.maxDelayMs < p.initialDelayMs) {
    ctx.addIssue({
      code: 'custom',
      path: ['maxDelayMs'],
      input: p.maxDelayMs,
      message: `must be at least initialDelayMs (${p.initialDelayMs})`,
    });
  }
});

export type NotifyPolicyOptions = z.input<typeof NotifyPolicySchema>;
export type NotifyPolicy = z.output<typeof NotifyPolicySchema>;

const text = () => z.string({ error: 'must be a non-empty string' }).min(1, 'must be a non-empty string');

export const EscalationInputSchema = z.strictObject({
  /** Unique per review; the id humans decide on. */
  reviewId: text(),
  runId: text(),
  stepId: text(),
  /** Which visit of the step (a step in a loop is visited again): with stepId, where the review belongs. */
  visit: z.int({ error: 'must be an integer ≥ 1' }).min(1, { error: 'must be an integer ≥ 1' }).default(1),
  agentId: text(),
  /** The output under review (JSON data); null or absent when there is none (a fallback, an open breaker). */
  output: z.unknown().optional(),
  confidence: z
    .number({ error: 'must be a number from 0 to 1' })
    .min(0, { error: 'must be a number from 0 to 1' })
    .max(1, { error: 'must be a number from 0 to 1' }),
  /** Why the review was opened, as a sentence. */
  reason: text(),
  trigger: z.enum(TRIGGERS, { error: 'must be "lowConfidence", "fallback" or "breakerOpen"' }),
  /** Measured from when the review is opened; null = wait for a human indefinitely. */
  timeoutMs: positiveDuration().nullable().default(null),
  onTimeout: timeoutPolicy(),
  notify: NotifyPolicySchema.default(NotifyPolicySchema.parse({})),
});

/** What whoever starts an escalation passes as its input. */
export type EscalationInput = z.input<typeof EscalationInputSchema>;
export type EscalationConfig = z.output<typeof EscalationInputSchema>;
