import { compact, expand, isCompact, KeptEvents } from '../log/compact.js';
import type { LogEntry } from '../log/state-log.js';

interface Last {
  full: unknown;
  kept: unknown;
}

/**
 * A run read back keeps its log entries the way the live state log keeps them (log/compact.ts):
 * an actor's earlier states, and its events that carry a growing value (an agent's start event,
 * with the shared state in its input), as changes to the ones before, rebuilt when read. Holding
 * every entry's state whole made a long run's read grow with the square of its length (a list that
 * grows per step, like the run's steps, was a full copy in every entry).
 */
export class KeptEntries {
  /** Per actor: its last entry's state, whole and as kept. */
  readonly #last = new Map<string, Last>();
  readonly #events = new KeptEvents();

  /** The entry to keep for `rest` with state `full` (frozen, sharing what it can with the last). */
  entry(rest: Omit<LogEntry, 'state'>, full: unknown): LogEntry {
    const last = this.#last.get(rest.actorId);
    const kept = last === undefined ? full : compact(full, last.full, last.kept);
    this.#last.set(rest.actorId, { full, kept });
    const event = this.#events.keep(rest.actorId, rest.event);
    if (!isCompact(kept) && !isCompact(event)) return Object.freeze({ ...rest, state: full });
    return keptEntry({ ...rest, event: undefined }, kept, event);
  }
}

/**
 * An entry whose state (and maybe event) is rebuilt when read: own enumerable getters, so JSON and
 * structured clone see data. What was rebuilt is kept while someone holds it, so a state read twice
 * is the same object then.
 */
function keptEntry(rest: Omit<LogEntry, 'state'>, kept: unknown, event: unknown): LogEntry {
  const entry = { ...rest } as LogEntry;
  Object.defineProperty(entry, 'event', rebuilt(event));
  Object.defineProperty(entry, 'state', rebuilt(kept));
  return Object.freeze(entry);
}

function rebuilt(kept: unknown): PropertyDescriptor {
  if (!isCompact(kept)) return { value: kept, enumerable: true };
  // expand() keeps what it built while someone holds it (log/compact.ts).
  return { enumerable: true, get: () => expand(kept) };
}
