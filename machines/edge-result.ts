import type { AgentStatus, AgentSuccess } from './agent-result.js';
import type { Quality } from './quality.js';

/**
 * What the consumer on an edge (agent A → agent B) receives: A's output when it passed the gate, or
 * an explicit, typed fallback — never A's low-quality output as if it were correct.
 */

export const LOW_CONFIDENCE_CONTENT = '[Low confidence — human review required]';
export const BREAKER_OPEN_CONTENT = '[Circuit open — agent not called]';

/** Why an output did not pass the gate. */
export type GateCause =
  /** The agent succeeded but its quality is below the gate's minimum. */
  | 'lowQuality'
  /** The agent itself ended in a fallback (timeout, max iterations, …). */
  | 'upstreamFallback';

/** The output that failed the gate, kept for a human reviewer. */
export interface GateCandidate<T = unknown> {
  content: T;
  confidence: number;
  quality: Quality;
}

export interface GateFallback<T = unknown> {
  status: 'gated';
  fallback: true;
  agentId: string;
  /**
   * `[Low confidence — human review required]` for `lowQuality`; for `upstreamFallback` the agent's
   * own explicit fallback text (e.g. `[Timeout — escalating to human review]`), which says more.
   */
  content: string;
  /** The original confidence, so a reviewer sees how far off it was. */
  confidence: number;
  quality: 'LOW';
  cause: GateCause;
  /** How the agent call ended (`succeeded` for a low-quality output). */
  upstream: AgentStatus;
  minQuality: Quality;
  reason: string;
  candidate?: GateCandidate<T>;
}

/** The step failed fast: the breaker is open (or its one probe is in flight), so the agent was not called. */
export interface BreakerOpen {
  status: 'breakerOpen';
  fallback: true;
  /** The breaker's key, e.g. `researcher→writer`. */
  breaker: string;
  content: string;
  confidence: 0;
  quality: 'LOW';
  /** `open`: cooling down. `halfOpen`: the single probe is already in flight. */
  state: 'open' | 'halfOpen';
  /** When the request was refused (the breaker's clock). */
  at: number;
  /** When the breaker lets a probe through; null when a probe is in flight right now. */
  probeAt: number | null;
  reason: string;
}

/** The gate's answer for one output. */
export type GateDecision<T = unknown> =
  | { passed: true; result: AgentSuccess<T> }
  | { passed: false; fallback: GateFallback<T> };

/** The answer on an edge guarded by a breaker and a gate. */
export type EdgeDecision<T = unknown> =
  | { passed: true; result: AgentSuccess<T> }
  | { passed: false; fallback: GateFallback<T> | BreakerOpen };

const hasStatus = (value: unknown, status: string): boolean =>
  typeof value === 'object' && value !== null && (value as { status?: unknown }).status === status;

export const isGateFallback = (value: unknown): value is GateFallback => hasStatus(value, 'gated');
export const isBreakerOpen = (value: unknown): value is BreakerOpen => hasStatus(value, 'breakerOpen');
