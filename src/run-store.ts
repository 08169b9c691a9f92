import type { AnyActorRef } from 'xstate';
import type { WorkflowContext } from '../machines/workflow-context.js';
import { freezeForLog } from './log/freeze.js';
import type { LogEntry, StateLog } from './log/state-log.js';
import type { RunTerminal } from './run-result.js';
import { isStoreError } from './store/errors.js';
import type { Store } from './store/store.js';
import type { ObserverErrorHandler } from './trace/report.js';

/**
 * A run's persistence: the store learns of the run before its actor starts, gets a commit at every
 * checkpoint (a step starts or ends, the run waits for a human) with the log entries since the last
 * one and the workflow's persisted snapshot (its children — agents, reviews — included), and the
 * result when it ends. Writes of one run reach the store in order; a failing write is reported and
 * the run goes on.
 */
export interface RunPersistence {
  /** Resolves once the store has the run, so its actor may start (immediately for a resumed run). */
  readonly created: Promise<void>;
  /**
   * Called with each workflow snapshot; commits when it is a checkpoint. `notified` names the pending
   * reviews whose hook has succeeded: when it changes, that is persisted too (no re-notify on resume).
   */
  observe(context: WorkflowContext, awaitingReview: boolean, notified?: string): void;
  finish(result: RunTerminal): void;
}

export interface PersistRunOptions {
  store: Store;
  runId: string;
  workflowId: string;
  input: unknown;
  startedAt: number;
  log: StateLog;
  actor: () => AnyActorRef;
  now: () => number;
  onError: ObserverErrorHandler;
  /** Already in the store (a resumed run): no `create`. */
  resumed: boolean;
  /**
   * The store refused a record as too large: the run must end (in a fallback), since it can no
   * longer be stored. Called once; later checkpoints are not committed, the finish still is.
   */
  onRefused?: (reason: string) => void;
}

/** Nesting kept in a stored snapshot: the blackboard's limit, plus the snapshot's own levels. */
const SNAPSHOT_DEPTH = 300;

export function persistRun(o: PersistRunOptions): RunPersistence {
  const pending: LogEntry[] = [];
  o.log.subscribe((entry) => {
    pending.push(entry);
  });
  const report = (error: unknown) => o.onError(error, `the store (run ${o.runId})`);
  const created = o.resumed
    ? Promise.resolve()
    : o.store.create({ runId: o.runId, workflowId: o.workflowId, input: o.input, startedAt: o.startedAt });
  // The run starts once the store has it; if the store refused it, the failure is reported and the
  // run goes on without persistence (it still has its in-memory log).
  let disabled = false;
  void created.catch((error) => {
    disabled = true;
    report(error);
  });

  let seenSteps = -1;
  let seenVisits: unknown;
  let seenWaiting = false;
  let seenNotified = '';
  let refused = false;
  const onCommitError = (error: unknown) => {
    if (isStoreError(error) && error.code === 'tooLarge' && !refused) {
      refused = true;
      o.onRefused?.(error.message);
    }
    report(error);
  };

  return {
    created: created.catch(() => undefined),
    observe(context, awaitingReview, notified = '') {
      if (disabled || refused) return;
      const checkpoint =
        context.steps.length !== seenSteps ||
        context.visits !== seenVisits ||
        awaitingReview !== seenWaiting ||
        notified !== seenNotified;
      if (!checkpoint) return;
      // A step that ended is what this checkpoint carries (its output), else the one that started.
      const stepId = context.steps.length !== seenSteps ? context.steps.at(-1)?.stepId : stepOf(context);
      seenSteps = context.steps.length;
      seenVisits = context.visits;
      seenWaiting = awaitingReview;
      seenNotified = notified;
      const entries = pending.splice(0);
      o.store
        .commit(o.runId, {
          at: o.now(),
          entries,
          // Frozen and structurally shared with the log (and the previous commit), so the store
          // captures it for free and encodes only what changed.
          // The depth allows what the blackboard accepts (256 levels) under the snapshot's own.
          snapshot: freezeForLog(o.actor().getPersistedSnapshot(), undefined, SNAPSHOT_DEPTH),
          status: awaitingReview ? 'awaitingReview' : 'running',
          ...(stepId === undefined ? {} : { stepId }),
        })
        .catch(onCommitError);
    },
    finish(result) {
      if (disabled) return;
      o.store
        .finish(o.runId, { status: result.status, result, at: result.endedAt, entries: pending.splice(0) })
        .catch(report);
    },
  };
}

/** The step that started last, else the one that ended last. */
function stepOf(context: WorkflowContext): string | undefined {
  let last: string | undefined;
  for (const stepId in context.slots) last = stepId;
  return last ?? context.steps[context.steps.length - 1]?.stepId;
}
