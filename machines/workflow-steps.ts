import { and } from 'xstate';
import type { WriteOutcome } from './blackboard-outcome.js';
import type { BreakerOpen, EdgeDecision, GateFallback } from './edge-result.js';
import type { EscalationOutcome } from './escalation-context.js';
import { agentInvokeId, writeIdOf } from './step-decisions.js';
import { breakerOpenEnding, gateEnding, reviewEnding, writeRefusedEnding } from './step-endings.js';
import { WORKFLOW_FALLBACK_CONTENT } from './workflow-context.js';
import type { AgentStepPlan, PlanTransition, StepPlan, WorkflowPlan } from './workflow-plan.js';
import { END } from './workflow-plan.js';
import type { Config, Ctx } from './workflow-step-helpers.js';
import {
  doneOutput,
  failStep,
  fallbackFromStep,
  reviewBranch,
  setSlot,
  slotKey,
  slotOf,
} from './workflow-step-helpers.js';

/**
 * The states of the workflow's steps, one compound state per step, generated from the plan:
 * checking → admitting → [preparing →] calling → gating → [reviewing →] writing → done → routing,
 * and for a parallel step: checking → branches (one region per agent step) → routing.
 *
 * The happy path decides inside the transitions that need the answers: a call its breaker admits
 * for sure goes checking → calling (admitted on the way), and a result the gate passes and the
 * shared state accepts goes calling → wherever the step leads (gated and written on the way). Every
 * other answer goes through the state that routes it, as the guards predict: `admitsNow`,
 * `gatePasses` and `writeSucceeds` decide exactly as `admit`, `gate` and `write` will.
 */

/**
 * The states of one agent call, ending in `done` (a final state). `after`: where a passed write
 * goes; default `done`. A step on its own with one way on goes straight there, not through `done`
 * and `routing`: two microsteps fewer per step, and those states are still there for the others.
 */
