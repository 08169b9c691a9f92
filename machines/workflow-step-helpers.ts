import { assign } from 'xstate';
import { now } from './clock.js';
import { deepFreeze } from './frozen.js';
import { withItem } from './lists.js';
import type { StepOutcome } from './review-trigger.js';
import { reviewTrigger } from './review-trigger.js';
import { withSlot } from './step-decisions.js';
import type { StepEnding, StepFields } from './step-endings.js';
import type { StepRecord, StepSlot, WorkflowContext } from './workflow-context.js';
import type { AgentStepPlan } from './workflow-plan.js';

// The pieces the step states are built from: event accessors, slot updates, step records, the
// transition to human review, and the ways a step ends the run.

export const doneOutput = <T>(event: unknown): T => (event as { output: T }).output;
/** The step's slot, when the step has run (own properties only: a step may be named `toString`). */
export const slotOf = (context: WorkflowContext, stepId: string): StepSlot | undefined =>
  Object.hasOwn(context.slots, stepId) ? context.slots[stepId] : undefined;

export function record(
  context: WorkflowContext,
  step: AgentStepPlan,
  at: number,
  fields: StepFields,
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

/**
 * The run's steps with one more record. The list and its records are frozen: the state log, the
 * store and XState's persisted snapshot then take the list as it is, so a long run's every step
 * does not cost its length, and the store knows it as the previous list plus one record.
 */
export const withStep = (steps: readonly StepRecord[], step: StepRecord): StepRecord[] =>
  Object.freeze(withItem(steps, deepFreeze(step) as StepRecord)) as StepRecord[];

export const slotKey = (step: AgentStepPlan) => step.id;

export type Ctx = WorkflowContext;
// The config is generated, so it is typed loosely here and checked by XState at creation.
// biome-ignore lint/suspicious/noExplicitAny: generated statechart config
export type Config = any;

export const setSlot = (stepId: string, patch: (ctx: Ctx, event: unknown) => Partial<Ctx['slots'][string]>) =>
  assign(({ context, event }: { context: Ctx; event: unknown }) =>
    withSlot(context, stepId, patch(context, event)),
  );

/** Ends the run from a step: its ending's outcome, and its record appended to the run's steps. */
export const fallbackFromStep = (step: AgentStepPlan, make: (ctx: Ctx, event: unknown) => StepEnding) =>
  assign(({ context, event, system }: { context: Ctx; event: unknown; system: { _clock: unknown } }) => {
    const at = now(system);
    const { outcome, fields } = make(context, event);
    return {
      steps: withStep(context.steps, record(context, step, at, fields)),
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
 * `subject` picks the outcome from the step's slot (agent result, gate fallback or breaker refusal);
 * `applies` says whether the slot holds the decision this transition is about.
 */
export function reviewBranch(
  step: AgentStepPlan,
  subject: (slot: StepSlot) => StepOutcome,
  applies: (slot: StepSlot) => boolean,
) {
  const review = step.review;
  if (!review) return [];
  const requestOf = (context: Ctx) => {
    const slot = slotOf(context, step.id);
    return slot && applies(slot) ? reviewTrigger(subject(slot), review) : null;
  };
  return [
    {
      guard: ({ context }: { context: Ctx }) => requestOf(context) !== null,
      target: 'reviewing',
      actions: setSlot(step.id, (ctx) => ({
        review: { ...requestOf(ctx)!, reviewId: reviewIdOf(ctx.runId, step.id, ctx.slots[step.id]!.visit) },
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
