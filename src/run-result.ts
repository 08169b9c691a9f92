import type { AgentResult } from '../machines/agent-result.js';
import type { WriteOutcome } from '../machines/blackboard-outcome.js';
import type { BreakerOpen, GateFallback } from '../machines/edge-result.js';
import type { FallbackCause, StepRecord, WorkflowOutput } from '../machines/workflow-context.js';
import type { Agent, AnyAgent } from './agent.js';
import type { ReviewId } from './review/id.js';

interface RunBase {
  runId: string;
  workflowId: string;
  /** Every finished step execution, in order. */
  steps: StepRecord[];
  startedAt: number;
  endedAt: number;
  durationMs: number;
}

export interface RunCompleted<O> extends RunBase {
  status: 'completed';
  /** Validated against the workflow's output schema. */
  output: O;
}

export interface RunFallback extends RunBase {
  status: 'fallback';
  cause: FallbackCause;
  /** Explicit fallback content, e.g. `[Timeout — escalating to human review]`. */
  output: string;
  reason: string;
  stepId?: string;
  agentId?: string;
  detail?: AgentResult | GateFallback | BreakerOpen | WriteOutcome;
  issues?: { path: string; message: string }[];
}

/** A review the run waits for; `reviewId` is typed by the agent's output (for `reviews.edit`). */
export type AwaitedReview<A = AnyAgent> =
  A extends Agent<never, infer O, infer AgentId>
    ? {
        reviewId: ReviewId<O>;
        stepId: string;
        agentId: AgentId;
        confidence: number;
        reason: string;
        placeholder: string;
      }
    : never;

/** What a paused run's result says of one pending review (from its escalation's context). */
export const awaitedReview = (c: {
  reviewId: string;
  stepId: string;
  agentId: string;
  confidence: number;
  reason: string;
  placeholder: string;
}): AwaitedReview => ({
  reviewId: c.reviewId,
  stepId: c.stepId,
  agentId: c.agentId,
  confidence: c.confidence,
  reason: c.reason,
  placeholder: c.placeholder,
});

/** The run is paused: a human must decide. `run.done` settles after the decision. */
export interface RunAwaitingReview<A = AnyAgent> extends RunBase {
  status: 'awaitingReview';
  /** The placeholder in the seed's form: `[Pending human review — confidence 62%]`. */
  output: string;
  /** By agent (`agentId` tells them apart); each `reviewId` takes that agent's output in `edit`. */
  reviews: Array<AwaitedReview<A>>;
}

export interface RunFailed extends RunBase {
  status: 'failed';
  reason: string;
  stepId?: string;
  issues?: { path: string; message: string }[];
}

export interface RunCancelled extends RunBase {
  status: 'cancelled';
  reason: string;
}

/** How a run ended (or paused for a human). `run.result` never rejects for agent failures. */
export type RunResult<O = unknown, A = AnyAgent> =
  | RunCompleted<O>
  | RunFallback
  | RunAwaitingReview<A>
  | RunFailed
  | RunCancelled;

export type RunStatus = RunResult['status'];

export function toRunResult<O>(workflowId: string, out: WorkflowOutput): RunTerminal<O> {
  const base: RunBase = {
    runId: out.runId,
    workflowId,
    steps: out.steps,
    startedAt: out.startedAt,
    endedAt: out.endedAt,
    durationMs: out.endedAt - out.startedAt,
  };
  const o = out.outcome;
  switch (o.status) {
    case 'completed':
      return { ...base, status: 'completed', output: o.output as O };
    case 'fallback':
      return { ...base, ...o };
    case 'failed':
      return { ...base, ...o };
    case 'cancelled':
      return { ...base, ...o };
  }
}

/** A run that never started: its input did not validate, so nothing ran. */
export function inputFailed(
  runId: string,
  workflowId: string,
  at: number,
  reason: string,
  issues: { path: string; message: string }[],
): RunFailed {
  return {
    status: 'failed',
    runId,
    workflowId,
    steps: [],
    startedAt: at,
    endedAt: at,
    durationMs: 0,
    reason,
    issues,
  };
}

/** How a run ended: `run.done` settles with this, after any human reviews. */
export type RunTerminal<O = unknown> = Exclude<RunResult<O>, { status: 'awaitingReview' }>;