function agentStates(step: AgentStepPlan, after = 'done'): Config {
  const id = slotKey(step);
  const ref = { stepId: id, agentId: step.agentId };
  const gateParams = { stepId: id, breaker: step.breaker, minQuality: step.minQuality };
  return {
    admitting: {
      // The breaker decides inside this transition (the `admit` action over the runtime's breakers
      // records its answer in the slot); the eventless transitions below route on it.
      entry: { type: 'admit', params: admitParams(step) },
      on: { 'workflow.resume': { target: 'admitting', reenter: true } },
      always: [
        ...reviewBranch(
          step,
          (slot) => (slot.admission as { refusal: BreakerOpen }).refusal,
          (slot) => slot.admission?.allowed === false,
        ),
        {
          guard: ({ context }: { context: Ctx }) => slotOf(context, id)?.admission?.allowed === true,
          target: step.input ? 'preparing' : 'calling',
        },
        {
          guard: ({ context }: { context: Ctx }) => slotOf(context, id)?.admission?.allowed === false,
          target: '#workflow.fallback',
          actions: fallbackFromStep(step, (ctx) =>
            breakerOpenEnding(ref, (ctx.slots[id]!.admission as { refusal: BreakerOpen }).refusal),
          ),
        },
      ],
    },
    ...(step.input
      ? {
          preparing: {
            invoke: {
              id: `prepare:${id}`,
              src: 'prepare',
              input: ({ context }: { context: Ctx }) => ({
                stepId: id,
                input: context.input,
                state: context.state,
              }),
              onDone: { target: 'calling', actions: setSlot(id, (_c, e) => ({ input: doneOutput(e) })) },
              onError: { target: '#workflow.failed', actions: failStep(id, 'its input function threw') },
            },
          },
        }
      : {}),
    calling: {
      invoke: {
        id: agentInvokeId(id),
        src: `agent:${step.agentId}`,
        input: ({ context }: { context: Ctx }) => {
          const slot = context.slots[id]!;
          return {
            input: step.input ? slot.input : { input: context.input, state: context.state },
            runId: context.runId,
            stepId: id,
            visit: slot.visit,
          };
        },
        // The happy path: a result the gate passes and whose write the shared state accepts is
        // gated and written inside this transition, straight to where the step goes next.
        // Anything else (and every result a human may review) is decided in `gating`.
        onDone: step.review
          ? { target: 'gating' }
          : [
              {
                guard: and([
                  { type: 'gatePasses', params: gateParams },
                  { type: 'writeSucceeds', params: { stepId: id } },
                ]),
                target: after,
                actions: [
                  { type: 'gate', params: gateParams },
                  { type: 'write', params: { stepId: id } },
                ],
              },
              { target: 'gating' },
            ],
        onError: { target: '#workflow.failed', actions: failStep(id, 'its agent actor crashed') },
      },
    },
    gating: {
      // The gate (and the step's breaker, told the result) decides inside this transition.
      entry: { type: 'gate', params: gateParams },
      on: { 'workflow.resume': { target: 'gating', reenter: true } },
      always: [
        ...reviewBranch(
          step,
          (slot) => {
            const d = slot.decision!;
            return d.passed ? d.result : d.fallback;
          },
          (slot) => slot.decision !== undefined,
        ),
        {
          guard: ({ context }: { context: Ctx }) => slotOf(context, id)?.decision?.passed === true,
          target: 'writing',
        },
        {
          guard: ({ context }: { context: Ctx }) => slotOf(context, id)?.decision?.passed === false,
          target: '#workflow.fallback',
          actions: fallbackFromStep(step, (ctx) => {
            const slot = ctx.slots[id]!;
            const decision = slot.decision as Extract<EdgeDecision, { passed: false }>;
            return gateEnding(ref, slot.result!, decision.fallback as GateFallback);
          }),
        },
      ],
    },
    ...(step.review
      ? {
          // A human decides; the run waits here (no further agent calls on this path).
          reviewing: {
            invoke: {
              id: `review:${id}`,
              src: `review:${step.agentId}`,
              input: ({ context }: { context: Ctx }) => {
                const slot = context.slots[id]!;
                const { reviewId, ...request } = slot.review!;
                return {
                  reviewId,
                  runId: context.runId,
                  stepId: id,
                  visit: slot.visit,
                  agentId: step.agentId,
                  ...request,
                  timeoutMs: step.review!.timeoutMs,
                  onTimeout: step.review!.onTimeout,
                };
              },
              onDone: [
                {
                  guard: ({ event }: { event: unknown }) =>
                    doneOutput<EscalationOutcome>(event).resolution === 'output',
                  target: 'writing',
                  actions: setSlot(id, (ctx, e) => {
                    const o = doneOutput<EscalationOutcome & { resolution: 'output' }>(e);
                    return {
                      output: o.output,
                      reviewed: {
                        reviewId: o.reviewId,
                        decision: o.decision,
                        by: o.by,
                        decidedAt: o.decidedAt,
                      },
                      writeId: writeIdOf(ctx.runId, id, ctx.slots[id]!.visit),
                    };
                  }),
                },
                {
                  target: '#workflow.fallback',
                  actions: fallbackFromStep(step, (ctx, e) => {
                    const slot = ctx.slots[id]!;
                    const o = doneOutput<EscalationOutcome & { content: string; reason: string }>(e);
                    return reviewEnding(ref, slot.result, slot.review?.confidence ?? 0, o);
                  }),
                },
              ],
              onError: { target: '#workflow.failed', actions: failStep(id, 'its review could not open') },
            },
          },
        }
      : {}),
    writing: {
      // The write is applied inside this transition, to the shared state in this machine's context.
      entry: { type: 'write', params: { stepId: id } },
      on: { 'workflow.resume': { target: 'writing', reenter: true } },
      always: [
        {
          guard: ({ context }: { context: Ctx }) => slotOf(context, id)?.written?.ok === true,
          target: after,
        },
        {
          guard: ({ context }: { context: Ctx }) => slotOf(context, id)?.written?.ok === false,
          target: '#workflow.fallback',
          actions: fallbackFromStep(step, (ctx) => {
            const slot = ctx.slots[id]!;
            return writeRefusedEnding(
              ref,
              step.writes,
              slot.written as WriteOutcome & { ok: false },
              slot.result,
            );
          }),
        },
      ],
    },
    done: { type: 'final' },
  };
}

