import type { AnyActorLogic, AnyActorRef } from 'xstate';
import { assign, enqueueActions, setup } from 'xstate';
import type { AgentResult } from './agent-result.js';
import type { WriteOutcome } from './blackboard-outcome.js';
import { now } from './clock.js';
import type { BreakerOpen, EdgeDecision } from './edge-result.js';
import type { EscalationOutcome } from './escalation-context.js';
import { applyGate } from './gate.js';
import type { StepOutcome } from './review-trigger.js';
import { reviewTrigger } from './review-trigger.js';
import type {
  Admission,
  RunOutcome,
  StepRecord,
  WorkflowContext,
  WorkflowEvent,
  WorkflowInput,
  WorkflowOutput,
} from './workflow-context.js';
import { WORKFLOW_FALLBACK_CONTENT } from './workflow-context.js';
import type { AgentStepPlan, PlanTransition, StepPlan, WorkflowPlan } from './workflow-plan.js';
import { END } from './workflow-plan.js';

/**
 * The workflow compiler: a plan (plain data) becomes a statechart with one named state per step.
 *
 *   running ─┬─ <step> (checking → admitting → [preparing →] calling → gating → writing → routing)
 *            ├─ <parallel step> (checking → branches ∥ … → routing)
 *            ├─ finishing (final output computed and validated)
 *            └─ blackboard (invoked: the run's shared state)
 *   completed | fallback | failed | cancelled        (final)
 *
 * The code it runs is provided by name: `agent:<id>` actors, and the services `admit` (breaker),
 * `gate` (quality gate + breaker report), `prepare` (input mapping), `route` (routing predicates),
 * `finalize` (result + output schema) and `blackboard`.
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

const doneOutput = <T>(event: unknown): T => (event as { output: T }).output;
const isFor = (event: unknown, stepId: string) => (event as { stepId?: unknown }).stepId === stepId;
const admissionOf = (event: unknown) => (event as { admission: Admission }).admission;
const decisionOf = (event: unknown) => (event as { decision: EdgeDecision }).decision;

function record(
  context: WorkflowContext,
  step: AgentStepPlan,
  at: number,
  fields: Omit<StepRecord, 'stepId' | 'visit' | 'agentId' | 'startedAt' | 'endedAt'>,
): StepRecord {
  const slot = context.slots[step.id];
  return {
    stepId: step.id,
    visit: slot?.visit ?? 0,
    agentId: step.agentId,
    startedAt: slot?.startedAt ?? at,
    endedAt: at,
    ...fields,
  };
}

const slotKey = (step: AgentStepPlan) => step.id;

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
) {
  const stepById = new Map(agentSteps(plan).map((s) => [s.id, s]));

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
      hasDeadline: ({ context }) => context.deadlineAt !== null,
      stepBudgetExhausted: ({ context }) => context.stepsTaken > context.maxSteps,
      outputValid: ({ event }) => doneOutput<Finalized>(event).valid,
    },
    actions: {
      // Defaults without a runtime: every call admitted, the gate applied on its own. The runtime
      // provides versions that ask the shared breakers. Both answer with an event to the workflow.
      admit: ({ self }, params: AdmitParams) => {
        self.send({
          type: 'step.admitted',
          stepId: params.stepId,
          admission: { allowed: true, permit: null },
        });
      },
      gate: ({ context, self }, params: GateParams) => {
        const result = context.slots[params.stepId]!.result!;
        self.send({ type: 'step.gated', stepId: params.stepId, decision: applyGate(result, params) });
      },
      enterStep: assign(({ context, system }, params: { stepIds: string[] }) => {
        const at = now(system);
        const visits = { ...context.visits };
        const slots = { ...context.slots };
        for (const id of params.stepIds) {
          visits[id] = (visits[id] ?? 0) + 1;
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

  const setSlot = (stepId: string, patch: (ctx: Ctx, event: unknown) => Partial<Ctx['slots'][string]>) =>
    assign(({ context, event }: { context: Ctx; event: unknown }) => ({
      slots: { ...context.slots, [stepId]: { ...context.slots[stepId]!, ...patch(context, event) } },
    }));

  const fallbackFromStep = (
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
   * The transition to `reviewing` when the step's review policy sends this outcome to a human.
   * `subject` picks the outcome from the event (agent result, gate fallback or breaker refusal).
   */
  function reviewBranch(
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
          review: { ...requestOf(e)!, reviewId: `${ctx.runId}/${step.id}.${ctx.slots[step.id]!.visit}` },
        })),
      },
    ];
  }

  /** The states of one agent call, ending in `done` (a final state). */
  function agentStates(step: AgentStepPlan): Config {
    const id = slotKey(step);
    return {
      admitting: {
        // The breaker is asked by an action (a side effect, not a pure transition); it answers by event.
        entry: { type: 'admit', params: { stepId: id, breaker: step.breaker } },
        on: {
          'workflow.resume': { target: 'admitting', reenter: true },
          'step.admitted': [
            ...reviewBranch(
              step,
              (e) => (admissionOf(e) as { refusal: BreakerOpen }).refusal,
              (e) => !admissionOf(e).allowed,
            ),
            {
              guard: ({ event }: { event: WorkflowEvent }) => isFor(event, id) && admissionOf(event).allowed,
              target: step.input ? 'preparing' : 'calling',
              actions: setSlot(id, (_c, e) => ({
                permit: (admissionOf(e) as { permit: string | null }).permit,
              })),
            },
            {
              guard: ({ event }: { event: WorkflowEvent }) => isFor(event, id),
              target: '#workflow.fallback',
              actions: fallbackFromStep(step, (ctx, e, at) => {
                const refusal = (admissionOf(e) as { refusal: BreakerOpen }).refusal;
                return {
                  outcome: {
                    status: 'fallback',
                    cause: 'breakerOpen',
                    output: refusal.content,
                    reason: `step ${id}: ${refusal.reason}`,
                    stepId: id,
                    agentId: step.agentId,
                    detail: refusal,
                  },
                  record: record(ctx, step, at, {
                    status: 'breakerOpen',
                    confidence: 0,
                    quality: 'LOW',
                    attempts: 0,
                    reason: refusal.reason,
                  }),
                };
              }),
            },
          ],
        },
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
          id: `agent:${id}`,
          src: `agent:${step.agentId}`,
          input: ({ context }: { context: Ctx }) => {
            const slot = context.slots[id]!;
            return {
              input: step.input ? slot.input : { input: context.input, state: context.state },
              runId: context.runId,
              stepId: `${id}.${slot.visit}`,
            };
          },
          onDone: {
            target: 'gating',
            actions: setSlot(id, (_c, e) => ({ result: doneOutput<AgentResult>(e) })),
          },
          onError: { target: '#workflow.failed', actions: failStep(id, 'its agent actor crashed') },
        },
      },
      gating: {
        entry: { type: 'gate', params: { stepId: id, breaker: step.breaker, minQuality: step.minQuality } },
        on: {
          'workflow.resume': { target: 'gating', reenter: true },
          'step.gated': [
            ...reviewBranch(step, (e) => {
              const d = decisionOf(e);
              return d.passed ? d.result : d.fallback;
            }),
            {
              guard: ({ event }: { event: WorkflowEvent }) => isFor(event, id) && decisionOf(event).passed,
              target: 'writing',
              actions: setSlot(id, (ctx, e) => ({
                output: (decisionOf(e) as { result: { content: unknown } }).result.content,
                writeId: `${ctx.runId}:${id}.${ctx.slots[id]!.visit}`,
              })),
            },
            {
              guard: ({ event }: { event: WorkflowEvent }) => isFor(event, id),
              target: '#workflow.fallback',
              actions: fallbackFromStep(step, (ctx, e, at) => {
                const decision = decisionOf(e) as Extract<EdgeDecision, { passed: false }>;
                const result = ctx.slots[id]!.result!;
                const agentFell = result.fallback;
                const fb = decision.fallback;
                return {
                  outcome: {
                    status: 'fallback',
                    cause: agentFell ? 'agent' : 'gate',
                    output: fb.content,
                    reason: `step ${id}: ${agentFell ? `agent ${result.agentId} ${result.status}: ${result.reason}` : fb.reason}`,
                    stepId: id,
                    agentId: step.agentId,
                    detail: agentFell ? result : fb,
                  },
                  record: record(ctx, step, at, {
                    status: agentFell ? 'agentFallback' : 'gated',
                    agentStatus: result.status,
                    confidence: result.fallback ? 0 : result.confidence,
                    quality: 'LOW',
                    attempts: result.attempts.length,
                    reason: agentFell ? result.reason : fb.reason,
                  }),
                };
              }),
            },
          ],
        },
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
                        writeId: `${ctx.runId}:${id}.${ctx.slots[id]!.visit}`,
                      };
                    }),
                  },
                  {
                    target: '#workflow.fallback',
                    actions: fallbackFromStep(step, (ctx, e, at) => {
                      const o = doneOutput<EscalationOutcome & { content: string }>(e);
                      const expired = o.decision === 'expired';
                      const reason = expired
                        ? `step ${id}: the review expired with no human decision (${o.resolution})`
                        : `step ${id}: rejected in human review by ${o.by}: ${o.reason}`;
                      const slot = ctx.slots[id]!;
                      return {
                        outcome: {
                          status: 'fallback',
                          cause: expired ? 'reviewExpired' : 'reviewRejected',
                          output: o.content,
                          reason,
                          stepId: id,
                          agentId: step.agentId,
                          ...(slot.result ? { detail: slot.result } : {}),
                        },
                        record: record(ctx, step, at, {
                          status: 'reviewRejected',
                          ...(slot.result ? { agentStatus: slot.result.status } : {}),
                          confidence: slot.review?.confidence ?? 0,
                          quality: 'LOW',
                          attempts: slot.result?.attempts.length ?? 0,
                          reason,
                          review: {
                            reviewId: o.reviewId,
                            decision: o.decision,
                            by: o.by,
                            decidedAt: o.decidedAt,
                          },
                        }),
                      };
                    }),
                  },
                ],
                onError: { target: '#workflow.failed', actions: failStep(id, 'its review could not open') },
              },
            },
          }
        : {}),
      writing: {
        entry: enqueueActions(({ context, enqueue, self }) => {
          const slot = context.slots[id]!;
          enqueue.sendTo('blackboard', {
            type: 'write',
            writeId: slot.writeId,
            key: step.writes,
            value: slot.output,
            agentId: step.agentId,
            ...(step.reduced ? {} : { expectedVersion: context.version }),
            replyTo: self,
          });
        }),
        on: {
          'blackboard.outcome': [
            {
              guard: ({ context, event }: { context: Ctx; event: WorkflowEvent }) =>
                event.type === 'blackboard.outcome' &&
                event.outcome.writeId === context.slots[id]?.writeId &&
                event.outcome.ok,
              target: 'done',
              actions: assign(
                ({
                  context,
                  event,
                  system,
                }: {
                  context: Ctx;
                  event: WorkflowEvent;
                  system: { _clock: unknown };
                }) => {
                  const outcome = (event as { outcome: WriteOutcome & { ok: true; version: number } })
                    .outcome;
                  const slot = context.slots[id]!;
                  const result = slot.result;
                  const state = (event as { state?: Readonly<Record<string, unknown>> }).state;
                  return {
                    version: Math.max(context.version, outcome.version),
                    ...(state ? { state } : {}),
                    steps: [
                      ...context.steps,
                      record(context, step, now(system), {
                        status: 'passed',
                        ...(result ? { agentStatus: result.status } : {}),
                        confidence: result?.confidence ?? 0,
                        quality: result?.quality ?? 'LOW',
                        attempts: result?.attempts.length ?? 0,
                        version: outcome.version,
                        ...(slot.reviewed ? { review: slot.reviewed } : {}),
                      }),
                    ],
                  };
                },
              ),
            },
            {
              guard: ({ context, event }: { context: Ctx; event: WorkflowEvent }) =>
                event.type === 'blackboard.outcome' && event.outcome.writeId === context.slots[id]?.writeId,
              target: '#workflow.fallback',
              actions: fallbackFromStep(step, (ctx, e, at) => {
                const outcome = (e as { outcome: WriteOutcome & { ok: false; message: string } }).outcome;
                const result = ctx.slots[id]!.result as Extract<AgentResult, { fallback: false }>;
                return {
                  outcome: {
                    status: 'fallback',
                    cause: 'stateRejected',
                    output: WORKFLOW_FALLBACK_CONTENT.stateRejected,
                    reason: `step ${id}: the shared state refused the write to "${step.writes}": ${outcome.message}`,
                    stepId: id,
                    agentId: step.agentId,
                    detail: outcome,
                  },
                  record: record(ctx, step, at, {
                    status: 'stateRejected',
                    agentStatus: result.status,
                    confidence: result.confidence,
                    quality: result.quality,
                    attempts: result.attempts.length,
                    reason: outcome.message,
                  }),
                };
              }),
            },
          ],
        },
      },
      done: { type: 'final' },
    };
  }

  function failStep(stepId: string, what: string) {
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

  const checking = (next: string) => ({
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
      { target: next },
    ],
  });

  const stepStates: Config = {};
  for (const step of plan.steps) {
    if (step.kind === 'agent') {
      stepStates[step.id] = {
        entry: { type: 'enterStep', params: { stepIds: [step.id] } },
        initial: 'checking',
        states: { checking: checking('admitting'), ...agentStates(step), routing: routingState(step) },
      };
      // `done` of an agent step leads to routing.
      stepStates[step.id].states.done = { always: 'routing' };
    } else {
      const regions: Config = {};
      for (const branch of step.branches) {
        regions[branch.id] = { initial: 'admitting', states: agentStates(branch) };
      }
      stepStates[step.id] = {
        entry: { type: 'enterStep', params: { stepIds: step.branches.map((b) => b.id) } },
        initial: 'checking',
        states: {
          checking: checking('branches'),
          branches: { type: 'parallel', states: regions, onDone: 'routing' },
          routing: routingState(step),
        },
      };
    }
  }

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
        invoke: {
          id: 'blackboard',
          src: 'blackboard',
          input: ({ context }: { context: Ctx }) => ({ initial: context.state }),
        },
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
              // A step waiting on an action's answer (admit) asks again: the answer went to the old actor.
              enqueue.raise({ type: 'workflow.resume' });
            }),
          },
          'workflow.deadline': deadlineTransition,
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
        after: { workflowDeadline: deadlineTransition },
        initial: firstStep,
        states: {
          ...stepStates,
          finishing: {
            invoke: {
              id: 'finalize',
              src: 'finalize',
              input: ({ context }: { context: Ctx }) => {
                const last = context.steps.findLast((r) => r.status === 'passed');
                return {
                  input: context.input,
                  state: context.state,
                  lastWrites: last ? (stepById.get(last.stepId)?.writes ?? null) : null,
                };
              },
              onDone: [
                {
                  guard: 'outputValid',
                  target: '#workflow.completed',
                  actions: assign(({ event, system }) => ({
                    outcome: {
                      status: 'completed' as const,
                      output: doneOutput<{ output: unknown }>(event).output,
                    },
                    endedAt: now(system),
                  })),
                },
                {
                  target: '#workflow.fallback',
                  actions: assign(({ event, system }) => {
                    const f = doneOutput<Extract<Finalized, { valid: false }>>(event);
                    return {
                      outcome: {
                        status: 'fallback' as const,
                        cause: 'outputInvalid' as const,
                        output: WORKFLOW_FALLBACK_CONTENT.outputInvalid,
                        reason: `final output: ${f.reason}`,
                        issues: f.issues,
                      },
                      endedAt: now(system),
                    };
                  }),
                },
              ],
              onError: {
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
  plans.set(machine, plan);
  return machine;
}

const plans = new WeakMap<object, WorkflowPlan>();

/** The same workflow statechart with some implementations replaced (e.g. agents wrapped with faults). */
export function provideWorkflow(
  machine: WorkflowMachine,
  actors: Record<string, AnyActorLogic>,
): WorkflowMachine {
  const provided = machine.provide({ actors } as never) as WorkflowMachine;
  const plan = plans.get(machine);
  if (plan) plans.set(provided, plan);
  return provided;
}

/** The plan a workflow statechart was compiled from (undefined for a hand-written machine). */
export const workflowPlanOf = (machine: unknown): WorkflowPlan | undefined =>
  typeof machine === 'object' && machine !== null ? plans.get(machine) : undefined;

export type WorkflowMachine = ReturnType<typeof compileWorkflow>;
