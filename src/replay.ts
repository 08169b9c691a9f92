import type { AnyActorLogic } from 'xstate';
import { createActor, fromPromise, setup } from 'xstate';
import { provideWorkflow } from '../machines/workflow.js';
import type { WorkflowContext } from '../machines/workflow-context.js';
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
// Writes are answered by the logged `blackboard.outcome` events, so the stand-in only listens.
const silentBoard = setup({}).createMachine({ id: 'blackboard', initial: 'open', states: { open: {} } });

/**
 * Re-drive a workflow from a stored run's log: a fresh workflow actor whose agents, services and
 * breaker actions are stand-ins that do nothing, fed the events its logged run received. The logged
 * agent results, gate decisions and timers take the place of the calls.
 */
export function replayRun(workflow: Workflow, stored: StoredRun): Replay {
  const rootId = workflow.id;
  const line = timeline(stored.entries, rootId);
  const stubs: Record<string, AnyActorLogic> = {
    blackboard: silentBoard,
    prepare: never,
    route: never,
    finalize: never,
  };
  for (const agentId of workflow.agents.keys()) stubs[`agent:${agentId}`] = never;
  for (const agentId of workflow.reviewedAgents) stubs[`review:${agentId}`] = never;
  const machine = provideWorkflow(workflow.machine, stubs).provide({
    actions: { admit: () => {}, gate: () => {} },
  } as never);
  const firstState = line.entries()[0]?.event as { input?: { runId?: string; input?: unknown } } | undefined;
  const actor = createActor(machine, {
    id: rootId,
    input: { runId: stored.meta.runId, input: firstState?.input?.input ?? stored.meta.input },
  });
  const values: unknown[] = [];
  actor.subscribe({ next: (s) => values.push(s.value), error: () => {} });
  actor.start();
  for (const event of line.events()) {
    if (actor.getSnapshot().status !== 'active') break;
    actor.send(event as { type: 'cancel' });
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
