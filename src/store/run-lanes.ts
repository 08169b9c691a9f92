import type { Backend } from './backend.js';
import { RunExists } from './backend.js';
import { ioError, prefix, StoreError } from './errors.js';
import type { Op } from './record-write.js';
import { encodeOp, exceeds, invalid, megabytes } from './record-write.js';
import type { RunState } from './records.js';
import { checkPlace, emptyRunState, readRun } from './records.js';
import { isTerminalStatus } from './store.js';

/**
 * The per-run lanes of recordStore: where a run's writes are checked, ordered and batched.
 *
 * Each run has a lane: a promise chain its writes, loads and removal run on, one at a time, in call
 * order. Writes that arrive while the lane is busy wait in `pending` and go out as one batch (one
 * append, one fsync): group commit, so a caller may fire a commit per snapshot without awaiting.
 * A write is encoded in lane order, as changes on what the run stored before (codec.ts).
 */

export interface Lane {
  readonly runId: string;
  /** What the next write continues from; null when unknown (read before writing). */
  state: RunState | null;
  pending: Op[];
  scheduled: boolean;
  tail: Promise<void>;
  tasks: number;
}

export interface RunLanes {
  /** The live lanes, by run id: the store's flush and drain wait on their tails. */
  readonly lanes: ReadonlyMap<string, Lane>;
  laneOf(runId: string): Lane;
  /** Run a task on a lane after everything queued on it; drop the lane when idle and not needed. */
  onLane<T>(lane: Lane, task: () => Promise<T>): Promise<T>;
  /** Read a run whole from the backend; a missing run or an over-cap record is a StoreError. */
  readState(runId: string): Promise<{ state: RunState; torn: boolean }>;
  /** Queue a write on its run's lane; it settles once its batch is durable or refused. */
  submit(runId: string, op: Omit<Op, 'resolve' | 'reject'>): Promise<void>;
}

