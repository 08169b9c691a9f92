import { nanoid } from 'nanoid';
import type { InspectionEvent } from 'xstate';
import { z } from 'zod';
import type { AgentResult } from '../machines/agent-result.js';
import type { Clock } from '../machines/clock.js';
import type { EdgeDecision } from '../machines/edge-result.js';
import type { NotifyPolicyOptions } from '../machines/escalation-options.js';
import { applyGate } from '../machines/gate.js';
import type { AdmitParams, GateParams, WorkflowMachine } from '../machines/workflow.js';
import type { Admission, WorkflowContext } from '../machines/workflow-context.js';
import type { Breaker, BreakerState, Permit } from './breaker.js';
import { createBreaker } from './breaker.js';
import { fail, fn, parseOptions } from './options.js';
import type { EscalationHook } from './review/hook.js';
import { createReviews, type Reviews } from './review/reviews.js';
import { schemaValidator } from './review/validate.js';
import type { Run } from './run.js';
import { startRun } from './run.js';
import type { Workflow } from './workflow/define.js';
import { isWorkflow } from './workflow/define.js';

export interface RuntimeOptions {
  /** Drives every timer and timestamp (agents, breakers, deadlines); SimulatedClock in tests. */
  clock?: Clock;
  /**
   * Called when a step escalates to a human (log, alert, open a ticket). Retried on failure, each
   * call bounded; failures are recorded and the review still waits. Default: one JSON line.
   */
  onEscalation?: EscalationHook;
  /** How the hook is retried: `{ maxAttempts: 3, attemptTimeoutMs: 10_000, … }`. */
  escalationRetry?: NotifyPolicyOptions;
  /** More XState inspection observers for every run (e.g. the Stately inspector). */
  inspect?: Array<(event: InspectionEvent) => void>;
  /** Called when an observer or listener throws; the run goes on. Default: console.error. */
  onObserverError?: (error: unknown) => void;
}

export interface StartOptions {
  /** Stable id for the run; part of every idempotency key. Default: a random id. */
  runId?: string;
  /** Aborting it cancels the run. */
  signal?: AbortSignal;
}

export interface Runtime {
  /** Pending human reviews across runs: list, approve, edit, reject. */
  readonly reviews: Reviews;
  /** Validate the input and start a run. Bad input gives a `failed` result and runs nothing. */
  start<I, O>(workflow: Workflow<I, O>, input: I, options?: StartOptions): Run<O>;
  /** The runs that have not ended. */
  runs(): Run[];
  /** The shared breakers by key, created when a step first needs one. */
  breakers(): ReadonlyMap<string, Breaker>;
  /** A breaker's state by key, or undefined when no run has used it yet. */
  breaker(key: string): BreakerState | undefined;
  /** Cancel every run, stop every breaker; the process can exit afterwards. */
  stop(): Promise<void>;
}

const isClock = (v: unknown) =>
  typeof v === 'object' &&
  v !== null &&
  ['now', 'setTimeout', 'clearTimeout'].every((m) => typeof (v as Record<string, unknown>)[m] === 'function');

const optionsSchema = z.strictObject({
  clock: z
    .custom<Clock>(isClock, { error: 'must be a clock with now(), setTimeout() and clearTimeout()' })
    .optional(),
  inspect: z.array(fn<(event: InspectionEvent) => void>()).optional(),
  onObserverError: fn<(error: unknown) => void>().optional(),
  onEscalation: fn<EscalationHook>().optional(),
  escalationRetry: z.record(z.string(), z.unknown()).optional(),
});

/**
 * The runtime: runs workflows, owns the breakers every run shares, and observes every actor.
 */
