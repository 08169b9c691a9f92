import type { AnyActorLogic } from 'xstate';
import { assign, createActor, fromPromise } from 'xstate';
import { applyGate } from '../machines/gate.js';
import { admitted, gated, resultOf } from '../machines/step-decisions.js';
import type { AdmitParams, GateParams } from '../machines/workflow.js';
import { provideWorkflow } from '../machines/workflow.js';
import type { StepSlot, WorkflowContext } from '../machines/workflow-context.js';
import type { Timeline } from './store/replay.js';
import { timeline } from './store/replay.js';
import type { StoredRun } from './store/store.js';
import type { Workflow } from './workflow/define.js';

/** A run re-driven from its log: the workflow's states again, without calling any agent. */
export interface Replay {
  readonly runId: string;
  /** The workflow actor's own entries: step through them with `cursor()`, `at(seq)`, `diff(a, b)`. */
  readonly timeline: Timeline;
  /** The workflow's state value after each logged event, in order, as the replay went through them. */
  readonly values: readonly unknown[];
  /** Where the replay ended, and whether that is where the logged run ended. */
  readonly final: { value: unknown; status: string; context: WorkflowContext };
  readonly matchesLog: boolean;
}

const never = fromPromise(() => new Promise<never>(() => {}));

/**
 * Re-drive a workflow from a stored run's log: a fresh workflow actor whose agents and services are
 * stand-ins that do nothing, fed the events its logged run received. The logged agent results and
 * timers take the place of the calls; the breakers' and the gate's decisions are the ones the log
 * recorded for the step's visit, and writes go through the workflow's own shared-state rules.
 */
export function replayRun(workflow: Workflow, stored: StoredRun): Replay {
  const rootId = workflow.id;
  const line = timeline(stored.entries, rootId);
  const stubs: Record<string, AnyActorLogic> = {
    prepare: never,
    route: never,
    finalize: never,
  };
  for (const agentId of workflow.agents.keys()) stubs[`agent:${agentId}`] = never;
  for (const agentId of workflow.reviewedAgents) stubs[`review:${agentId}`] = never;
  // The logged entry the replay is at: its workflow context holds the decisions its transition took.
  let current = line.entries()[0];
  const logged = (stepId: string, visit: number): StepSlot | undefined => {
    const context = (current?.state as { context?: WorkflowContext } | undefined)?.context;
    const slot = context && Object.hasOwn(context.slots, stepId) ? context.slots[stepId] : undefined;
    return slot?.visit === visit ? slot : undefined;
  };
  // The logged decisions stand in for the breakers and the gate; the happy path's guards read the
  // same ones, so the replay takes the transitions the logged run took.
  type Args = { context: WorkflowContext; event: { type: string } };
  const admissionOf = ({ context }: Args, params: AdmitParams) =>
    logged(params.stepId, context.slots[params.stepId]!.visit)?.admission ?? { allowed: true, permit: null };
  const decisionOf = ({ context, event }: Args, params: GateParams) => {
    const slot = context.slots[params.stepId]!;
    const result = resultOf(context, params.stepId, event);
    return { result, decision: logged(params.stepId, slot.visit)?.decision ?? applyGate(result, params) };
  };
  const machine = provideWorkflow(workflow.machine, stubs).provide({
    actions: {
      admit: assign((args: Args, params: AdmitParams) =>
        admitted(args.context, params.stepId, admissionOf(args, params)),
      ),
      gate: assign((args: Args, params: GateParams) => {
        const { result, decision } = decisionOf(args, params);
        return gated(args.context, params.stepId, result, decision);
      }),
    },
    guards: {
      admitsNow: (args: Args, params: AdmitParams) => admissionOf(args, params).allowed,
      gatePasses: (args: Args, params: GateParams) => decisionOf(args, params).decision.passed,
    },
  } as never);
  const firstState = current?.event as { input?: { runId?: string; input?: unknown } } | undefined;
  const actor = createActor(machine, {
    id: rootId,
    input: { runId: stored.meta.runId, input: firstState?.input?.input ?? stored.meta.input },
  });
  const values: unknown[] = [];
  actor.subscribe({ next: (s) => values.push(s.value), error: () => {} });
  actor.start();
  for (const entry of line.entries()) {
    if ((entry.event as { type?: unknown } | null)?.type === 'xstate.init') continue;
    if (actor.getSnapshot().status !== 'active') break;
    current = entry;
    actor.send(entry.event as { type: 'cancel' });
  }
  const snapshot = actor.getSnapshot();
  const last = line.entries().at(-1)?.state as { value?: unknown } | undefined;
  actor.stop();
  return {
    runId: stored.meta.runId,
    timeline: line,
    values,
    final: { value: snapshot.value, status: snapshot.status, context: snapshot.context },
    matchesLog: JSON.stringify(snapshot.value) === JSON.stringify(last?.value),
  };
}
