import type { LogEntry } from '../log/state-log.js';
import { parseOptions } from '../options.js';
import type { Backend } from './backend.js';
import { RunExists } from './backend.js';
import { ioError, isStoreError, prefix, StoreError } from './errors.js';
import type { Op, RecordStoreOptions } from './record-write.js';
import {
  capture,
  DEFAULT_MAX_RECORD_BYTES,
  encodeOp,
  exceeds,
  invalid,
  megabytes,
  optionsSchema,
  seqRange,
} from './record-write.js';
import type { RunState } from './records.js';
import {
  checkEntries,
  checkFields,
  checkPlace,
  decodeBreaker,
  decodeRecord,
  emptyRunState,
  encodeRecord,
  readRun,
  toStoredRun,
} from './records.js';
import type { RunCommit, RunFinish, Store, StoredBreakers, StoredRun, UnfinishedRuns } from './store.js';
import { checkRunId, isTerminalStatus } from './store.js';

/**
 * A Store over any Backend: the one place where writes are checked, ordered and batched.
 *
 * Each run has a lane: a promise chain its writes, loads and removal run on, one at a time, in call
 * order. Writes that arrive while the lane is busy wait in `pending` and go out as one batch (one
 * append, one fsync): group commit, so a caller may fire a commit per snapshot without awaiting.
 * A write's data is captured (frozen) when it is called, so changing the objects afterwards changes
 * nothing stored; it is encoded in lane order, as changes on what the run stored before (codec.ts).
 */

interface Lane {
  readonly runId: string;
  /** What the next write continues from; null when unknown (read before writing). */
  state: RunState | null;
  pending: Op[];
  scheduled: boolean;
  tail: Promise<void>;
  tasks: number;
}

export type { RecordStoreOptions } from './record-write.js';
export { recordStoreOptions } from './record-write.js';