const targetOf = (t: PlanTransition) =>
  t.target === END ? '#workflow.running.finishing' : `#workflow.running.${t.target}`;

/** Routing after a step: unconditional → one eventless transition; conditional → the route service. */
function routingState(step: StepPlan): Config {
  const conditional = step.next.some((t) => t.when);
  if (!conditional) return { always: { target: targetOf(step.next[0]!) } };
  return {
    invoke: {
      id: `route:${step.id}`,
      src: 'route',
      input: ({ context }: { context: Ctx }) => ({
        stepId: step.id,
        input: context.input,
        state: context.state,
      }),
      onDone: step.next.map((t, index) => ({
        guard: ({ event }: { event: unknown }) => doneOutput<number>(event) === index,
        target: targetOf(t),
      })),
      onError: { target: '#workflow.failed', actions: failStep(step.id, 'its routing function threw') },
    },
  };
}

/**
 * A step's first state: the run's step budget, then the breaker. A call the breaker admits for sure
 * (`admitsNow`: a closed breaker, or none) is admitted inside this transition, straight to the
 * call; any other goes to `admitting`, where the breaker's answer, a refusal or a review, is routed.
 */
const checking = (plan: WorkflowPlan, next: string, step?: AgentStepPlan) => ({
  always: [
    {
      guard: 'stepBudgetExhausted',
      target: '#workflow.fallback',
      actions: {
        type: 'endWith',
        params: {
          outcome: {
            status: 'fallback',
            cause: 'maxSteps',
            output: WORKFLOW_FALLBACK_CONTENT.maxSteps,
            reason: `the workflow's limit of ${plan.maxSteps} step executions was reached`,
          },
        },
      },
    },
    ...(step
      ? [
          {
            guard: { type: 'admitsNow', params: admitParams(step) },
            target: step.input ? 'preparing' : 'calling',
            actions: { type: 'admit', params: admitParams(step) },
          },
        ]
      : []),
    { target: next },
  ],
});

const admitParams = (step: AgentStepPlan) => ({ stepId: slotKey(step), breaker: step.breaker });

/** Every step's compound state, by step id. */
export function buildStepStates(plan: WorkflowPlan): Config {
  const stepStates: Config = {};
  for (const step of plan.steps) {
    if (step.kind === 'agent') {
      const direct = step.next.some((t) => t.when) ? 'done' : targetOf(step.next[0]!);
      stepStates[step.id] = {
        entry: { type: 'enterStep', params: { stepIds: [step.id] } },
        initial: 'checking',
        states: {
          checking: checking(plan, 'admitting', step),
          ...agentStates(step, direct),
          routing: routingState(step),
        },
      };
      // `done` of an agent step leads to routing.
      stepStates[step.id].states.done = { always: 'routing' };
    } else {
      const regions: Config = {};
      for (const branch of step.branches) {
        regions[branch.id] = { initial: 'admitting', states: agentStates(branch) };
      }
      // With one way on, the join goes straight there (as a step on its own does, above).
      const joined = step.next.some((t) => t.when) ? 'routing' : targetOf(step.next[0]!);
      stepStates[step.id] = {
        entry: { type: 'enterStep', params: { stepIds: step.branches.map((b) => b.id) } },
        initial: 'checking',
        states: {
          checking: checking(plan, 'branches'),
          branches: { type: 'parallel', states: regions, onDone: joined },
          routing: routingState(step),
        },
      };
    }
  }
  return stepStates;
}
