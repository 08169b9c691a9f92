import type { AgentResult } from './agent-result.js';
import type { GateDecision, GateFallback } from './edge-result.js';
import { LOW_CONFIDENCE_CONTENT } from './edge-result.js';
import { classifyQuality, meetsQuality, type Quality, type QualityThresholds } from './quality.js';

export interface GateOptions {
  /** Lowest quality that passes. Callers normally pass the parsed breaker options (default MEDIUM). */
  minQuality: Quality;
  /** When given, quality is classified from confidence with these bands instead of `result.quality`. */
  quality?: QualityThresholds | undefined;
}

/**
 * The quality gate: a pure function between an agent's output and the next agent's input.
 * Agent fallbacks never pass; successes pass when their quality meets the minimum.
 */
export function applyGate<T>(result: AgentResult<T>, options: GateOptions): GateDecision<T> {
  const { minQuality } = options;
  if (result.fallback) {
    return {
      passed: false,
      fallback: gated(result, 'upstreamFallback', minQuality, result.content, {
        reason: `agent "${result.agentId}" ended in a fallback (${result.status}): ${result.reason}`,
        candidate: result.candidate,
      }),
    };
  }
  // A non-finite confidence is untrusted data, not a number to compare: it can only fail.
  const finite = Number.isFinite(result.confidence);
  const quality: Quality = !finite
    ? 'LOW'
    : options.quality
      ? classifyQuality(result.confidence, options.quality)
      : result.quality;
  if (finite && meetsQuality(quality, minQuality)) return { passed: true, result };
  return {
    passed: false,
    fallback: gated(result, 'lowQuality', minQuality, LOW_CONFIDENCE_CONTENT, {
      reason: `agent "${result.agentId}" output quality ${quality} (confidence ${result.confidence}) is below the gate's minimum ${minQuality}`,
      candidate: { content: result.content, confidence: result.confidence, quality },
    }),
  };
}

function gated<T>(
  result: AgentResult<T>,
  cause: GateFallback['cause'],
  minQuality: Quality,
  content: string,
  extra: { reason: string; candidate: GateFallback<T>['candidate'] },
): GateFallback<T> {
  const fallback: GateFallback<T> = {
    status: 'gated',
    fallback: true,
    agentId: result.agentId,
    content,
    confidence: result.confidence,
    quality: 'LOW',
    cause,
    upstream: result.status,
    minQuality,
    reason: extra.reason,
  };
  if (extra.candidate) fallback.candidate = extra.candidate;
  return fallback;
}

/**
 * How an agent result counts for a breaker. `cancelled` is neutral: a caller's cancellation says
 * nothing about the agent, and must not trip a breaker shared by every run.
 */
export type Verdict = 'success' | 'failure' | 'neutral';

export function verdictOf(result: AgentResult, options: GateOptions): Verdict {
  if (result.status === 'cancelled') return 'neutral';
  return applyGate(result, options).passed ? 'success' : 'failure';
}
