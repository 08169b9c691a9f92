import { z } from 'zod';

/**
 * The breaker's and gate's options. Every default lives here, once, as a `.default()`; the machine
 * and the src/ handle both parse through this schema. The output is plain JSON, so it can sit in
 * the machine's context and be persisted with it.
 */

import { MAX_TIMER_MS } from './clock.js';

const count = () => z.int({ error: 'must be an integer ≥ 1' }).min(1, { error: 'must be an integer ≥ 1' });

const durationMessage = `must be a number of milliseconds from 0 to ${MAX_TIMER_MS}`;
const duration = () =>
  z
    .number({ error: durationMessage })
    .min(0, { error: durationMessage })
    .max(MAX_TIMER_MS, { error: durationMessage });

const unitMessage = 'must be a number from 0 to 1';
const unit = () =>
  z.number({ error: unitMessage }).min(0, { error: unitMessage }).max(1, { error: unitMessage });

const QualitySchema = z.enum(['LOW', 'MEDIUM', 'HIGH'], { error: 'must be one of "LOW", "MEDIUM", "HIGH"' });

const ThresholdsSchema = z
  .object({ high: unit(), medium: unit() }, { error: 'must be { high, medium } confidences' })
  .refine((t) => t.medium <= t.high, { error: 'must have medium ≤ high' });

/** The fields, without cross-field checks, so src/ can extend them (zod cannot extend a refined object). */
export const breakerOptionsShape = {
  /** Consecutive failures (in `closed`) that open the breaker. */
  failureThreshold: count().default(3),
  /** Probe successes (in `halfOpen`) that close it again. */
  successThreshold: count().default(1),
  /** How long `open` lasts before a probe is let through. */
  cooldownMs: duration().default(30_000),
  /** Each re-open (a failed probe) multiplies the cooldown by this; 1 = constant. */
  cooldownGrowth: z
    .number({ error: 'must be a number ≥ 1' })
    .min(1, { error: 'must be a number ≥ 1 (1 = no growth)' })
    .default(1),
  /** Cap for a growing cooldown; required when cooldownGrowth > 1. */
  maxCooldownMs: duration().optional(),
  /** Outputs below this quality fail the gate and count as breaker failures. */
  minQuality: QualitySchema.default('MEDIUM'),
  /** Classify by confidence with these bands instead of trusting the result's own `quality`. */
  quality: ThresholdsSchema.optional(),
};

export function checkCooldowns(
  o: { cooldownMs: number; cooldownGrowth: number; maxCooldownMs?: number | undefined },
  ctx: z.RefinementCtx,
): void {
  if (o.maxCooldownMs === undefined) {
    if (o.cooldownGrowth > 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxCooldownMs'],
        input: undefined,
        message: `is required when cooldownGrowth > 1 (got ${o.cooldownGrowth}), so the cooldown has a cap`,
      });
    }
  } else if (o.maxCooldownMs < o.cooldownMs) {
    ctx.addIssue({
      code: 'custom',
      path: ['maxCooldownMs'],
      input: o.maxCooldownMs,
      message: `must be ≥ cooldownMs (${o.cooldownMs})`,
    });
  }
}

export const BreakerOptionsSchema = z
  // A typo in an option name is a bug, so unknown keys are refused rather than dropped.
  .strictObject(breakerOptionsShape)
  .superRefine(checkCooldowns);

/** What a user may pass (every field optional). */
export type BreakerOptions = z.input<typeof BreakerOptionsSchema>;
/** The resolved options, defaults applied; JSON data. */
export type BreakerConfig = z.output<typeof BreakerOptionsSchema>;

/** The cooldown for the n-th consecutive open (n ≥ 1): cooldownMs × growth^(n-1), capped. */
export function cooldownFor(config: BreakerConfig, opens: number): number {
  const base = config.cooldownMs * config.cooldownGrowth ** Math.max(0, opens - 1);
  return Math.round(Math.min(base, config.maxCooldownMs ?? config.cooldownMs));
}
