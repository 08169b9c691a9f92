import type { LogEntry } from '../log/state-log.js';
import { parseOptions } from '../options.js';
import type { Backend } from './backend.js';
import { breakerLane } from './breaker-lane.js';
import { ioError, isStoreError, prefix, StoreError } from './errors.js';
import type { RecordStoreOptions } from './record-write.js';
import { capture, DEFAULT_MAX_RECORD_BYTES, invalid, optionsSchema, seqRange } from './record-write.js';
import { checkEntries, checkFields, decodeRecord, toStoredRun } from './records.js';
import { runLanes } from './run-lanes.js';
import type { RunCommit, RunFinish, Store, StoredBreakers, StoredRun, UnfinishedRuns } from './store.js';
import { checkRunId, isTerminalStatus } from './store.js';

/**
 * A Store over any Backend: the one place where writes are checked, ordered and batched.
 *
 * This file wires the parts and checks each call: every run's writes, loads and removal go on its
 * lane, with group commit (run-lanes.ts); breaker saves and loads on the breakers' own lane
 * (breaker-lane.ts). A write's data is captured (frozen) when it is called, so changing the objects
 * afterwards changes nothing stored; it is encoded in lane order, as changes on what the run stored
 * before (codec.ts).
 */

export type { RecordStoreOptions } from './record-write.js';
export { recordStoreOptions } from './record-write.js';

export function recordStore(
  backend: Backend,
  options: RecordStoreOptions = {},
  where = 'recordStore',
): Store {
  const maxRecordBytes =
    parseOptions(optionsSchema, options, where).maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const { lanes, laneOf, onLane, readState, submit } = runLanes(backend, maxRecordBytes);
  const breakers = breakerLane(backend);
  let closed = false;
  let closing: Promise<void> | undefined;

  const ensureOpen = (runId?: string) => {
    if (closed) throw new StoreError('closed', runId, `${prefix(runId)}the ${backend.kind} store is closed`);
  };

  async function drainAll(): Promise<void> {
    // Writes called while waiting join the lanes too: wait until nothing is left.
    for (;;) {
      const tails = [...[...lanes.values()].map((l) => l.tail), breakers.tail];
      await Promise.all(tails);
      const busy = [...lanes.values()].some((l) => l.tasks > 0) || breakers.busy;
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
      return breakers.save(key, snapshot, at);
    },

    async loadBreakers(): Promise<StoredBreakers> {
      ensureOpen();
      return breakers.load();
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
