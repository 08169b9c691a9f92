import { z } from 'zod';
import { fn, parseOptions } from '../options.js';
import { compact, expand, isCompact } from './compact.js';
import type { Change } from './diff.js';
import { diffValues } from './diff.js';
import { freezeForLog } from './freeze.js';

/**
 * The state log of a run: every transition of every actor (agents, breakers, escalations, the
 * blackboard), in the order it happened, each with the actor's own snapshot, frozen. Append-only;
 * entries are never changed or removed. The tracer, the store and the run handle read it.
 *
 * Pay for what you read: `append` keeps references to the event and state it is given, and the
 * frozen projection of an entry is made when the entry is first read (or handed to a listener, or
 * once an actor has a few entries waiting, which bounds what the references keep alive). This relies
 * on what is appended never being changed in place afterwards: XState's contract for snapshots,
 * their context and events (see freeze.ts). An entry read twice is the same frozen object while it
 * is held. Earlier states of an actor are kept compact (see compact.ts) and rebuilt when read.
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

/** Entries an actor may have waiting before they are projected: bounds the live values kept. */
const MAX_WAITING = 16;

/**
 * One appended entry until it is projected: what `append` was given, then its projection. Once
 * projected, an entry whose state is stored in full takes its slot's place in the lists (it is all
 * there is); a slot stays only for a compact state, which is rebuilt when read.
 */
class Slot {
  constructor(
    readonly seq: number,
    readonly actorId: string,
    readonly version: number,
    readonly at: number,
    readonly agentId: string | undefined,
    /** Its place in the actor's list. */
    readonly index: number,
    /** The live event until projected, then its projection. */
    public event: unknown,
    /** The live state until projected, then its projection: compact once a later entry follows. */
    public stored: unknown,
    /** The entry: kept while it is the actor's latest, else only while someone holds it. */
    public cache: LogEntry | WeakRef<LogEntry> | null = null,
  ) {}
}

type Item = Slot | LogEntry;

interface Track {
  items: Item[];
  /** How many of its items are projected (always a prefix). */
  projected: number;
  /** The last projected state in full, and its stored form. */
  full: unknown;
  stored: unknown;
}

