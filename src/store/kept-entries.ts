import { compact, expand, isCompact } from '../log/compact.js';
import type { LogEntry } from '../log/state-log.js';

/**
 * A run read back keeps its log entries the way the live state log keeps them (log/compact.ts):
 * an actor's earlier states as changes to the state before, rebuilt when read. Holding every entry's
 * state whole made a long run's read grow with the square of its length (a list that grows per
 * step, like the run's steps, was a full copy in every entry).
 */
export class KeptEntries {
  /** Per actor: its last entry's state, whole and as kept. */
  readonly #last = new Map<string, { full: unknown; kept: unknown }>();

  /** The entry to keep for `rest` with state `full` (frozen, sharing what it can with the last). */
  entry(rest: Omit<LogEntry, 'state'>, full: unknown): LogEntry {
    const last = this.#last.get(rest.actorId);
    const kept = last === undefined ? full : compact(full, last.full, last.kept);
    this.#last.set(rest.actorId, { full, kept });
    if (!isCompact(kept)) return Object.freeze({ ...rest, state: full });
    return keptEntry(rest, kept);
  }
}

/**
 * An entry whose state is rebuilt when read: an own enumerable getter, so JSON and structured clone
 * see it as data. What was rebuilt is kept while someone holds it, so a state read twice is the same
 * object then.
 */
function keptEntry(rest: Omit<LogEntry, 'state'>, kept: unknown): LogEntry {
  let built: WeakRef<object> | undefined;
  const entry = { ...rest } as LogEntry;
  Object.defineProperty(entry, 'state', {
    enumerable: true,
    get() {
      const known = built?.deref();
      if (known !== undefined) return known;
      const state = expand(kept) as object;
      built = new WeakRef(state);
      return state;
    },
  });
  return Object.freeze(entry);
}
