import type { WriteOp } from '../../machines/reducers.js';
import type { RunView } from './run-scope.js';

/**
 * A run's shared-state history on Restate: every write the run's blackboard statechart accepted,
 * in version order, with what was written, and the state it ends in. There are no actor snapshots
 * on Restate (the statecharts' state is not what the engine journals), so this is the state log
 * the engine can give: the shared state's versions, not every actor's.
 */

/** One accepted write: the blackboard's commit plus the value the step wrote. */
export interface StateWrite {
  /** The version this write created (1, 2, …). */
  version: number;
  /** The written key (dotted). */
  key: string;
  /** The writer: the agent of the step that wrote. */
  agentId: string;
  stepId: string;
  visit: number;
  /** `set`, or the key's reducer (`append`, `merge`, `sum`, `lastWriteWins`, `custom`). */
  op: WriteOp;
  /** What the step wrote: the new value for `set`, the patch / item / increment for a reducer. */
  value: unknown;
  /** When it was committed (journaled time, ms). */
  at: number;
  writeId: string | null;
}

export interface RestateStateLog {
  runId: string;
  workflowId: string;
  /** The run's status when read: the log is as far as the run has gone. */
  status: RunView['status'];
  /** The state at version 0 (the state schema's defaults, or `{}`). */
  initial: Readonly<Record<string, unknown>>;
  writes: StateWrite[];
  /** The state after the last accepted write, and its version. */
  state: Readonly<Record<string, unknown>>;
  version: number;
}

export function stateLogOf(runId: string, view: RunView): RestateStateLog {
  return {
    runId,
    workflowId: view.workflowId,
    status: view.status,
    initial: view.initial ?? {},
    writes: view.writes ?? [],
    state: view.state,
    version: view.stateVersion,
  };
}
