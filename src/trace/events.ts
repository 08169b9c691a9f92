import type { AgentStatus, AttemptOutcome } from '../../machines/agent-result.js';
import type { Quality } from '../../machines/quality.js';

/**
 * Progress events of a run, for progress bars and dashboards: `run.events()` and `subscribe`.
 * Every event names its run and carries `at`, the time on the run's clock (ms).
 * Breaker events are the exception to "one run": a breaker is shared by every run crossing its
 * edge, so their `runId` is the run whose call tripped it, or null (a cooldown ending on a timer).
 */

interface Base {
  runId: string;
  at: number;
}

interface AgentBase extends Base {
  stepId: string;
  agentId: string;
}

interface BreakerBase {
  runId: string | null;
  at: number;
  key: string;
}

/** How a run ended, as `run.result` reports it. */
export type RunOutcome = 'completed' | 'fallback' | 'failed' | 'cancelled';

/** Who produced a fallback. */
export type FallbackSource = 'agent' | 'gate' | 'breaker' | 'review' | 'workflow';

export type ReviewDecision = 'approved' | 'edited' | 'rejected' | 'expired';

export type RunEvent =
  | (Base & { type: 'run.started'; workflowId: string })
  | (Base & { type: 'step.started'; stepId: string })
  | (Base & {
      type: 'step.finished';
      stepId: string;
      status: 'success' | 'fallback' | 'error';
      durationMs: number;
      reason?: string;
    })
  | (AgentBase & { type: 'agent.started' })
  | (AgentBase & {
      type: 'agent.finished';
      status: AgentStatus;
      fallback: boolean;
      confidence: number;
      quality: Quality;
      attempts: number;
      durationMs: number;
      reason: string;
    })
  | (AgentBase & { type: 'attempt.started'; attempt: number; idempotencyKey: string })
  | (AgentBase & {
      type: 'attempt.finished';
      attempt: number;
      outcome: AttemptOutcome;
      durationMs: number;
      reason?: string;
      confidence?: number;
    })
  | (Base & {
      type: 'fallback';
      source: FallbackSource;
      /** The fallback's status, e.g. `timedOut`, `gated`, `breakerOpen`. */
      status: string;
      reason: string;
      stepId?: string;
      agentId?: string;
      /** The explicit fallback content the consumer gets. */
      content?: string;
    })
  | (BreakerBase & {
      type: 'breaker.opened';
      probeAt: number;
      cooldownMs: number;
      failures: number;
      reason: string;
    })
  | (BreakerBase & { type: 'breaker.halfOpened' })
  | (BreakerBase & { type: 'breaker.closed' })
  | (Base & {
      type: 'escalated';
      stepId: string;
      reviewId: string;
      reason: string;
      agentId?: string;
      confidence?: number;
    })
  | (Base & { type: 'reviewed'; stepId: string; reviewId: string; decision: ReviewDecision; reason?: string })
  | (Base & { type: 'run.completed'; status: RunOutcome; durationMs: number; reason?: string });

export type RunEventType = RunEvent['type'];
export type RunEventOf<T extends RunEventType> = Extract<RunEvent, { type: T }>;

/** Anything that takes events: an event stream, or a function. */
export interface EventSink<E = RunEvent> {
  emit(event: E): void;
}
