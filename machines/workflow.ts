import type { AnyActorLogic, AnyActorRef } from 'xstate';
import { assign, enqueueActions, setup } from 'xstate';
import { DEFAULT_JOURNAL_WINDOW } from './blackboard.js';
import type { WriteOutcome } from './blackboard-outcome.js';
import type { BlackboardPolicy } from './blackboard-write.js';
import { applyWrite, FREE_FORM } from './blackboard-write.js';
import { now } from './clock.js';
import { applyGate } from './gate.js';
import { emptyJournal } from './journal.js';
import { persistsFrozenAsIs } from './persisted.js';
import { admitted, gated, resultOf, withSlot, writeIdOf } from './step-decisions.js';
import { passedRecord } from './step-endings.js';
import type {
  RunOutcome,
  WorkflowContext,
  WorkflowEvent,
  WorkflowInput,
  WorkflowOutput,
} from './workflow-context.js';
import { WORKFLOW_FALLBACK_CONTENT } from './workflow-context.js';
import type { AgentStepPlan, WorkflowPlan } from './workflow-plan.js';
import { doneOutput, failStep, withStep } from './workflow-step-helpers.js';
import { buildStepStates } from './workflow-steps.js';

/**
 * The workflow compiler: a plan (plain data) becomes a statechart with one named state per step.
 *
 *   running ─┬─ <step> (checking → admitting → [preparing →] calling → gating → writing → routing;
 *            │          a step whose guardrails all pass goes checking → calling → the next step)
 *            ├─ <parallel step> (checking → branches ∥ … → routing)
 *            └─ finishing (final output computed and validated)
 *   completed | fallback | failed | cancelled        (final)
 *
 * The code it runs is provided by name: `agent:<id>` actors, the actions `admit` (breaker) and
 * `gate` (quality gate + breaker report), which decide inside the step's transition, and the services
 * `prepare` (input mapping), `route` (routing predicates) and `finalize` (result + output schema).
 * The run's shared state lives in this machine's context: a step's write is applied by `write`
 * with the blackboard's own rules (schema, reducers, versions), not sent to another actor.
 */

/** Parameters of the `admit` action: ask the step's breaker whether the agent may be called. */
export interface AdmitParams {
  stepId: string;
  breaker: string | null;
}
/** Parameters of the `gate` action: pass the step's result through the gate (and its breaker). */
export interface GateParams {
  stepId: string;
  breaker: string | null;
  minQuality: AgentStepPlan['minQuality'];
}
export interface PrepareInput {
  stepId: string;
  input: unknown;
  state: Readonly<Record<string, unknown>>;
}
export interface RouteInput {
  stepId: string;
  input: unknown;
  state: Readonly<Record<string, unknown>>;
}
export interface FinalizeInput {
  input: unknown;
  state: Readonly<Record<string, unknown>>;
  /** The shared-state key the last passed step wrote, for the default result. */
  lastWrites: string | null;
}
export type Finalized =
  | { valid: true; output: unknown }
  | { valid: false; reason: string; issues: { path: string; message: string }[] };

export interface CompileOptions {
  /**
   * The final output, decided synchronously when it can be (undefined: it cannot, e.g. a result
   * function or an async refinement): the run then ends without a `finalize` actor.
   */
  finalizeNow?: (input: FinalizeInput) => Finalized | undefined;
}

/** A step's write into the shared state: the board after it (when accepted) and its outcome. */
type WritePlan = { next: ReturnType<typeof applyWrite>['board']; outcome: WriteOutcome; at: number };

/** The context patch that ends a run with its final output, or with the output's validation failure. */
function finalized(f: Finalized, at: number) {
  return {
    outcome: f.valid
      ? { status: 'completed' as const, output: f.output }
      : {
          status: 'fallback' as const,
          cause: 'outputInvalid' as const,
          output: WORKFLOW_FALLBACK_CONTENT.outputInvalid,
          reason: `final output: ${f.reason}`,
          issues: f.issues,
        },
    endedAt: at,
  };
}

/** Every agent step of a plan, branches included. */
export function agentSteps(plan: WorkflowPlan): AgentStepPlan[] {
  return plan.steps.flatMap((s) => (s.kind === 'agent' ? [s] : s.branches));
}

