import type { AgentResult } from './agent-result.js';
import type { WriteOutcome } from './blackboard-outcome.js';
import type { BreakerOpen, GateFallback } from './edge-result.js';
import type { RunOutcome, StepRecord } from './workflow-context.js';
import { WORKFLOW_FALLBACK_CONTENT } from './workflow-context.js';

/**
 * How a step ends, as plain data: the run's outcome when the step stops the run, and the fields of
 * its step record. The workflow statechart and the Restate run handler both end steps with these,
 * so the two give the same outcomes and records for the same definitions.
 */

/** A step record without what the caller knows (which step, which visit, when). */
export type StepFields = Omit<StepRecord, 'stepId' | 'visit' | 'agentId' | 'startedAt' | 'endedAt'>;

export interface StepEnding {
  outcome: RunOutcome;
  fields: StepFields;
}

/** Which step, and its agent. */
export interface StepRef {
  stepId: string;
  agentId: string;
}

/** What an agent result contributes to a record (none when no agent was called). */
const agentFields = (result: AgentResult | null | undefined) => ({
  ...(result ? { agentStatus: result.status } : {}),
  confidence: result && !result.fallback ? result.confidence : 0,
  quality: result && !result.fallback ? result.quality : ('LOW' as const),
  attempts: result?.attempts.length ?? 0,
});

/** The step's breaker refused the call: the agent was not called. */
export function breakerOpenEnding(step: StepRef, refusal: BreakerOpen): StepEnding {
  return {
    outcome: {
      status: 'fallback',
      cause: 'breakerOpen',
      output: refusal.content,
      reason: `step ${step.stepId}: ${refusal.reason}`,
      stepId: step.stepId,
      agentId: step.agentId,
      detail: refusal,
    },
    fields: { status: 'breakerOpen', confidence: 0, quality: 'LOW', attempts: 0, reason: refusal.reason },
  };
}

/** The gate blocked the step: the agent fell back, or its output's quality was too low. */
export function gateEnding(step: StepRef, result: AgentResult, fallback: GateFallback): StepEnding {
  const agentFell = result.fallback;
  return {
    outcome: {
      status: 'fallback',
      cause: agentFell ? 'agent' : 'gate',
      output: fallback.content,
      reason: `step ${step.stepId}: ${agentFell ? `agent ${result.agentId} ${result.status}: ${result.reason}` : fallback.reason}`,
      stepId: step.stepId,
      agentId: step.agentId,
      detail: agentFell ? result : fallback,
    },
    fields: {
      status: agentFell ? 'agentFallback' : 'gated',
      ...agentFields(result),
      quality: 'LOW',
      reason: agentFell ? result.reason : fallback.reason,
    },
  };
}

/** A human rejected the step's output, or the review expired into a rejection or fallback. */
export function reviewEnding(
  step: StepRef,
  result: AgentResult | null | undefined,
  confidence: number,
  o: {
    reviewId: string;
    decision: string;
    by: string | null;
    decidedAt: number;
    resolution: string;
    reason: string;
    content: string;
  },
): StepEnding {
  const expired = o.decision === 'expired';
  const reason = expired
    ? `step ${step.stepId}: the review expired with no human decision (${o.resolution})`
    : `step ${step.stepId}: rejected in human review by ${o.by}: ${o.reason}`;
  return {
    outcome: {
      status: 'fallback',
      cause: expired ? 'reviewExpired' : 'reviewRejected',
      output: o.content,
      reason,
      stepId: step.stepId,
      agentId: step.agentId,
      ...(result ? { detail: result } : {}),
    },
    fields: {
      status: 'reviewRejected',
      ...agentFields(result),
      confidence,
      quality: 'LOW',
      reason,
      review: { reviewId: o.reviewId, decision: o.decision, by: o.by, decidedAt: o.decidedAt },
    },
  };
}

/** The shared state refused the step's write. */
export function writeRefusedEnding(
  step: StepRef,
  key: string,
  refusal: WriteOutcome & { ok: false },
  result: AgentResult | null | undefined,
): StepEnding {
  return {
    outcome: {
      status: 'fallback',
      cause: 'stateRejected',
      output: WORKFLOW_FALLBACK_CONTENT.stateRejected,
      reason: `step ${step.stepId}: the shared state refused the write to "${key}": ${refusal.message}`,
      stepId: step.stepId,
      agentId: step.agentId,
      detail: refusal,
    },
    fields: { status: 'stateRejected', ...agentFields(result), reason: refusal.message },
  };
}

/** The step's output was written as `version`. */
/**
 * The record of a step that passed (every step of a run that completes): which step and visit,
 * its agent, when it started and ended, then the agent's figures and the version written. One
 * literal, in the key order records always had: spreads of records of many shapes gave each record
 * an object of its own for its later keys, and cost ~1% of a run's CPU.
 */
export function passedRecord(
  stepId: string,
  visit: number,
  agentId: string,
  startedAt: number,
  endedAt: number,
  result: AgentResult | null | undefined,
  version: number,
  reviewed: StepRecord['review'] | undefined,
): StepRecord {
  const usable = result ? !result.fallback : false;
  const passed: StepRecord = result
    ? {
        stepId,
        visit,
        agentId,
        startedAt,
        endedAt,
        status: 'passed',
        agentStatus: result.status,
        confidence: usable ? result.confidence : 0,
        quality: usable ? result.quality : 'LOW',
        attempts: result.attempts.length,
        version,
      }
    : {
        stepId,
        visit,
        agentId,
        startedAt,
        endedAt,
        status: 'passed',
        confidence: 0,
        quality: 'LOW',
        attempts: 0,
        version,
      };
  if (reviewed) passed.review = reviewed;
  return passed;
}
