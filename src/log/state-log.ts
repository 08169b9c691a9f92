import { z } from 'zod';
import { fn, parseOptions } from '../options.js';
import type { Change } from './diff.js';
import { diffValues } from './diff.js';
import { freezeForLog } from './freeze.js';

/**
 * The state log of a run: every transition of every actor (agents, breakers, escalations, the
 * blackboard), in the order it happened, each with the actor's own snapshot, frozen. Append-only;
 * entries are never changed or removed. The tracer, the store and the run handle read it.
 */

export interface LogEntry<S = unknown> {
  /** Position in this log, from 1, across all actors. */
  readonly seq: number;
  /** The actor the entry belongs to (its system id, or a name given by whoever appends). */
  readonly actorId: string;
  /** The actor's version: never decreases per actor; repeats when a transition changed nothing versioned. */
  readonly version: number;
  /** Time on the run's clock. */
  readonly at: number;
  /** The agent that caused the transition, when known (e.g. the writer of a blackboard write). */
  readonly agentId?: string;
  /** The event that caused the transition, frozen. */
  readonly event: unknown;
  /** The actor's snapshot after the transition, frozen. */
  readonly state: S;
}

export interface AppendInput {
  actorId: string;
  agentId?: string;
  event: unknown;
  state: unknown;
  /** Default: the actor's previous version + 1 (0 for its first entry). */
  version?: number;
  /** Default: the log's clock. */
  at?: number;
}

export type LogListener = (entry: LogEntry) => void;

export interface StateLog {
  /** Append one entry; `event` and `state` are frozen (frozen subtrees are kept, not copied). */
  append(input: AppendInput): LogEntry;
  /** Number of entries. */
  readonly size: number;
  /** All entries in order (a frozen copy of the list). */
  entries(): readonly LogEntry[];
  /** One actor's entries in order; all entries when `actorId` is omitted. */
  history(actorId?: string): readonly LogEntry[];
  /** The last entry (of one actor). */
  current(actorId?: string): LogEntry | undefined;
  /** The first entry of an actor with this version. `actorId` may be omitted when the log holds one actor. */
  at(version: number, actorId?: string): LogEntry | undefined;
  /** What changed in an actor's state from one version to another (see `diffValues`). */
  diff(fromVersion: number, toVersion: number, actorId?: string): Change[];
  /** The actors that have entries, in order of their first entry. */
  actors(): string[];
  /** Called after each append. A listener that throws does not affect the log or other listeners. */
  subscribe(listener: LogListener): () => void;
}

export interface StateLogOptions {
  /** Stamps entries appended without `at`. Default: wall time. */
  clock?: { now(): number };
  /** Called when a listener throws. Default: console.error. */
  onListenerError?: (error: unknown, entry: LogEntry) => void;
  /** Entries to start from, e.g. a restored run's stored log; new entries continue their `seq`. */
  entries?: readonly LogEntry[];
  /**
   * Called when part of an appended value cannot be read (a getter or Proxy that throws); the part is
   * logged as `'[Unreadable]'` and the entry is kept. Default: ignored.
   */
  onUnreadable?: (error: unknown) => void;
}

const optionsSchema = z.strictObject({
  clock: z
    .custom<{ now(): number }>((v) => typeof (v as { now?: unknown } | null)?.now === 'function', {
      error: 'must be an object with a now() method',
    })
    .optional(),
  onListenerError: fn<(error: unknown, entry: LogEntry) => void>().optional(),
  entries: z.array(z.custom<LogEntry>((v) => typeof v === 'object' && v !== null)).optional(),
  onUnreadable: fn<(error: unknown) => void>().optional(),
});

const defaultListenerError = (error: unknown, entry: LogEntry): void => {
  console.error(`agentcharts: a state log listener threw on entry ${entry.seq}`, error);
};