/** Compile a plan into the workflow statechart. `actors` must hold `agent:<agentId>` for each agent. */
export function compileWorkflow(
  plan: WorkflowPlan,
  actors: Record<string, AnyActorLogic>,
  /** The shared state at version 0 (frozen), when the run's input does not give one. */
  initialState: Readonly<Record<string, unknown>> = Object.freeze({}),
  /** The shared state's schema and reducers, which every write goes through. */
  policy: BlackboardPolicy = FREE_FORM,
  options: CompileOptions = {},
) {
  const stepById = new Map(agentSteps(plan).map((s) => [s.id, s]));
  const finalizeInput = (context: WorkflowContext): FinalizeInput => {
    const last = context.steps.findLast((r) => r.status === 'passed');
    return {
      input: context.input,
      state: context.state,
      lastWrites: last ? (stepById.get(last.stepId)?.writes ?? null) : null,
    };
  };

  /**
   * The step's write into the shared state, as `applyWrite` makes it. `writeSucceeds` plans it
   * (`keep`) and `write` applies that plan in the same transition (same shared state, event and
   * write), so the write is made once: a second `applyWrite` from the same version would also fork
   * an `append` list or a `merge` map that the first had already extended (a copy of its history).
   * `write` keeps nothing: a plan left here would hold a finished run's state.
   */
  let planned: {
    from: Pick<WorkflowContext, 'state' | 'version' | 'journal'>;
    event: object;
    value: unknown;
    writeId: string;
    plan: WritePlan;
  } | null = null;
  const writePlan = (
    context: WorkflowContext,
    event: object,
    step: AgentStepPlan,
    value: unknown,
    writeId: string,
    at: number,
    keep: boolean,
  ): WritePlan => {
    const kept = planned;
    planned = null;
    // The gate's assign comes between: the context is new, its shared state is the same.
    if (
      kept !== null &&
      kept.from.state === context.state &&
      kept.from.version === context.version &&
      kept.from.journal === context.journal &&
      kept.event === event &&
      kept.value === value &&
      kept.writeId === writeId
    )
      return kept.plan;
    const board = {
      version: context.version,
      state: context.state,
      // A snapshot stored before the shared state moved into this context has no journal.
      journal: context.journal ?? emptyJournal(DEFAULT_JOURNAL_WINDOW),
    };
    const write = {
      type: 'write' as const,
      writeId,
      key: step.writes,
      value,
      agentId: step.agentId,
      ...(step.reduced ? {} : { expectedVersion: context.version }),
    };
    const { board: next, outcome } = applyWrite(board, write, policy, at);
    const plan = { next, outcome, at };
    if (keep) {
      const { state, version, journal } = context;
      planned = { from: { state, version, journal }, event, value, writeId, plan };
    }
    return plan;
  };

  const machineSetup = setup({
    types: {
      context: {} as WorkflowContext,
      events: {} as WorkflowEvent,
      input: {} as WorkflowInput,
      output: {} as WorkflowOutput,
    },
    actors: actors as Record<string, AnyActorLogic>,
    delays: {
      workflowDeadline: ({ context, system }) =>
        context.deadlineAt === null ? 2 ** 31 - 1 : Math.max(0, context.deadlineAt - now(system)),
    },
    guards: {
      // The happy path's guards (see machines/workflow-steps.ts): whoever provides `admit` and
      // `gate` provides these with them, deciding alike. Here: every call admitted, the gate alone.
      admitsNow: (_args, _params: AdmitParams) => true,
      gatePasses: ({ context, event }, params: GateParams) =>
        applyGate(resultOf(context, params.stepId, event), params).passed,
      // The write a passed result would make, planned here and applied by `write` in this transition.
      // Guards see no clock: the write is stamped with the time the result came, which is this
      // transition's (its event is the result).
      writeSucceeds: ({ context, event }, params: { stepId: string }) => {
        const step = stepById.get(params.stepId)!;
        const slot = context.slots[params.stepId]!;
        const result = resultOf(context, params.stepId, event);
        const writeId = writeIdOf(context.runId, params.stepId, slot.visit);
        return writePlan(context, event, step, result.content, writeId, result.endedAt, true).outcome.ok;
      },
      hasDeadline: ({ context }) => context.deadlineAt !== null,
      stepBudgetExhausted: ({ context }) => context.stepsTaken > context.maxSteps,
      outputValid: ({ event }) => doneOutput<Finalized>(event).valid,
    },
    actions: {
      // Defaults without a runtime: every call admitted, the gate applied on its own. The runtime
      // provides versions that ask the shared breakers. Both answer with an event to the workflow.
      admit: assign(({ context }, params: AdmitParams) =>
        admitted(context, params.stepId, { allowed: true, permit: null }),
      ),
      gate: assign(({ context, event }, params: GateParams) => {
        const result = resultOf(context, params.stepId, event);
        return gated(context, params.stepId, result, applyGate(result, params));
      }),
      // The step's output goes into the shared state, here in context: no actor, no round trip.
      write: assign(({ context, event, system }, params: { stepId: string }) => {
        const step = stepById.get(params.stepId)!;
        const slot = context.slots[params.stepId]!;
        const { next, outcome, at } = writePlan(
          context,
          event,
          step,
          slot.output,
          slot.writeId!,
          now(system),
          false,
        );
        const { slots } = withSlot(context, params.stepId, { written: outcome });
        if (!next || !outcome.ok) return { slots };
        // Field by field, not a spread: this runs for every write, and its result is one shape.
        return {
          version: next.version,
          state: next.state,
          journal: next.journal,
          slots,
          steps: withStep(
            context.steps,
            passedRecord(
              step.id,
              slot.visit,
              step.agentId,
              slot.startedAt,
              at,
              slot.result,
              outcome.version,
              slot.reviewed,
            ),
          ),
        };
      }),
      enterStep: assign(({ context, system }, params: { stepIds: string[] }) => {
        const at = now(system);
        const visits = { ...context.visits };
        const slots = { ...context.slots };
        for (const id of params.stepIds) {
          // Own properties only: a step may be named like an Object.prototype member (`toString`).
          visits[id] = (Object.hasOwn(visits, id) ? visits[id]! : 0) + 1;
          slots[id] = { visit: visits[id]!, startedAt: at, permit: null };
        }
        return { stepsTaken: context.stepsTaken + 1, visits, slots };
      }),
      endWith: assign(({ context, system }, params: { outcome: RunOutcome }) => ({
        outcome: context.outcome ?? params.outcome,
        endedAt: now(system),
      })),
    },
  });

  type Ctx = WorkflowContext;
  // The config is generated, so it is typed loosely here and checked by XState at creation.
  // biome-ignore lint/suspicious/noExplicitAny: generated statechart config
  type Config = any;
  const stepStates = buildStepStates(plan);

  const deadlineTransition = {
    guard: 'hasDeadline',
    target: '#workflow.fallback',
    actions: {
      type: 'endWith',
      params: {
        outcome: {
          status: 'fallback',
          cause: 'deadline',
          output: WORKFLOW_FALLBACK_CONTENT.deadline,
          reason: `the workflow's ${plan.deadlineMs} ms deadline passed`,
        },
      },
    },
  } as const;

  const firstStep = plan.steps[0]!.id;
  const machine = machineSetup.createMachine({
    id: 'workflow',
    context: ({ input, self }: { input: WorkflowInput; self: { system: { _clock: unknown } } }) => {
      const at = now(self.system);
      return {
        workflowId: plan.id,
        runId: input.runId ?? globalThis.crypto.randomUUID(),
        input: input.input,
        state: input.initialState ?? initialState,
        version: 0,
        journal: emptyJournal(DEFAULT_JOURNAL_WINDOW),
        startedAt: at,
        deadlineAt: plan.deadlineMs === null ? null : at + plan.deadlineMs,
        stepsTaken: 0,
        maxSteps: plan.maxSteps,
        visits: {},
        slots: {},
        steps: [],
        outcome: null,
        endedAt: null,
      };
    },
    initial: 'running',
    states: {
      running: {
        on: {
          // After a restore (XState does not restore pending timers): re-arm the deadline from its
          // absolute time, and pass the restore on to the children (agents, reviews) to re-arm theirs.
          restore: {
            actions: enqueueActions(({ context, enqueue, self, system }) => {
              if (context.deadlineAt !== null) {
                enqueue.cancel('workflow.deadline');
                enqueue.raise(
                  { type: 'workflow.deadline' },
                  { id: 'workflow.deadline', delay: Math.max(0, context.deadlineAt - now(system)) },
                );
              }
              for (const child of Object.values(self.getSnapshot().children)) {
                if (child) enqueue.sendTo(child as AnyActorRef, { type: 'restore' });
              }
              // A step stored while it waited on an answer (by an older version) decides again.
              enqueue.raise({ type: 'workflow.resume' });
            }),
          },
          'workflow.deadline': deadlineTransition,
          // The store refused a record (too large): what is stored stays, and the run ends explicitly.
          'store.refused': {
            target: '#workflow.fallback',
            actions: assign(({ context, event, system }) => ({
              outcome: context.outcome ?? {
                status: 'fallback' as const,
                cause: 'storeRefused' as const,
                output: WORKFLOW_FALLBACK_CONTENT.storeRefused,
                reason: (event as { reason?: string }).reason ?? 'the store refused a record of the run',
              },
              endedAt: now(system),
            })),
          },
          cancel: {
            target: 'cancelled',
            actions: assign(({ context, event, system }) => ({
              outcome: context.outcome ?? {
                status: 'cancelled' as const,
                reason: (event as { reason?: string }).reason ?? 'cancelled',
              },
              endedAt: now(system),
            })),
          },
        },
        // No deadline, no timer: a run without one schedules nothing here.
        ...(plan.deadlineMs === null ? {} : { after: { workflowDeadline: deadlineTransition } }),
        initial: firstStep,
        states: {
          ...stepStates,
          finishing: {
            // Decided inside this transition when the output needs no async work (no result
            // function, a schema that parses synchronously); else the `finalize` service runs.
            entry: enqueueActions(({ context, enqueue, system }) => {
              const input = finalizeInput(context as Ctx);
              const decided = options.finalizeNow?.(input);
              if (decided) enqueue.assign(finalized(decided, now(system)));
              else enqueue.spawnChild('finalize', { id: 'finalize', input });
            }),
            always: [
              {
                guard: ({ context }: { context: Ctx }) => context.outcome?.status === 'completed',
                target: '#workflow.completed',
              },
              {
                guard: ({ context }: { context: Ctx }) => context.outcome?.status === 'fallback',
                target: '#workflow.fallback',
              },
            ],
            on: {
              'xstate.done.actor.finalize': [
                {
                  guard: 'outputValid',
                  target: '#workflow.completed',
                  actions: assign(({ event, system }) =>
                    finalized(doneOutput<Finalized>(event), now(system)),
                  ),
                },
                {
                  target: '#workflow.fallback',
                  actions: assign(({ event, system }) =>
                    finalized(doneOutput<Finalized>(event), now(system)),
                  ),
                },
              ],
              'xstate.error.actor.finalize': {
                target: '#workflow.failed',
                actions: failStep('finishing', 'the result function threw'),
              },
            },
          },
        },
      },
      completed: { type: 'final' },
      fallback: { type: 'final' },
      failed: { type: 'final' },
      cancelled: { type: 'final' },
    },
    output: ({ context }: { context: Ctx }): WorkflowOutput => ({
      runId: context.runId,
      outcome: context.outcome ?? { status: 'failed', reason: 'the run ended without an outcome' },
      steps: context.steps,
      state: context.state,
      version: context.version,
      startedAt: context.startedAt,
      endedAt: context.endedAt ?? context.startedAt,
    }),
  } as Config);
  persistsFrozenAsIs(machine);
  plans.set(machine, plan);
  policies.set(machine, policy);
  return machine;
}

const plans = new WeakMap<object, WorkflowPlan>();
const policies = new WeakMap<object, BlackboardPolicy>();

/** The same workflow statechart with some implementations replaced (e.g. agents wrapped with faults). */
export function provideWorkflow(
  machine: WorkflowMachine,
  actors: Record<string, AnyActorLogic>,
): WorkflowMachine {
  const provided = machine.provide({ actors } as never) as WorkflowMachine;
  persistsFrozenAsIs(provided);
  const plan = plans.get(machine);
  if (plan) plans.set(provided, plan);
  const policy = policies.get(machine);
  if (policy) policies.set(provided, policy);
  return provided;
}

/** The shared-state policy (schema, reducers) a workflow statechart applies its writes with. */
export const workflowPolicyOf = (machine: unknown): BlackboardPolicy | undefined =>
  typeof machine === 'object' && machine !== null ? policies.get(machine) : undefined;

/** The plan a workflow statechart was compiled from (undefined for a hand-written machine). */
export const workflowPlanOf = (machine: unknown): WorkflowPlan | undefined =>
  typeof machine === 'object' && machine !== null ? plans.get(machine) : undefined;

export type WorkflowMachine = ReturnType<typeof compileWorkflow>;