export function recordStore(
  backend: Backend,
  options: RecordStoreOptions = {},
  where = 'recordStore',
): Store {
  const maxRecordBytes =
    parseOptions(optionsSchema, options, where).maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const lanes = new Map<string, Lane>();
  const breakerLane = { tail: Promise.resolve(), pending: [] as BreakerOp[], scheduled: false };
  let closed = false;
  let closing: Promise<void> | undefined;

  const ensureOpen = (runId?: string) => {
    if (closed) throw new StoreError('closed', runId, `${prefix(runId)}the ${backend.kind} store is closed`);
  };

  function laneOf(runId: string): Lane {
    let lane = lanes.get(runId);
    if (!lane) {
      lane = { runId, state: null, pending: [], scheduled: false, tail: Promise.resolve(), tasks: 0 };
      lanes.set(runId, lane);
    }
    return lane;
  }

  /** Run a task on a lane after everything queued on it; drop the lane when idle and not needed. */
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

  interface BreakerOp {
    key: string;
    line: string;
    resolve: () => void;
    reject: (error: unknown) => void;
  }

  function onBreakers<T>(task: () => Promise<T>): Promise<T> {
    const result = breakerLane.tail.then(task);
    breakerLane.tail = result.then(
      () => {},
      () => {},
    );
    return result;
  }

  async function drainAll(): Promise<void> {
    // Writes called while waiting join the lanes too: wait until nothing is left.
    for (;;) {
      const tails = [...[...lanes.values()].map((l) => l.tail), breakerLane.tail];
      await Promise.all(tails);
      const busy = [...lanes.values()].some((l) => l.tasks > 0) || breakerLane.pending.length > 0;
      if (!busy) return;
    }
  }

  async function load(runId: string): Promise<StoredRun> {
    checkRunId(runId);
    ensureOpen(runId);
    const lane = laneOf(runId);
    return onLane(lane, async () => {
      const { state, torn } = await readState(runId);
      const stored = toStoredRun(state, torn);
      // Prime the lane of a run about to be resumed, so its next write needs no read.
      if (!lane.state && lane.pending.length === 0 && !isTerminalStatus(state.meta!.status)) {
        lane.state = {
          ...state,
          meta: { ...state.meta! },
          entries: [],
          snapshot: null,
          actors: {},
          result: undefined,
        };
      }
      return stored;
    });
  }

  const store: Store = {
    kind: backend.kind,

    async create(run) {
      if (typeof run !== 'object' || run === null)
        throw invalid(undefined, 'create needs { runId, workflowId, input, startedAt }');
      checkRunId(run.runId);
      ensureOpen(run.runId);
      const { runId, workflowId, input, startedAt } = run;
      const problem = checkFields({ t: 'meta', workflowId, startedAt });
      if (problem) throw invalid(runId, problem);
      const fields = { workflowId, input: capture(runId, 'input', input) ?? null, startedAt };
      return submit(runId, {
        t: 'meta',
        fields,
        entries: undefined,
        snapshot: undefined,
        stepId: undefined,
        firstSeq: undefined,
        lastSeq: undefined,
        status: 'running',
        at: startedAt,
        // The lane only needs the status; the input is read back from the medium when loaded.
        meta: { runId, workflowId, input: undefined, startedAt },
      });
    },

    async commit(runId, commit: RunCommit) {
      checkRunId(runId);
      ensureOpen(runId);
      if (typeof commit !== 'object' || commit === null)
        throw invalid(runId, 'commit needs { at, entries?, snapshot?, actors?, status? }');
      const { at, entries, snapshot, actors, status, stepId } = commit;
      const record = { t: 'commit', at, entries, snapshot, actors, status };
      const problem = checkFields(record) ?? checkEntries(entries, 0);
      if (problem) throw invalid(runId, problem);
      const [firstSeq, lastSeq] = seqRange(entries);
      const fields = {
        at,
        ...(actors !== undefined ? { actors: capture(runId, 'the commit', actors) } : {}),
        ...(status !== undefined ? { status } : {}),
      };
      return submit(runId, {
        t: 'commit',
        fields,
        entries: entries && (capture(runId, 'the commit', entries) as LogEntry[]),
        snapshot: snapshot === undefined ? undefined : capture(runId, 'the commit', snapshot),
        stepId: typeof stepId === 'string' ? stepId : undefined,
        firstSeq,
        lastSeq,
        status,
        at,
        meta: undefined,
      });
    },

    async finish(runId, finish: RunFinish) {
      checkRunId(runId);
      ensureOpen(runId);
      if (typeof finish !== 'object' || finish === null)
        throw invalid(runId, 'finish needs { status, result, at }');
      const { status, result, at, entries, stepId } = finish;
      const problem = checkFields({ t: 'finished', status, at }) ?? checkEntries(entries, 0);
      if (problem) throw invalid(runId, problem);
      const [firstSeq, lastSeq] = seqRange(entries);
      const fields = { at, status, result: capture(runId, 'the result', result) ?? null };
      return submit(runId, {
        t: 'finished',
        fields,
        entries: entries && (capture(runId, 'the result', entries) as LogEntry[]),
        snapshot: undefined,
        stepId: typeof stepId === 'string' ? stepId : undefined,
        firstSeq,
        lastSeq,
        status,
        at,
        meta: undefined,
      });
    },

    load,

    async listUnfinished(): Promise<UnfinishedRuns> {
      ensureOpen();
      const runs: StoredRun[] = [];
      const errors: StoreError[] = [];
      for (const runId of await store.runIds()) {
        try {
          // A finished run ends in a valid `finished` record: tell it from the last line alone.
          const last = lanes.has(runId) ? undefined : await backend.last(runId);
          const decoded = last === undefined ? undefined : decodeRecord(last);
          if (decoded?.ok && decoded.record.t === 'finished' && decoded.record.runId === runId) continue;
          const run = await load(runId);
          if (!isTerminalStatus(run.meta.status)) runs.push(run);
        } catch (error) {
          // A run removed meanwhile, or whose first write never completed, is not a run.
          if (isStoreError(error) && error.code === 'notFound') continue;
          errors.push(isStoreError(error) ? error : ioError(runId, 'reading', error));
        }
      }
      return Object.freeze({ runs: Object.freeze(runs), errors: Object.freeze(errors) });
    },

    async runIds() {
      ensureOpen();
      let ids: string[];
      try {
        ids = await backend.runIds();
      } catch (error) {
        throw ioError(undefined, 'listing runs', error);
      }
      // Anything else in the medium (temporary files, other apps' keys) is not a run.
      return ids
        .filter((id) => {
          try {
            checkRunId(id);
            return true;
          } catch {
            return false;
          }
        })
        .sort();
    },

    async remove(runId) {
      checkRunId(runId);
      ensureOpen(runId);
      const lane = laneOf(runId);
      return onLane(lane, async () => {
        try {
          await backend.remove(runId);
        } catch (error) {
          throw ioError(runId, 'removing', error);
        }
        lane.state = null;
      });
    },

    async saveBreaker(key, snapshot, at) {
      ensureOpen();
      if (typeof key !== 'string' || key.length === 0)
        throw invalid(undefined, 'a breaker key must be a non-empty string');
      if (typeof at !== 'number' || !Number.isFinite(at))
        throw invalid(undefined, `breaker ${JSON.stringify(key)}: at must be a finite number`);
      if (snapshot === undefined) throw invalid(undefined, `breaker ${JSON.stringify(key)}: no snapshot`);
      let line: string;
      try {
        line = encodeRecord({ t: 'breaker', key, at, snapshot });
      } catch (error) {
        throw invalid(
          undefined,
          `breaker ${JSON.stringify(key)}: the snapshot cannot be stored as JSON: ${String(error)}`,
        );
      }
      const done = new Promise<void>((resolve, reject) =>
        breakerLane.pending.push({ key, line, resolve, reject }),
      );
      if (!breakerLane.scheduled) {
        breakerLane.scheduled = true;
        void onBreakers(async () => {
          breakerLane.scheduled = false;
          const batch = breakerLane.pending.splice(0);
          try {
            await backend.putBreakers(batch);
            for (const op of batch) op.resolve();
          } catch (error) {
            const failure = ioError(undefined, 'saving breakers', error);
            for (const op of batch) op.reject(failure);
          }
        });
      }
      return done;
    },

    async loadBreakers(): Promise<StoredBreakers> {
      ensureOpen();
      return onBreakers(async () => {
        let lines: Awaited<ReturnType<Backend['readBreakers']>>;
        try {
          lines = await backend.readBreakers();
        } catch (error) {
          throw ioError(undefined, 'reading breakers', error);
        }
        const latest = new Map<string, { snapshot: unknown; line: string }>();
        const errors: StoreError[] = [];
        for (const { line, location } of lines) {
          const decoded = decodeBreaker(line);
          if ('reason' in decoded) {
            errors.push(
              new StoreError(
                decoded.code,
                undefined,
                `store: breaker record at ${location}: ${decoded.reason}`,
                {
                  location,
                },
              ),
            );
          } else {
            latest.delete(decoded.key); // keeps the map in order of last write
            latest.set(decoded.key, { snapshot: decoded.snapshot, line });
          }
        }
        // History of superseded breaker snapshots only grows: rewrite it when it is mostly stale.
        if (backend.compactBreakers && errors.length === 0 && lines.length > 2 * latest.size + 64) {
          try {
            await backend.compactBreakers([...latest.values()].map((b) => b.line));
          } catch {
            // Compaction is an optimisation; the full history is still valid.
          }
        }
        const breakers = new Map([...latest].map(([key, b]) => [key, b.snapshot]));
        return Object.freeze({ breakers, errors: Object.freeze(errors) });
      });
    },

    async flush(runId) {
      if (runId === undefined) return drainAll();
      // One run: wait for its lane until nothing is queued on it (writes may join while waiting).
      for (let lane = lanes.get(runId); lane && lane.tasks > 0; lane = lanes.get(runId)) await lane.tail;
    },

    close() {
      if (!closing) {
        closed = true;
        closing = (async () => {
          await drainAll();
          try {
            await backend.close();
          } catch (error) {
            throw ioError(undefined, 'closing', error);
          }
        })();
      }
      return closing;
    },
  };
  return Object.freeze(store);
}
