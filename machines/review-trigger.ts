import type { AgentResult } from './agent-result.js';
import type { BreakerOpen, GateFallback } from './edge-result.js';
import type { EscalationTrigger } from './escalation-options.js';
import type { ReviewPlan } from './workflow-plan.js';

/** Why and with what a step asks a human; spread it into the escalation input. */
export interface ReviewRequest {
  trigger: EscalationTrigger;
  /** The output a reviewer may approve; null when there is none (then only edit or reject). */
  output: unknown;
  confidence: number;
  reason: string;
}

/** Whatever a step can end with before it is accepted. */
export type StepOutcome = AgentResult | GateFallback | BreakerOpen;

/**
 * Whether a step's outcome goes to a human under its review policy, and with what:
 * - a success with confidence under `below` → `lowConfidence`, with its output;
 * - a gated output under `below` → `lowConfidence` with the blocked candidate; otherwise, like an
 *   agent fallback (with the candidate, if any), → `fallback` when `onFallback`;
 * - an open breaker → `breakerOpen` (no output) when `onBreakerOpen`;
 * - a cancelled call never escalates: someone chose to stop it.
 */
export function reviewTrigger(outcome: StepOutcome, config: ReviewPlan): ReviewRequest | null {
  const below = (confidence: number) => Number.isFinite(confidence) && confidence < config.below;
  const low = (agentId: string, confidence: number) =>
    `agent "${agentId}" output confidence ${confidence} is below the review threshold ${config.below}`;

  if (outcome.status === 'breakerOpen') {
    if (!config.onBreakerOpen) return null;
    return { trigger: 'breakerOpen', output: null, confidence: 0, reason: outcome.reason };
  }
  if (outcome.status === 'gated') {
    const candidate = outcome.candidate;
    if (outcome.cause === 'lowQuality' && candidate && below(candidate.confidence)) {
      return {
        trigger: 'lowConfidence',
        output: candidate.content,
        confidence: candidate.confidence,
        reason: low(outcome.agentId, candidate.confidence),
      };
    }
    if (outcome.upstream === 'cancelled' || !config.onFallback) return null;
    return {
      trigger: 'fallback',
      output: candidate ? candidate.content : null,
      confidence: candidate ? candidate.confidence : 0,
      reason: outcome.reason,
    };
  }
  if (!outcome.fallback) {
    if (!below(outcome.confidence)) return null;
    return {
      trigger: 'lowConfidence',
      output: outcome.content,
      confidence: outcome.confidence,
      reason: low(outcome.agentId, outcome.confidence),
    };
  }
  if (outcome.status === 'cancelled' || !config.onFallback) return null;
  return {
    trigger: 'fallback',
    output: outcome.candidate ? outcome.candidate.content : null,
    confidence: outcome.candidate ? outcome.candidate.confidence : 0,
    reason: `agent "${outcome.agentId}" ended in a fallback (${outcome.status}): ${outcome.reason}`,
  };
}