export function createRuntime(options: RuntimeOptions = {}): Runtime {
  const o = parseOptions(optionsSchema, options, 'createRuntime');
  const onObserverError =
    o.onObserverError ??
    ((error: unknown) => console.error('agentcharts: an observer threw; the run goes on', error));
  const reviews = createReviews({
    ...(o.onEscalation ? { onEscalation: o.onEscalation } : {}),
    ...(o.escalationRetry ? { notify: o.escalationRetry as NotifyPolicyOptions } : {}),
    ...(o.clock ? { clock: o.clock } : {}),
    onListenerError: onObserverError,
  });
  const breakers = new Map<string, Breaker>();
  const permits = new Map<string, { runId: string; permit: Permit }>();
  const active = new Map<string, Run>();
  const machines = new WeakMap<Workflow, WorkflowMachine>();
  let stopped = false;
  let seq = 0;

  function breakerFor(workflow: Workflow, key: string): Breaker {
    let breaker = breakers.get(key);
    if (!breaker) {
      const { minQuality, ...rest } = workflow.breakers.get(key) ?? { minQuality: 'MEDIUM' as const };
      breaker = createBreaker(key, {
        ...rest,
        minQuality,
        ...(o.clock ? { clock: o.clock } : {}),
        onListenerError: onObserverError,
      });
      breakers.set(key, breaker);
    }
    return breaker;
  }

  /** The workflow's statechart with the runtime's shared breakers in place of the stand-alone gate. */
  function machineFor(workflow: Workflow): WorkflowMachine {
    let machine = machines.get(workflow);
    if (!machine) {
      // Created up front, not inside an action: an actor made while XState runs an action warns.
      for (const key of workflow.breakers.keys()) breakerFor(workflow, key);
      type Args = { context: WorkflowContext; self: { send(event: unknown): void } };
      // Reviewed steps get the escalation statechart with this runtime's hook.
      const reviewActors = Object.fromEntries(
        [...workflow.reviewedAgents].map((agentId) => [
          `review:${agentId}`,
          reviews.logic({ validateEdit: schemaValidator(workflow.agents.get(agentId)!.output) }),
        ]),
      );
      machine = workflow.machine.provide({
        actors: reviewActors,
        actions: {
          admit: ({ context, self }: Args, params: AdmitParams) => {
            const send = (admission: Admission) =>
              self.send({ type: 'step.admitted', stepId: params.stepId, admission });
            if (params.breaker === null) return send({ allowed: true, permit: null });
            const acquired = breakerFor(workflow, params.breaker).tryAcquire();
            if (!acquired.allowed) return send({ allowed: false, refusal: acquired.fallback });
            const id = `${context.runId}:${params.stepId}:${++seq}`;
            permits.set(id, { runId: context.runId, permit: acquired.permit });
            send({ allowed: true, permit: id });
          },
          gate: ({ context, self }: Args, params: GateParams) => {
            const slot = context.slots[params.stepId]!;
            const result = slot.result as AgentResult;
            const held = slot.permit === null ? undefined : permits.get(slot.permit);
            let decision: EdgeDecision;
            if (held) {
              permits.delete(slot.permit!);
              decision = held.permit.record(result);
            } else decision = applyGate(result, params);
            self.send({ type: 'step.gated', stepId: params.stepId, decision });
          },
        } as never,
      }) as WorkflowMachine;
      machines.set(workflow, machine);
    }
    return machine;
  }

  /** A run that ended mid-call (cancel, deadline) gives its permits back, so no probe stays held. */
  function releasePermits(runId: string) {
    for (const [id, held] of permits) {
      if (held.runId !== runId) continue;
      permits.delete(id);
      held.permit.release();
    }
  }

  return {
    reviews,
    start(workflow, input, startOptions = {}) {
      if (stopped) throw new Error('agentcharts: this runtime has been stopped');
      if (!isWorkflow(workflow))
        fail('runtime.start', 'workflow', workflow, 'must be a workflow made by defineWorkflow');
      const runId = startOptions.runId ?? nanoid();
      if (typeof runId !== 'string' || runId.length === 0)
        fail('runtime.start', 'runId', runId, 'must be a non-empty string');
      if (active.has(runId)) fail('runtime.start', 'runId', runId, 'is already running in this runtime');
      const run = startRun(
        {
          clock: o.clock,
          machine: machineFor(workflow),
          observers: o.inspect ?? [],
          onObserverError,
          onEnd: (id) => {
            active.delete(id);
            releasePermits(id);
          },
          track: (ref) => reviews.track(ref),
        },
        workflow,
        input,
        runId,
        startOptions.signal,
      );
      // An input that failed validation ends at once and is never active.
      if (run.actor) active.set(runId, run as Run);
      return run;
    },
    runs: () => [...active.values()],
    breakers: () => breakers,
    breaker: (key) => breakers.get(key)?.state(),
    async stop() {
      stopped = true;
      const ending = [...active.values()];
      for (const run of ending) run.cancel('the runtime stopped');
      await Promise.all(ending.map((run) => run.done));
      for (const breaker of breakers.values()) breaker.stop();
    },
  };
}