export function runLanes(backend: Backend, maxRecordBytes: number): RunLanes {
  const lanes = new Map<string, Lane>();

  function laneOf(runId: string): Lane {
    let lane = lanes.get(runId);
    if (!lane) {
      lane = { runId, state: null, pending: [], scheduled: false, tail: Promise.resolve(), tasks: 0 };
      lanes.set(runId, lane);
    }
    return lane;
  }

  function onLane<T>(lane: Lane, task: () => Promise<T>): Promise<T> {
    lane.tasks++;
    const result = lane.tail.then(task);
    lane.tail = result.then(
      () => settled(lane),
      () => settled(lane),
    );
    return result;
  }

  function settled(lane: Lane) {
    lane.tasks--;
    const live = lane.state?.meta && !isTerminalStatus(lane.state.meta.status);
    // Keep the lanes of unfinished runs (their state saves a read); forget the rest.
    if (lane.tasks === 0 && !live && lanes.get(lane.runId) === lane) {
      lanes.delete(lane.runId);
      backend.release?.(lane.runId);
    }
  }

  async function readState(runId: string): Promise<{ state: RunState; torn: boolean }> {
    const reader = readRun(runId, (line) => backend.locate(runId, line));
    let data: Awaited<ReturnType<Backend['read']>>;
    try {
      data = await backend.read(runId, reader.line, maxRecordBytes);
    } catch (error) {
      if ((error as { isLineTooLong?: unknown })?.isLineTooLong === true) {
        const { line } = error as { line: number };
        const location = backend.locate(runId, line);
        throw new StoreError(
          'tooLarge',
          runId,
          `${prefix(runId)}the record at ${location} is over this store's cap of ${megabytes(maxRecordBytes)} ` +
            '(maxRecordBytes); open the store with a larger maxRecordBytes to read it',
          { location, line },
        );
      }
      throw ioError(runId, 'reading', error);
    }
    if (!data)
      throw new StoreError('notFound', runId, `${prefix(runId)}not found in the ${backend.kind} store`);
    return { state: reader.end(data.torn), torn: data.torn };
  }

  // Group commit: the first write on an idle lane schedules one task; every write queued before that
  // task runs joins its batch.
  function submit(runId: string, op: Omit<Op, 'resolve' | 'reject'>): Promise<void> {
    const lane = laneOf(runId);
    const done = new Promise<void>((resolve, reject) => lane.pending.push({ ...op, resolve, reject }));
    if (!lane.scheduled) {
      lane.scheduled = true;
      void onLane(lane, async () => {
        lane.scheduled = false;
        await writeBatch(lane, lane.pending.splice(0));
      });
    }
    return done;
  }

  // One batch, one append: each op is checked and encoded on a draft of the run's state; refused
  // ops are rejected alone, the accepted ones settle together with the append.
  async function writeBatch(lane: Lane, batch: Op[]): Promise<void> {
    const { runId } = lane;
    if (!lane.state) {
      if (batch[0]!.t === 'meta') lane.state = emptyRunState(runId);
      else {
        try {
          // What the next write continues from; the entries themselves are not kept.
          lane.state = { ...(await readState(runId)).state, entries: [], result: undefined };
        } catch (error) {
          for (const op of batch) op.reject(error);
          return;
        }
      }
    }
    const before = lane.state;
    // A draft: becomes the lane's state only once the lines are durable.
    const draft: RunState = { ...before, meta: before.meta && { ...before.meta } };
    const create = draft.n === 0;
    const lines: string[] = [];
    const accepted: Op[] = [];
    for (const op of batch) {
      const problem =
        checkPlace(draft, op.t, draft.n + 1, runId) ??
        (op.firstSeq !== undefined && op.firstSeq <= draft.lastSeq
          ? `log entry seq ${op.firstSeq} does not follow the stored seq ${draft.lastSeq}`
          : undefined);
      if (problem !== undefined) {
        op.reject(invalid(runId, problem));
        continue;
      }
      let encoded: { line: string; undo: () => void };
      try {
        encoded = encodeOp(runId, draft.n + 1, op, draft.bases, true);
        let size = exceeds(encoded.line, maxRecordBytes);
        // A finish too large with its last entries is written without them: the run must end.
        if (size !== false && op.t === 'finished' && op.entries && op.entries.length > 0) {
          encoded.undo();
          encoded = encodeOp(runId, draft.n + 1, op, draft.bases, false);
          size = exceeds(encoded.line, maxRecordBytes);
        }
        if (size !== false) {
          encoded.undo();
          const what = op.stepId === undefined ? `the ${op.t} record` : `the record of step "${op.stepId}"`;
          op.reject(
            new StoreError(
              'tooLarge',
              runId,
              `${prefix(runId)}${what} is ${megabytes(size)}, over the store's cap of ` +
                `${megabytes(maxRecordBytes)} (maxRecordBytes); it was not stored, and nothing stored before it changed`,
            ),
          );
          continue;
        }
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        op.reject(invalid(runId, `the ${op.t} record cannot be stored as JSON: ${reason}`));
        continue;
      }
      draft.n++;
      lines.push(encoded.line);
      accepted.push(op);
      if (op.lastSeq !== undefined) draft.lastSeq = op.lastSeq;
      if (op.t === 'meta') {
        draft.meta = { ...op.meta!, status: 'running', updatedAt: op.meta!.startedAt };
      } else {
        const meta = draft.meta!;
        meta.updatedAt = op.at;
        if (op.status !== undefined) meta.status = op.status as typeof meta.status;
        if (op.t === 'finished') meta.endedAt = op.at;
      }
    }
    if (lines.length === 0) return;
    try {
      await backend.append(runId, before.n + 1, lines, create);
    } catch (error) {
      // What reached the medium is unknown now: read it again before the next write.
      lane.state = null;
      const failure =
        error instanceof RunExists
          ? invalid(runId, 'the run exists already')
          : ioError(runId, 'writing', error);
      for (const op of accepted) op.reject(failure);
      return;
    }
    lane.state = draft;
    for (const op of accepted) op.resolve();
  }

  return { lanes, laneOf, onLane, readState, submit };
}
