import type * as restate from '@restatedev/restate-sdk';
import type { SimulatedClock } from 'xstate';
import type { AgentResult } from '../../machines/agent-result.js';
import type { BlackboardContext } from '../../machines/blackboard.js';
import type { BreakerOpen, EdgeDecision } from '../../machines/edge-result.js';
import type { ReviewRequest } from '../../machines/review-trigger.js';
import type { StepEnding, StepFields } from '../../machines/step-endings.js';
import { describeError } from '../../machines/untrusted.js';
import type { RunOutcome, StepRecord } from '../../machines/workflow-context.js';
import type { AgentStepPlan } from '../../machines/workflow-plan.js';
import type { EscalationHook } from '../review/hook.js';
import type { RunAwaitingReview } from '../run-result.js';
import type { Workflow } from '../workflow/define.js';
import type { AgentCallInput } from './agent-call.js';
import type { StateWrite } from './state-log.js';

// What the pieces of a run on Restate share: the run's scope, a step's slots, the plain types the
// services exchange, and small helpers.

export interface Served {
  workflow: Workflow;
  version: string;
}
export type Registry = ReadonlyMap<string, Served>;

export interface RunRequest {
  workflowId: string;
  input: unknown;
}

export interface AgentServiceRequest {
  workflowId: string;
  version: string;
  agentId: string;
  call: AgentCallInput;
}

/** How a run first settled, for clients waiting on `run.result`. */
export type Settled =
  | { kind: 'paused'; result: RunAwaitingReview }
  | { kind: 'halted'; reason: string }
  | { kind: 'ended' };

/** What the run keeps in Restate state for the client: status, finished steps, agent calls. */
export interface RunView {
  status: 'running' | 'awaitingReview' | 'ended';
  workflowId: string;
  version: string;
  startedAt: number;
  /** The run's shared state and its version, as of the last finished step. */
  state: Readonly<Record<string, unknown>>;
  stateVersion: number;
  steps: StepRecord[];
  /** Every agent call's result, for the trace. */
  calls: RunCall[];
  /** Every review the run opened, with its decision once taken. */
  reviews: RunReview[];
  /** The shared state at version 0 (absent in runs recorded before it was kept). */
  initial?: Readonly<Record<string, unknown>>;
  /** Every write the shared state accepted, in version order (absent in older records). */
  writes?: StateWrite[];
}

/** One agent call of a run, and what the gate made of it. */
export interface RunCall {
  stepId: string;
  visit: number;
  result: AgentResult;
  gate?: { passed: boolean; reason?: string };
}

export interface RunReview {
  reviewId: string;
  stepId: string;
  /** Which visit of the step (absent in runs recorded before it was kept: 1). */
  visit?: number;
  agentId: string;
  trigger: string;
  confidence: number;
  /** Why the review opened (the `escalated` event's reason); `reason` is the decision's. */
  escalationReason?: string;
  openedAt: number;
  decision?: string;
  by?: string | null;
  decidedAt?: number;
  reason?: string;
}

/** The run's scope, built once per execution of the run handler (and rebuilt, the same, on replay). */
export interface RunScope {
  ctx: restate.WorkflowContext;
  workflow: Workflow;
  version: string;
  runId: string;
  input: unknown;
  startedAt: number;
  deadlineAt: number | null;
  /** The blackboard's clock, set to journaled times. */
  clock: SimulatedClock;
  board: { send(event: unknown): void; stop(): void };
  boardState(): BlackboardContext;
  view: RunView;
  save(): void;
  visits: Record<string, number>;
  onEscalation: EscalationHook;
  breakerOptions(key: string): unknown;
  deadlineOutcome(): RunOutcome;
  /** Whether the run has waited for a human yet (its first pause settles `run.result`). */
  pausedOnce: boolean;
  /** The shared-state key the last passed step wrote, for the default result. */
  lastWrites: string | null;
}

/** One agent step of a group while it runs (a sequential step has one, a parallel step one per branch). */
export interface Slot {
  b: AgentStepPlan;
  visit: number;
  startedAt: number;
  requestId: string;
  epoch: number;
  /** The breaker was closed with no failures counted: a success would change nothing there. */
  quiet: boolean;
  refusal: BreakerOpen | null;
  agentInput: unknown;
  result: AgentResult | null;
  decision: EdgeDecision | null;
  review: (ReviewRequest & { reviewId: string }) | null;
  output: unknown;
  reviewed: StepRecord['review'];
  end: StepEnd | null;
  /** The call's entry in the run's view, for the trace. */
  call: RunCall | null;
}

export type StepEnd = { outcome: RunOutcome; record?: StepRecord };

export type AgentServiceDef = {
  call: (ctx: restate.Context, req: AgentServiceRequest) => Promise<AgentResult>;
};

export const stepRecord = (s: Slot, endedAt: number, fields: StepFields): StepRecord => ({
  stepId: s.b.id,
  visit: s.visit,
  agentId: s.b.agentId,
  startedAt: s.startedAt,
  endedAt,
  ...fields,
});

/** A step's ending (machines/step-endings.ts, as in-process) as the run's end, with its record. */
export const ended = (s: Slot, endedAt: number, ending: StepEnding): StepEnd => ({
  outcome: ending.outcome,
  record: stepRecord(s, endedAt, ending.fields),
});

export type ServiceFn<I, O> = { config: (args: { input: I }) => Promise<O> };
export const serviceOf = <I, O>(workflow: Workflow, name: string) =>
  (workflow.machine.implementations.actors as Record<string, unknown>)[name] as ServiceFn<I, O>;

export type Guarded<T> = { ok: true; value: T } | { ok: false; message: string };
export async function guarded<T>(fn: () => Promise<T>): Promise<Guarded<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, message: describeError(error).message };
  }
}

export const plainOrNull = (value: unknown) => (value === undefined ? null : value);
