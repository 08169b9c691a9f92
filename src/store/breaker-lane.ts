import type { Backend } from './backend.js';
import { ioError, StoreError } from './errors.js';
import { invalid } from './record-write.js';
import { decodeBreaker, encodeRecord } from './records.js';
import type { StoredBreakers } from './store.js';

/**
 * The breakers' lane of recordStore: one promise chain for all breaker saves and loads, apart from
 * the runs' lanes (a breaker is shared by runs, so it belongs to none). Saves that arrive while it
 * is busy go out as one batch, like a run's writes; a load waits for the saves called before it.
 */

interface BreakerOp {
  key: string;
  line: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface BreakerLane {
  /** The end of the chain: settles once everything queued so far has run. */
  readonly tail: Promise<void>;
  /** Saves are waiting for their batch. */
  readonly busy: boolean;
  /** Check and encode a save now (throws a StoreError when invalid), then queue it for the batch. */
  save(key: string, snapshot: unknown, at: number): Promise<void>;
  load(): Promise<StoredBreakers>;
}

export function breakerLane(backend: Backend): BreakerLane {
  const lane = { tail: Promise.resolve(), pending: [] as BreakerOp[], scheduled: false };

  function onBreakers<T>(task: () => Promise<T>): Promise<T> {
    const result = lane.tail.then(task);
    lane.tail = result.then(
      () => {},
      () => {},
    );
    return result;
  }

  // Not async: an invalid save throws here, and the store's async saveBreaker turns it into a rejection.
  function save(key: string, snapshot: unknown, at: number): Promise<void> {
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
    const done = new Promise<void>((resolve, reject) => lane.pending.push({ key, line, resolve, reject }));
    if (!lane.scheduled) {
      lane.scheduled = true;
      void onBreakers(async () => {
        lane.scheduled = false;
        const batch = lane.pending.splice(0);
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
  }

  function load(): Promise<StoredBreakers> {
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
  }

  return {
    get tail() {
      return lane.tail;
    },
    get busy() {
      return lane.pending.length > 0;
    },
    save,
    load,
  };
}
