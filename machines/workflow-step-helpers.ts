import { assign } from 'xstate';
import { now } from './clock.js';
import type { EdgeDecision } from './edge-result.js';
import type { StepOutcome } from './review-trigger.js';
import { reviewTrigger } from './review-trigger.js';
import type {
  Admission,
  RunOutcome,
  StepRecord,
  WorkflowContext,
  WorkflowEvent,
} from './workflow-context.js';
import type { AgentStepPlan } from './workflow-plan.js';

// The pieces the step states are built from: event accessors, slot updates, step records, the
// transition to human review, and the ways a step ends the run.

export const doneOutput = <T>(event: unknown): T => (event as { output: T }).output;
export const isFor = (event: unknown, stepId: string) => (event as { stepId?: unknown }).stepId === stepId;
export const admissionOf = (event: unknown) => (event as { admission: Admission }).admission;
export const decisionOf = (event: unknown) => (event as { decision: EdgeDecision }).decision;

export function record(
  context: WorkflowContext,
  step: AgentStepPlan,
  at: number,
  fields: Omit<StepRecord, 'stepId' | 'visit' | 'agentId' | 'startedAt' | 'endedAt'>,
): StepRecord {
  const slot = Object.hasOwn(context.slots, step.id) ? context.slots[step.id] : undefined;
  return {
    stepId: step.id,
    visit: slot?.visit ?? 0,
    agentId: step.agentId,
    startedAt: slot?.startedAt ?? at,
    endedAt: at,
    ...fields,
  };
}

export const slotKey = (step: AgentStepPlan) => step.id;

export type Ctx = WorkflowContext;
// The config is generated, so it is typed loosely here and checked by XState at creation.
// biome-ignore lint/suspicious/noExplicitAny: generated statechart config
export type Config = any;

export const setSlot = (stepId: string, patch: (ctx: Ctx, event: unknown) => Partial<Ctx['slots'][string]>) =>
  assign(({ context, event }: { context: Ctx; event: unknown }) => ({
    slots: { ...context.slots, [stepId]: { ...context.slots[stepId]!, ...patch(context, event) } },
  }));

export const fallbackFromStep = (
  _step: AgentStepPlan,
  make: (ctx: Ctx, event: unknown, at: number) => { outcome: RunOutcome; record: StepRecord },
) =>
  assign(({ context, event, system }: { context: Ctx; event: unknown; system: { _clock: unknown } }) => {
    const at = now(system);
    const { outcome, record: rec } = make(context, event, at);
    return {
      steps: [...context.steps, rec],
      outcome: context.outcome ?? outcome,
      endedAt: at,
    };
  });

/**
 * A review's id: unique per run, step and visit, and URL-safe when the run id is (the runtime only
 * accepts such run ids; step ids are letters, digits, _ and -), so it needs no escaping in a path.
 * Opaque: readers take runId, stepId and visit from the review's own fields, never from the id.
 */
export const reviewIdOf = (runId: string, stepId: string, visit: number): string =>
  `${runId}.${stepId}.${visit}`;

/**
 * The transition to `reviewing` when the step's review policy sends this outcome to a human.
 * `subject` picks the outcome from the event (agent result, gate fallback or breaker refusal).
 */
export function reviewBranch(
  step: AgentStepPlan,
  subject: (event: unknown) => StepOutcome,
  applies: (event: unknown) => boolean = () => true,
) {
  const review = step.review;
  if (!review) return [];
  const requestOf = (event: unknown) =>
    isFor(event, step.id) && applies(event) ? reviewTrigger(subject(event), review) : null;
  return [
    {
      guard: ({ event }: { event: WorkflowEvent }) => requestOf(event) !== null,
      target: 'reviewing',
      actions: setSlot(step.id, (ctx, e) => ({
        review: { ...requestOf(e)!, reviewId: reviewIdOf(ctx.runId, step.id, ctx.slots[step.id]!.visit) },
      })),
    },
  ];
}

/** Ends the run as failed when a step's user function or actor throws. */
export function failStep(stepId: string, what: string) {
  return assign(
    ({ context, event, system }: { context: Ctx; event: unknown; system: { _clock: unknown } }) => {
      const error = (event as { error?: unknown }).error;
      const message = error instanceof Error ? error.message : String(error);
      return {
        outcome: context.outcome ?? {
          status: 'failed' as const,
          reason: `step ${stepId}: ${what}: ${message}`,
          stepId,
        },
        endedAt: now(system),
      };
    },
  );
}