export function createStateLog(options: StateLogOptions = {}): StateLog {
  const parsed = parseOptions(optionsSchema, options, 'createStateLog');
  const clock = parsed.clock ?? { now: () => Date.now() };
  const onListenerError = parsed.onListenerError ?? defaultListenerError;
  const onUnreadable = parsed.onUnreadable;
  const all: Item[] = [];
  const byActor = new Map<string, Track>();
  const listeners = new Set<LogListener>();

  for (const given of parsed.entries ?? []) {
    const entry = Object.isFrozen(given) ? given : (freezeForLog(given) as LogEntry);
    if (entry.seq !== all.length + 1) {
      throw new RangeError(
        `createStateLog: entries must be numbered 1, 2, 3…; entry ${all.length + 1} has seq ${entry.seq}`,
      );
    }
    all.push(entry);
    const track = byActor.get(entry.actorId);
    if (track) track.items.push(entry);
    else byActor.set(entry.actorId, { items: [entry], projected: 0, full: undefined, stored: undefined });
    const t = byActor.get(entry.actorId)!;
    t.projected++;
    t.full = entry.state;
    t.stored = entry.state;
  }

  /** Project an actor's waiting entries up to `index`, in order. */
  const project = (track: Track, index: number): void => {
    for (let i = track.projected; i <= index; i++) {
      const slot = track.items[i] as Slot;
      slot.event = freezeForLog(slot.event, onUnreadable);
      const full = freezeForLog(slot.stored, onUnreadable);
      if (i > 0) {
        slot.stored = compact(full, track.full, track.stored);
        // The previous entry is no longer the latest: if its state is compact, its entry (built
        // from the full state) is kept only while someone holds it.
        const previous = track.items[i - 1]!;
        if (previous instanceof Slot && previous.cache && !(previous.cache instanceof WeakRef)) {
          previous.cache = new WeakRef(previous.cache);
        }
      } else slot.stored = full;
      track.full = full;
      track.stored = slot.stored;
      track.projected = i + 1;
      // Stored whole, the entry is all there is to keep: it takes the slot's place.
      if (!isCompact(slot.stored)) keep(slot, track, entryFor(slot, full));
    }
  };

  const entryFor = (slot: Slot, state: unknown): LogEntry => {
    const { seq, actorId, version, at, agentId, event } = slot;
    // Two literal shapes rather than a spread: V8 keeps frozen literals compact, and logs are long.
    return Object.freeze(
      typeof agentId === 'string'
        ? { seq, actorId, version, at, agentId, event, state }
        : { seq, actorId, version, at, event, state },
    );
  };

  const keep = (slot: Slot, track: Track, entry: LogEntry): void => {
    all[slot.seq - 1] = entry;
    track.items[slot.index] = entry;
  };

  const entryOf = (item: Item): LogEntry => {
    if (!(item instanceof Slot)) return item;
    const { cache } = item;
    if (cache) {
      const held = cache instanceof WeakRef ? cache.deref() : cache;
      if (held) return held;
    }
    const track = byActor.get(item.actorId)!;
    if (item.index >= track.projected) project(track, item.index);
    // Projected whole, it has taken the slot's place.
    const kept = track.items[item.index]!;
    if (!(kept instanceof Slot)) return kept;
    // A compact state: the latest is the actor's full state, an earlier one is rebuilt.
    const latest = item.index === track.projected - 1;
    const entry = entryFor(item, latest ? track.full : expand(item.stored));
    item.cache = latest ? entry : new WeakRef(entry);
    return entry;
  };

  const listOf = (items: readonly Item[]): readonly LogEntry[] => {
    const list = new Array<LogEntry>(items.length);
    for (let i = 0; i < items.length; i++) list[i] = entryOf(items[i]!);
    return Object.freeze(list);
  };

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
    const list = id === undefined ? undefined : byActor.get(id)?.items;
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
    return found?.version === version ? entryOf(found) : undefined;
  };

  const notify = (entry: LogEntry): void => {
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
  };

  /** Record an entry without projecting it (unless a listener wants it now). */
  const add = (input: AppendInput): Item => {
    if (typeof input?.actorId !== 'string' || input.actorId.length === 0) {
      throw new TypeError('state log: append needs an actorId');
    }
    const { actorId, agentId } = input;
    let track = byActor.get(actorId);
    const last = track?.items[track.items.length - 1];
    const version = input.version ?? (last ? last.version + 1 : 0);
    if (!Number.isInteger(version) || version < 0 || (last && version < last.version)) {
      throw new RangeError(
        `state log: version ${version} of "${actorId}" is not an integer at least ${last?.version ?? 0}`,
      );
    }
    const at = input.at ?? clock.now();
    if (!track) {
      track = { items: [], projected: 0, full: undefined, stored: undefined };
      byActor.set(actorId, track);
    }
    const slot = new Slot(
      all.length + 1,
      actorId,
      version,
      at,
      typeof agentId === 'string' ? agentId : undefined,
      track.items.length,
      input.event,
      input.state,
    );
    all.push(slot);
    track.items.push(slot);
    if (listeners.size > 0) notify(entryOf(slot));
    else if (track.items.length - track.projected >= MAX_WAITING) project(track, track.items.length - 1);
    return slot;
  };

  const log = {
    append: (input: AppendInput) => entryOf(add(input)),
    entries: () => listOf(all),
    history: (actorId) => listOf(actorId === undefined ? all : (byActor.get(actorId)?.items ?? [])),
    current(actorId) {
      const list = actorId === undefined ? all : byActor.get(actorId)?.items;
      const item = list?.[list.length - 1];
      return item && entryOf(item);
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
    subscribe(listener: LogListener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  } as Omit<StateLog, 'size'> as StateLog;
  // Defined after: a getter written in the literal makes every run's log a dictionary object in V8.
  Object.defineProperty(log, 'size', { get: () => all.length, enumerable: true });
  recorders.set(log, {
    add,
    settle(actorId) {
      const track = byActor.get(actorId);
      if (track && track.projected < track.items.length) project(track, track.items.length - 1);
    },
  });
  return log;
}

/** The logs made here, and how to add to each without building the entry. */
const recorders = new WeakMap<
  StateLog,
  { add: (input: AppendInput) => unknown; settle: (actorId: string) => void }
>();

/**
 * Append without reading the entry back: for a log made by `createStateLog`, the entry is projected
 * only when someone reads it (see above). Any other `StateLog` gets a plain `append`.
 */
export function record(log: StateLog, input: AppendInput): void {
  const recorder = recorders.get(log);
  if (recorder) recorder.add(input);
  else {
    // Another implementation gets only the fields that are set, as from any other caller.
    const { at, version, agentId, ...rest } = input;
    log.append({
      ...rest,
      ...(at === undefined ? {} : { at }),
      ...(version === undefined ? {} : { version }),
      ...(typeof agentId === 'string' ? { agentId } : {}),
    });
  }
}

/**
 * Project an actor's waiting entries now, without building them: for values their owner may still
 * change (a caller's written value), which the log must read as they were.
 */
export function settle(log: StateLog, actorId: string): void {
  recorders.get(log)?.settle(actorId);
}
