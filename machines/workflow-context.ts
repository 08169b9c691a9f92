import type { AgentResult } from './agent-result.js';
import type { WriteOutcome } from './blackboard-outcome.js';
import type { BreakerOpen, EdgeDecision, GateFallback } from './edge-result.js';
import type { Journal } from './journal.js';
import type { Quality } from './quality.js';
import type { ReviewRequest } from './review-trigger.js';

/** The workflow statechart's plain-data side: context, events, outcomes. */

/** Why a run ended in a fallback. */
export type FallbackCause =
  | 'agent'
  | 'gate'
  | 'breakerOpen'
  | 'deadline'
  | 'maxSteps'
  | 'outputInvalid'
  | 'stateRejected'
  | 'reviewRejected'
  | 'reviewExpired'
  /** The run's store refused a record (over its size cap): the run cannot go on durably. */
  | 'storeRefused';

export const WORKFLOW_FALLBACK_CONTENT = Object.freeze({
  deadline: '[Workflow deadline exceeded — escalating to human review]',
  maxSteps: '[Max steps reached — escalating]',
  outputInvalid: '[Invalid final output — escalating to human review]',
  stateRejected: '[Shared state refused the output — escalating]',
  storeRefused: '[The run could not be stored — escalating]',
});

export type RunOutcome =
  | { status: 'completed'; output: unknown }
  | {
      status: 'fallback';
      cause: FallbackCause;
      /** Explicit fallback content, never a silent empty value. */
      output: string;
      reason: string;
      stepId?: string;
      agentId?: string;
      /** The agent result, gate fallback, breaker refusal or write refusal behind it. */
      detail?: AgentResult | GateFallback | BreakerOpen | WriteOutcome;
      issues?: { path: string; message: string }[];
    }
  | { status: 'failed'; reason: string; stepId?: string; issues?: { path: string; message: string }[] }
  | { status: 'cancelled'; reason: string };

/** One finished step execution, in order. */
export interface StepRecord {
  stepId: string;
  /** 1 for the first execution of this step, more in loops. */
  visit: number;
  agentId: string;
  /** How it ended: `passed` (written to the shared state) or the way it stopped the run. */
  status: 'passed' | 'agentFallback' | 'gated' | 'breakerOpen' | 'stateRejected' | 'reviewRejected';
  agentStatus?: AgentResult['status'];
  confidence: number;
  quality: Quality;
  attempts: number;
  startedAt: number;
  endedAt: number;
  reason?: string;
  /** Shared-state version the output was written as. */
  version?: number;
  /** When a human reviewed the step: what they decided, who, and when. */
  review?: { reviewId: string; decision: string; by: string | null; decidedAt: number };
}

/** What a step holds while it runs (one entry per in-flight agent step; parallel branches each have one). */
export interface StepSlot {
  visit: number;
  startedAt: number;
  /** Prepared agent input, when the step maps its own. */
  input?: unknown;
  permit: string | null;
  /** The breaker's answer, decided when the step is admitted. */
  admission?: Admission;
  result?: AgentResult;
  /** The gate's decision on the result (and the breaker's record of it). */
  decision?: EdgeDecision;
  /** What the step writes: the agent's output, or the one a human approved or edited. */
  output?: unknown;
  /** Why the step went to a human, while it waits. */
  review?: ReviewRequest & { reviewId: string };
  reviewed?: { reviewId: string; decision: string; by: string | null; decidedAt: number };
  writeId?: string;
  /** The shared state's answer to the step's write. */
  written?: WriteOutcome;
}

export interface WorkflowContext {
  workflowId: string;
  runId: string;
  input: unknown;
  /** The shared state as last committed (frozen, structurally shared across versions). */
  state: Readonly<Record<string, unknown>>;
  version: number;
  /** The recent commits to the shared state, so a refused write can list what it missed. */
  journal: Journal;
  startedAt: number;
  deadlineAt: number | null;
  stepsTaken: number;
  maxSteps: number;
  visits: Record<string, number>;
  slots: Record<string, StepSlot>;
  steps: StepRecord[];
  outcome: RunOutcome | null;
  endedAt: number | null;
}

export interface WorkflowInput {
  runId?: string;
  /** Already validated against the workflow's input schema. */
  input: unknown;
  /** The shared state at version 0, already validated. */
  initialState?: Readonly<Record<string, unknown>>;
}

/** The breaker's answer to a step: the call may go ahead (with a permit to report on), or not. */
export type Admission = { allowed: true; permit: string | null } | { allowed: false; refusal: BreakerOpen };

export type WorkflowEvent =
  | { type: 'cancel'; reason?: string }
  /** Send after restoring a persisted snapshot: re-arms timers here and in the children. */
  | { type: 'restore' }
  | { type: 'workflow.deadline' }
  /** Re-enter a step state that decides on entry (a snapshot stored by an older version rested there). */
  | { type: 'workflow.resume' }
  /** The store refused one of the run's records: the run ends in a fallback (sent by the runtime). */
  | { type: 'store.refused'; reason: string };

export interface WorkflowOutput {
  runId: string;
  outcome: RunOutcome;
  steps: StepRecord[];
  state: Readonly<Record<string, unknown>>;
  version: number;
  startedAt: number;
  endedAt: number;
}
