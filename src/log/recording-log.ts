import { pushed } from '../../machines/lists.js';
import { compact, expand, isCompact, KeptEvents } from './compact.js';
import type { Change } from './diff.js';
import { diffValues } from './diff.js';
import { freezeForLog } from './freeze.js';
import type { AppendInput, LogEntry, LogListener, StateLog, StateLogOptions } from './state-log.js';

/**
 * The state log's implementation (see state-log.ts for what it promises): entries recorded as
 * slots, projected and frozen when first read, earlier states of an actor kept compact.
 */

/** Where a run's log reports what it cannot read, and listeners that throw. */
export interface LogReporter {
  unreadable(error: unknown): void;
  listenerError(error: unknown): void;
}

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
    /** Its place among the actor's entries. */
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

/**
 * One actor's place in the log. Its own list of items is made only when someone asks for it
 * (`history`, `at`): appending and projecting walk the log itself, so a run in flight keeps no
 * list per actor.
 */
interface Track {
  actorId: string;
  /** Its items in order, once asked for; then kept up to date. */
  items: Item[] | null;
  count: number;
  last: Item;
  /** How many of its items are projected (always a prefix). */
  projected: number;
  /** Its last projected item, and where in the log to look for the next one to project. */
  previous: Item | null;
  scan: number;
  /** The last projected state in full, and its stored form. */
  full: unknown;
  stored: unknown;
}

/**
 * The log, as a class: a run holds one, and methods on the prototype cost nothing per run where a
 * literal of closures cost a closure per method.
 */
export class RecordingLog implements StateLog {
  readonly #clock: { now(): number } | undefined;
  readonly #onListenerError: (error: unknown, entry: LogEntry) => void;
  #onUnreadable: ((error: unknown) => void) | undefined;
  readonly #reporter: LogReporter | undefined;
  #all: Item[] = [];
  readonly #byActor = new Map<string, Track>();
  /** Made on the first projection, not per log: most runs' logs are never read in flight. */
  #events: KeptEvents | null = null;
  #listeners: Set<LogListener> | null = null;

  constructor(options: StateLogOptions, reporter?: LogReporter) {
    this.#clock = options.clock;
    this.#reporter = reporter;
    this.#onListenerError = options.onListenerError ?? defaultListenerError;
    this.#onUnreadable = options.onUnreadable;
    const all = this.#all;
    for (const given of options.entries ?? []) {
      const entry = Object.isFrozen(given) ? given : (freezeForLog(given) as LogEntry);
      if (entry.seq !== all.length + 1) {
        throw new RangeError(
          `createStateLog: entries must be numbered 1, 2, 3…; entry ${all.length + 1} has seq ${entry.seq}`,
        );
      }
      all.push(entry);
      let track = this.#byActor.get(entry.actorId);
      if (!track) {
        track = newTrack(entry.actorId, entry, all.length - 1);
        this.#byActor.set(entry.actorId, track);
      }
      track.count++;
      track.last = entry;
      track.projected++;
      track.previous = entry;
      track.scan = all.length;
    }
    // Only each actor's last state is read: an entry read back may rebuild its state when read.
    for (const track of this.#byActor.values()) {
      const state = (track.last as LogEntry).state;
      track.full = state;
      track.stored = state;
    }
  }

  get size(): number {
    return this.#all.length;
  }

  /** Project an actor's waiting entries up to `target`, in order. */
  #project(track: Track, target: Slot): void {
    const reporter = this.#reporter;
    // Made on the first projection, not per log: most runs' logs are never read in flight.
    if (reporter && !this.#onUnreadable) this.#onUnreadable = (error) => reporter.unreadable(error);
    const onUnreadable = this.#onUnreadable;
    const all = this.#all;
    for (let at = track.scan; at < all.length; at++) {
      const slot = all[at]!;
      if (!(slot instanceof Slot) || slot.actorId !== track.actorId || slot.index < track.projected) continue;
      // An event that carries a growing value is kept as a change to the one before, as states are.
      this.#events ??= new KeptEvents();
      slot.event = this.#events.keep(slot.actorId, freezeForLog(slot.event, onUnreadable));
      const full = freezeForLog(slot.stored, onUnreadable);
      const previous = track.previous;
      if (previous !== null) {
        slot.stored = compact(full, track.full, track.stored);
        // The previous entry is no longer the latest: if its state is compact, its entry (built
        // from the full state) is kept only while someone holds it.
        if (previous instanceof Slot && previous.cache && !(previous.cache instanceof WeakRef)) {
          previous.cache = new WeakRef(previous.cache);
        }
      } else slot.stored = full;
      track.full = full;
      track.stored = slot.stored;
      track.projected = slot.index + 1;
      track.previous = slot;
      track.scan = at + 1;
      // Stored whole, the entry is all there is to keep: it takes the slot's place.
      if (!isCompact(slot.stored) && !isCompact(slot.event)) {
        const entry = entryFor(slot, full, slot.event);
        all[at] = entry;
        if (track.items) track.items[slot.index] = entry;
        if (track.last === slot) track.last = entry;
        track.previous = entry;
      }
      if (slot === target) return;
    }
  }