export function createStateLog(options: StateLogOptions = {}): StateLog {
  const parsed = parseOptions(optionsSchema, options, 'createStateLog');
  const clock = parsed.clock ?? { now: () => Date.now() };
  const onListenerError = parsed.onListenerError ?? defaultListenerError;
  const all: LogEntry[] = [];
  const byActor = new Map<string, LogEntry[]>();
  const listeners = new Set<LogListener>();
  for (const entry of parsed.entries ?? []) {
    const frozen = Object.isFrozen(entry) ? entry : (freezeForLog(entry) as LogEntry);
    if (frozen.seq !== all.length + 1) {
      throw new RangeError(
        `createStateLog: entries must be numbered 1, 2, 3…; entry ${all.length + 1} has seq ${frozen.seq}`,
      );
    }
    all.push(frozen);
    const list = byActor.get(frozen.actorId);
    if (list) list.push(frozen);
    else byActor.set(frozen.actorId, [frozen]);
  }

  const actorOf = (actorId: string | undefined): string | undefined => {
    if (actorId !== undefined) return actorId;
    if (byActor.size > 1) {
      throw new RangeError(
        `the state log holds several actors (${[...byActor.keys()].join(', ')}): pass an actorId`,
      );
    }
    return byActor.keys().next().value;
  };

  const entryAt = (version: number, actorId?: string): LogEntry | undefined => {
    const id = actorOf(actorId);
    const list = id === undefined ? undefined : byActor.get(id);
    if (!list) return undefined;
    // Versions never decrease per actor: binary search for the first entry with this version.
    let low = 0;
    let high = list.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (list[mid]!.version < version) low = mid + 1;
      else high = mid;
    }
    const found = list[low];
    return found?.version === version ? found : undefined;
  };

  return {
    append(input) {
      if (typeof input?.actorId !== 'string' || input.actorId.length === 0) {
        throw new TypeError('state log: append needs an actorId');
      }
      const list = byActor.get(input.actorId);
      const last = list?.[list.length - 1];
      const version = input.version ?? (last ? last.version + 1 : 0);
      if (!Number.isInteger(version) || version < 0 || (last && version < last.version)) {
        throw new RangeError(
          `state log: version ${version} of "${input.actorId}" is not an integer at least ${last?.version ?? 0}`,
        );
      }
      const at = input.at ?? clock.now();
      const seq = all.length + 1;
      const { actorId, agentId } = input;
      const event = freezeForLog(input.event, parsed.onUnreadable);
      const state = freezeForLog(input.state, parsed.onUnreadable);
      // Two literal shapes rather than a spread: V8 keeps frozen literals compact, and logs are long.
      const entry: LogEntry = Object.freeze(
        typeof agentId === 'string'
          ? { seq, actorId, version, at, agentId, event, state }
          : { seq, actorId, version, at, event, state },
      );
      all.push(entry);
      if (list) list.push(entry);
      else byActor.set(input.actorId, [entry]);
      // Costs nothing when nobody listens.
      if (listeners.size > 0) {
        for (const listener of [...listeners]) {
          try {
            listener(entry);
          } catch (error) {
            try {
              onListenerError(error, entry);
            } catch {
              // The error handler itself failed; the log must still not break.
            }
          }
        }
      }
      return entry;
    },
    get size() {
      return all.length;
    },
    entries: () => Object.freeze(all.slice()),
    history: (actorId) => Object.freeze((actorId === undefined ? all : (byActor.get(actorId) ?? [])).slice()),
    current(actorId) {
      const list = actorId === undefined ? all : byActor.get(actorId);
      return list?.[list.length - 1];
    },
    at: entryAt,
    diff(fromVersion, toVersion, actorId) {
      const from = entryAt(fromVersion, actorId);
      const to = entryAt(toVersion, actorId);
      if (!from || !to) {
        const missing = from ? toVersion : fromVersion;
        throw new RangeError(`state log: no entry at version ${missing}${actorId ? ` of "${actorId}"` : ''}`);
      }
      return diffValues(from.state, to.state);
    },
    actors: () => [...byActor.keys()],
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
