import type { Quality } from './quality.js';

/**
 * A workflow as plain data: what the compiler turns into a statechart. Code (agents, mapping and
 * routing functions, the result function) is referenced by name and provided as implementations.
 */

/** Where a step goes next. `$end` finishes the workflow. */
export interface PlanTransition {
  /** Name of a provided routing predicate; absent = unconditional. */
  when?: string;
  target: string;
}

export const END = '$end';

export interface ReviewPlan {
  /** Escalate when confidence is below this. */
  below: number;
  /** Escalate agent fallbacks too (timeout, max iterations, …). */
  onFallback: boolean;
  /** Escalate when the breaker refused the call. */
  onBreakerOpen: boolean;
  /** Review timeout; null = wait for a human as long as the workflow's deadline allows. */
  timeoutMs: number | null;
  /** What an expired review becomes. */
  onTimeout: 'fallback' | 'reject';
}

export interface AgentStepPlan {
  kind: 'agent';
  /** State name in the statechart; unique in the workflow. */
  id: string;
  agentId: string;
  /** Shared-state key the accepted output is written to. */
  writes: string;
  /** The key declares a reducer, so concurrent writes merge and need no expected version. */
  reduced: boolean;
  /** Name of a provided input-mapping function; absent = `{ input, state }`. */
  input?: string;
  /** Breaker key (per edge), or null when the step opted out of a breaker. */
  breaker: string | null;
  minQuality: Quality;
  review: ReviewPlan | null;
  /** Ordered: the first matching transition wins. Only top-level steps route. */
  next: PlanTransition[];
}

export interface ParallelStepPlan {
  kind: 'parallel';
  id: string;
  branches: AgentStepPlan[];
  next: PlanTransition[];
}

export type StepPlan = AgentStepPlan | ParallelStepPlan;

export interface WorkflowPlan {
  id: string;
  steps: StepPlan[];
  /** Workflow deadline; null = none. */
  deadlineMs: number | null;
  /** Step executions allowed in one run (loops included). */
  maxSteps: number;
  /** Validated against an output schema before it is served. */
  hasOutputSchema: boolean;
}
