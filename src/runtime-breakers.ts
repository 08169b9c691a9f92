import { assign } from 'xstate';
import type { Clock } from '../machines/clock.js';
import type { EdgeDecision } from '../machines/edge-result.js';
import { applyGate } from '../machines/gate.js';
import { admitted, gated, resultOf } from '../machines/step-decisions.js';
import type { AdmitParams, GateParams } from '../machines/workflow.js';
import type { Admission, WorkflowContext } from '../machines/workflow-context.js';
import type { Breaker, Permit } from './breaker.js';
import { acquirePermit, createBreaker, permitDecision } from './breaker.js';
import type { RunObserver } from './run-observer.js';
import { traceBreaker } from './trace/breaker-spans.js';
import type { ObserverErrorHandler } from './trace/report.js';
import type { Workflow } from './workflow/define.js';

/**
 * The runtime's shared breakers, one per edge key for every run, and the workflow actions that ask
 * them: `admit` (may the step's agent be called?) and `gate` (record its result, pass or block it).
 * Permits live here, keyed by an id the workflow keeps in its (JSON) context.
 */
export interface BreakerRegistryOptions {
  clock: Clock | undefined;
  onError: ObserverErrorHandler;
  /** Called when a breaker changes state (to persist it). */
  onBreakerChange?: (key: string, breaker: Breaker) => void;
  /** Persisted breaker snapshots to resume from, by key. */
  snapshots?: ReadonlyMap<string, unknown>;
}

export function createBreakerRegistry(options: BreakerRegistryOptions) {
  const breakers = new Map<string, Breaker>();
  const permits = new Map<string, Permit>();
  // Permit ids by run, so ending a run touches its own permits, not everyone's: a run in sequence
  // holds one at a time, kept as is; a set only for a run that holds several (parallel branches).
  const byRun = new Map<string, string | Set<string>>();
  const observers = new Map<string, RunObserver>();
  // The run whose call is crossing a breaker right now: its events (opened, rejected) are synchronous.
  let crossing: string | null = null;
  let seq = 0;

  function breakerFor(workflow: Workflow, key: string): Breaker {
    let breaker = breakers.get(key);
    if (!breaker) {
      const { minQuality, ...rest } = workflow.breakers.get(key) ?? { minQuality: 'MEDIUM' as const };
      const snapshot = options.snapshots?.get(key);
      breaker = createBreaker(key, {
        ...rest,
        minQuality,
        ...(options.clock ? { clock: options.clock } : {}),
        ...(snapshot ? { snapshot: snapshot as never } : {}),
        onListenerError: (error) => options.onError(error, `breaker ${key}`),
      });
      if (options.onBreakerChange) {
        const changed = options.onBreakerChange;
        const b = breaker;
        let last = b.actor.getSnapshot();
        b.actor.subscribe((snap) => {
          if (snap === last) return;
          last = snap;
          changed(key, b);
        });
      }
      const run = () => (crossing === null ? undefined : observers.get(crossing));
      traceBreaker(breaker, {
        recorder: () => run()?.recorder,
        events: () => run()?.events,
        runId: () => crossing,
        onError: options.onError,
      });
      breakers.set(key, breaker);
    }
    return breaker;
  }

  const across = <T>(runId: string, f: () => T): T => {
    crossing = runId;
    try {
      return f();
    } finally {
      crossing = null;
    }
  };

  type Args = { context: WorkflowContext; event: { type: string } };
  // Both decide inside the step's transition (assign actions): the breaker is asked synchronously,
  // and the answer is in the slot the step's eventless transitions route on.
  const actions = (workflow: Workflow) => ({
    admit: assign(({ context }: Args, params: AdmitParams) => {
      const { runId } = context;
      let admission: Admission = { allowed: true, permit: null };
      if (params.breaker !== null) {
        const breaker = breakerFor(workflow, params.breaker);
        const acquired = across(runId, () => acquirePermit(breaker));
        if (!acquired.allowed) {
          admission = { allowed: false, refusal: acquired.fallback };
          observers.get(runId)?.refused(context, params.stepId, acquired.fallback);
        } else {
          // Joined, not a template: a flat string, which the step's slot keeps while it runs.
          const id = [runId, ':', params.stepId, ':', ++seq].join('');
          permits.set(id, acquired.permit);
          const ids = byRun.get(runId);
          if (ids === undefined) byRun.set(runId, id);
          else if (typeof ids === 'string') byRun.set(runId, new Set([ids, id]));
          else ids.add(id);
          admission = { allowed: true, permit: id };
        }
      }
      return admitted(context, params.stepId, admission);
    }),
    gate: assign(({ context, event }: Args, params: GateParams) => {
      const { runId } = context;
      const slot = context.slots[params.stepId]!;
      const result = resultOf(context, params.stepId, event);
      const held = slot.permit === null ? undefined : permits.get(slot.permit);
      let decision: EdgeDecision;
      if (held) {
        permits.delete(slot.permit!);
        const ids = byRun.get(runId);
        if (ids === slot.permit) byRun.delete(runId);
        else if (typeof ids === 'object') ids.delete(slot.permit!);
        decision = across(runId, () => held.record(result));
      } else decision = applyGate(result, params);
      observers.get(runId)?.gated(context, params.stepId, decision);
      return gated(context, params.stepId, result, decision);
    }),
  });

  // The happy path's guards, which decide like the actions above without acting: a closed breaker
  // admits every call (`acquirePermit` grants it without a transition), and the gate decides with
  // the options of the breaker that granted the step's permit. A step they pass decides inside the
  // transition that needs the answer (machines/workflow-steps.ts); any other goes by the states.
  const guards = {
    admitsNow: (_args: Args, params: AdmitParams) =>
      params.breaker === null || breakers.get(params.breaker)?.actor.getSnapshot().value === 'closed',
    gatePasses: ({ context, event }: Args, params: GateParams) => {
      const permit = context.slots[params.stepId]!.permit;
      const result = resultOf(context, params.stepId, event);
      if (permit === null) return applyGate(result, params).passed;
      const held = permits.get(permit);
      return held !== undefined && permitDecision(held, result)?.passed === true;
    },
  };

  return {
    breakers: breakers as ReadonlyMap<string, Breaker>,
    guards,
    /** Create a workflow's breakers up front: an actor made while XState runs an action warns. */
    prepare(workflow: Workflow) {
      for (const key of workflow.breakers.keys()) breakerFor(workflow, key);
    },
    actions,
    /** Route breaker events of a run's calls to its tracer (null when the run ends). */
    observe(runId: string, observer: RunObserver | null) {
      if (observer) observers.set(runId, observer);
      else observers.delete(runId);
    },
    /** A run that ended mid-call (cancel, deadline) gives its permits back, so no probe stays held. */
    release(runId: string) {
      const ids = byRun.get(runId);
      byRun.delete(runId);
      for (const id of typeof ids === 'string' ? [ids] : (ids ?? [])) {
        const held = permits.get(id);
        permits.delete(id);
        held?.release();
      }
    },
    stop() {
      for (const breaker of breakers.values()) breaker.stop();
    },
  };
}