  #entryOf(item: Item): LogEntry {
    if (!(item instanceof Slot)) return item;
    const { cache } = item;
    if (cache) {
      const held = cache instanceof WeakRef ? cache.deref() : cache;
      if (held) return held;
    }
    const track = this.#byActor.get(item.actorId)!;
    if (item.index >= track.projected) this.#project(track, item);
    // Projected whole, it has taken the slot's place.
    const kept = this.#all[item.seq - 1]!;
    if (!(kept instanceof Slot)) return kept;
    // A compact state: the latest is the actor's full state, an earlier one is rebuilt.
    const latest = item.index === track.projected - 1;
    const entry = entryFor(
      item,
      latest ? track.full : expand(item.stored),
      this.#events?.read(item.actorId, item.event) ?? item.event,
    );
    item.cache = latest ? entry : new WeakRef(entry);
    return entry;
  }

  /** An actor's items in order, made on first request. */
  #itemsOf(track: Track): Item[] {
    if (track.items === null) {
      const items: Item[] = [];
      for (const item of this.#all) if (item.actorId === track.actorId) items.push(item);
      track.items = items;
    }
    return track.items;
  }

  #listOf(items: readonly Item[]): readonly LogEntry[] {
    const list = new Array<LogEntry>(items.length);
    for (let i = 0; i < items.length; i++) list[i] = this.#entryOf(items[i]!);
    return Object.freeze(list);
  }

  #actorOf(actorId: string | undefined): string | undefined {
    if (actorId !== undefined) return actorId;
    if (this.#byActor.size > 1) {
      throw new RangeError(
        `the state log holds several actors (${[...this.#byActor.keys()].join(', ')}): pass an actorId`,
      );
    }
    return this.#byActor.keys().next().value;
  }

  #notify(entry: LogEntry): void {
    for (const listener of [...this.#listeners!]) {
      try {
        listener(entry);
      } catch (error) {
        try {
          if (this.#reporter) this.#reporter.listenerError(error);
          else this.#onListenerError(error, entry);
        } catch {
          // The error handler itself failed; the log must still not break.
        }
      }
    }
  }

  /** Record an entry without projecting it (unless a listener wants it now). */
  add(input: AppendInput): Item {
    if (typeof input?.actorId !== 'string' || input.actorId.length === 0) {
      throw new TypeError('state log: append needs an actorId');
    }
    const { actorId, agentId } = input;
    let track = this.#byActor.get(actorId);
    const last = track?.last;
    const version = input.version ?? (last ? last.version + 1 : 0);
    if (!Number.isInteger(version) || version < 0 || (last && version < last.version)) {
      throw new RangeError(
        `state log: version ${version} of "${actorId}" is not an integer at least ${last?.version ?? 0}`,
      );
    }
    const at = input.at ?? this.#clock?.now() ?? Date.now();
    const all = this.#all;
    const slot = new Slot(
      all.length + 1,
      actorId,
      version,
      at,
      typeof agentId === 'string' ? agentId : undefined,
      track ? track.count : 0,
      input.event,
      input.state,
    );
    if (!track) {
      track = newTrack(actorId, slot, all.length);
      this.#byActor.set(actorId, track);
    }
    this.#all = pushed(all, slot);
    track.count++;
    track.last = slot;
    if (track.items) track.items.push(slot);
    if (this.#listeners !== null && this.#listeners.size > 0) this.#notify(this.#entryOf(slot));
    else if (track.count - track.projected >= MAX_WAITING) this.#project(track, slot);
    return slot;
  }

  /** Project an actor's waiting entries now (see `settle`). */
  settle(actorId: string): void {
    const track = this.#byActor.get(actorId);
    if (track && track.projected < track.count) this.#project(track, track.last as Slot);
  }

  append(input: AppendInput): LogEntry {
    return this.#entryOf(this.add(input));
  }
  entries(): readonly LogEntry[] {
    return this.#listOf(this.#all);
  }
  history(actorId?: string): readonly LogEntry[] {
    if (actorId === undefined) return this.#listOf(this.#all);
    const track = this.#byActor.get(actorId);
    return this.#listOf(track ? this.#itemsOf(track) : []);
  }
  current(actorId?: string): LogEntry | undefined {
    const item = actorId === undefined ? this.#all[this.#all.length - 1] : this.#byActor.get(actorId)?.last;
    return item && this.#entryOf(item);
  }
  at(version: number, actorId?: string): LogEntry | undefined {
    const id = this.#actorOf(actorId);
    const track = id === undefined ? undefined : this.#byActor.get(id);
    if (!track) return undefined;
    const list = this.#itemsOf(track);
    // Versions never decrease per actor: binary search for the first entry with this version.
    let low = 0;
    let high = list.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (list[mid]!.version < version) low = mid + 1;
      else high = mid;
    }
    const found = list[low];
    return found?.version === version ? this.#entryOf(found) : undefined;
  }
  diff(fromVersion: number, toVersion: number, actorId?: string): Change[] {
    const from = this.at(fromVersion, actorId);
    const to = this.at(toVersion, actorId);
    if (!from || !to) {
      const missing = from ? toVersion : fromVersion;
      throw new RangeError(`state log: no entry at version ${missing}${actorId ? ` of "${actorId}"` : ''}`);
    }
    return diffValues(from.state, to.state);
  }
  actors(): string[] {
    return [...this.#byActor.keys()];
  }
  subscribe(listener: LogListener): () => void {
    this.#listeners ??= new Set();
    this.#listeners.add(listener);
    return () => {
      this.#listeners!.delete(listener);
    };
  }
}

const newTrack = (actorId: string, first: Item, at: number): Track => ({
  actorId,
  items: null,
  count: 0,
  last: first,
  projected: 0,
  previous: null,
  scan: at,
  full: undefined,
  stored: undefined,
});

const entryFor = (slot: Slot, state: unknown, event: unknown): LogEntry => {
  const { seq, actorId, version, at, agentId } = slot;
  // Two literal shapes rather than a spread: V8 keeps frozen literals compact, and logs are long.
  return Object.freeze(
    typeof agentId === 'string'
      ? { seq, actorId, version, at, agentId, event, state }
      : { seq, actorId, version, at, event, state },
  );
};
