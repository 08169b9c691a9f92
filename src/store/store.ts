import type { LogEntry } from '../log/state-log.js';
import { isSafeRunId } from '../run-id.js';
import { StoreError } from './errors.js';

/**
 * Where runs survive a restart: each run's state log, its workflow actor's latest persisted snapshot
 * (plus the snapshots of other actors the run owns, such as pending reviews), its status and, once it
 * ends, its result; and the breakers every run shares, by key.
 *
 * Ordering: the writes of one run (`create`, `commit`, `finish`) are applied in the order they are
 * called, whether or not the caller awaited the previous one; each promise resolves once its write is
 * durable (the file store has fsynced it). Writes that queue up while one is in progress are written
 * together: one write, one fsync. Runs are independent of each other. `load` sees every write called
 * before it. Everything stored is JSON data; what a store returns is frozen and shares nothing with
 * what was given to it.
 */

/** Bumped when the stored format changes; a store refuses records of another version. */
export const STORE_FORMAT = 3;

export type ActiveStatus = 'running' | 'awaitingReview';
export type TerminalStatus = 'completed' | 'fallback' | 'failed' | 'cancelled';
export type StoredStatus = ActiveStatus | TerminalStatus;

export const ACTIVE_STATUSES: readonly ActiveStatus[] = Object.freeze(['running', 'awaitingReview']);
export const TERMINAL_STATUSES: readonly TerminalStatus[] = Object.freeze([
  'completed',
  'fallback',
  'failed',
  'cancelled',
]);

export const isTerminalStatus = (s: unknown): s is TerminalStatus =>
  (TERMINAL_STATUSES as readonly unknown[]).includes(s);
export const isActiveStatus = (s: unknown): s is ActiveStatus =>
  (ACTIVE_STATUSES as readonly unknown[]).includes(s);

/** What `create` needs: enough to start the run again if it crashes before its first snapshot. */
export interface NewRun {
  runId: string;
  workflowId: string;
  /** The validated input, JSON. */
  input: unknown;
  startedAt: number;
}

export interface RunMeta extends NewRun {
  status: StoredStatus;
  /** `at` of the latest write. */
  updatedAt: number;
  /** Set once the run is finished. */
  endedAt?: number;
}

export interface RunCommit {
  /** New state log entries, in order; `seq` must go on increasing from the stored ones. */
  entries?: readonly LogEntry[];
  /** The workflow actor's `getPersistedSnapshot()` (JSON). Replaces the previous one. */
  snapshot?: unknown;
  /**
   * Persisted snapshots of other actors the run owns (e.g. its pending reviews), by key; latest wins,
   * `null` deletes the key.
   */
  actors?: Readonly<Record<string, unknown>>;
  /** Default: unchanged. */
  status?: ActiveStatus;
  /** Time on the runtime's clock. */
  at: number;
  /** The step the commit is about, named in messages (a record over the store's cap). */
  stepId?: string;
}

export interface RunFinish {
  status: TerminalStatus;
  /** The run's result (JSON), e.g. its RunResult. */
  result: unknown;
  at: number;
  /** The last log entries, written in the same record as the finish (left out when over the store's cap). */
  entries?: readonly LogEntry[];
  /** The step the run ended at, named in messages. */
  stepId?: string;
}

export interface StoredSnapshot {
  /** What was given as `snapshot`. */
  readonly value: unknown;
  /** The `seq` of the last entry committed with or before it (0 when none). */
  readonly seq: number;
  readonly at: number;
}

/** A run as loaded from a store; frozen. */
export interface StoredRun {
  readonly meta: Readonly<RunMeta>;
  /** The latest workflow snapshot; null when none was committed yet (start again from `meta.input`). */
  readonly snapshot: StoredSnapshot | null;
  /** The latest snapshot of each other actor the run owns. */
  readonly actors: Readonly<Record<string, unknown>>;
  /** Every committed log entry, in order. */
  readonly entries: readonly LogEntry[];
  /** The result given to `finish`; undefined while the run is unfinished. */
  readonly result: unknown;
  /** A write was cut off by a crash (file store) and its partial record was ignored. */
  readonly tornTail: boolean;
}

export interface StoredBreakers {
  /** The latest persisted snapshot per breaker key. */
  readonly breakers: ReadonlyMap<string, unknown>;
  /** Records that could not be read; the breakers they held keep an older snapshot, or none. */
  readonly errors: readonly StoreError[];
}

export interface UnfinishedRuns {
  /** Runs that did not finish, loaded, in run id order. */
  readonly runs: readonly StoredRun[];
  /** Runs that could not be loaded, one error each (naming the run and the bad record). */
  readonly errors: readonly StoreError[];
}

export interface Store {
  /** `memory`, `file` or `browser` (or a custom name); used in messages. */
  readonly kind: string;
  /** Record a new run, status `running`. Refused (`invalid`) when the run id is unsafe or taken. */
  create(run: NewRun): Promise<void>;
  /** Append log entries and/or the latest snapshots of a run. */
  commit(runId: string, commit: RunCommit): Promise<void>;
  /** Mark a run finished with its result; later writes to it are refused. */
  finish(runId: string, finish: RunFinish): Promise<void>;
  /** A run with its log and latest snapshots. Throws StoreError `notFound`, `corrupt` or `wrongVersion`. */
  load(runId: string): Promise<StoredRun>;
  /** Every run not finished yet. A run that cannot be loaded is an error in the result, never a throw. */
  listUnfinished(): Promise<UnfinishedRuns>;
  /** The ids of every stored run, finished or not, sorted. */
  runIds(): Promise<string[]>;
  /** Delete a run (e.g. a finished one past its retention). */
  remove(runId: string): Promise<void>;
  /** Save a shared breaker's persisted snapshot (`breaker.persist()`); the latest per key wins. */
  saveBreaker(key: string, snapshot: unknown, at: number): Promise<void>;
  loadBreakers(): Promise<StoredBreakers>;
  /**
   * Resolves when every write called so far (to one run, or to all) is durable. Await it for a run
   * before a side effect that must not repeat a step the run has already recorded as done.
   */
  flush(runId?: string): Promise<void>;
  /** Flush, then release the storage; later calls are refused (`closed`). */
  close(): Promise<void>;
  /**
   * Flush, then give up ownership of the storage so another process may open it (the file store's
   * folder lock); the store stays usable and takes ownership again on its next call. `runtime.stop()`
   * calls it. Optional: stores without an owner need none.
   */
  release?(): Promise<void>;
}

/** Throws StoreError `invalid` unless the run id is safe as a file name on every platform (src/run-id.ts). */
export function checkRunId(runId: unknown): asserts runId is string {
  if (isSafeRunId(runId)) return;
  const shown = typeof runId === 'string' ? JSON.stringify(runId) : String(runId);
  throw new StoreError(
    'invalid',
    typeof runId === 'string' ? runId : undefined,
    `store: run id ${shown.length > 80 ? `${shown.slice(0, 77)}...` : shown} is not safe to store: ` +
      'use 1 to 200 letters, digits, _ - . (not starting with a dot; no / \\ or other separators)',
  );
}
