import type { Change } from '../log/diff.js';
import { diffValues } from '../log/diff.js';
import type { LogEntry } from '../log/state-log.js';

/**
 * Time travel over a loaded state log (`store.load(runId).entries`, `run.log()`): plain functions on
 * plain data, so a CLI, a UI or `runtime.replay` can step through a run without running anything.
 *
 *   const t = timeline(run.entries, 'report');       // one actor, or all when omitted
 *   t.at(42)?.state                                   // the actor's state as it was at seq 42
 *   const c = t.cursor(); c.next(); c.prev();         // step forward and back
 *   t.events()                                        // what to send a fresh actor to re-drive it
 */

export interface Cursor<S = unknown> {
  /** The entry under the cursor; undefined before the first `next()` on an empty timeline. */
  readonly entry: LogEntry<S> | undefined;
  /** Position in the timeline, from 0. */
  readonly index: number;
  /** Move one entry on; undefined (and no move) at the end. */
  next(): LogEntry<S> | undefined;
  /** Move one entry back; undefined (and no move) at the start. */
  prev(): LogEntry<S> | undefined;
  /** Move to the latest entry at or before `seq`; undefined (and to the start) when there is none. */
  seek(seq: number): LogEntry<S> | undefined;
  first(): LogEntry<S> | undefined;
  last(): LogEntry<S> | undefined;
}

export interface Timeline<S = unknown> {
  /** The actor this timeline follows; undefined when it holds every actor. */
  readonly actorId: string | undefined;
  readonly length: number;
  entries(): readonly LogEntry<S>[];
  /** The states in order. */
  states(): readonly S[];
  /** The actors that have entries, in order of their first entry. */
  actors(): string[];
  /** The entry with exactly this seq. */
  entry(seq: number): LogEntry<S> | undefined;
  /** The latest entry at or before `seq`: the state as it was then. */
  at(seq: number): LogEntry<S> | undefined;
  /** The latest entry at or before clock time `ms`. */
  atTime(ms: number): LogEntry<S> | undefined;
  /** Every actor's latest state at or before `seq`: the whole system as it was then. */
  world(seq: number): ReadonlyMap<string, S>;
  /**
   * The events in order, without `xstate.init`: sent to a fresh actor of the same machine (with
   * invoked actors stubbed, so no agent is called) they re-drive it through the same states. Timer
   * and child-completion events (`xstate.after.*`, `xstate.done.actor.*`) are among them.
   */
  events(): readonly unknown[];
  /** What changed in the state from one seq to another (one actor per timeline). */
  diff(fromSeq: number, toSeq: number): Change[];
  /** A cursor on the first entry (or on the latest entry at or before `seq`). */
  cursor(seq?: number): Cursor<S>;
}

const isInit = (event: unknown) => (event as { type?: unknown } | null)?.type === 'xstate.init';

export function timeline<S = unknown>(entries: readonly LogEntry<S>[], actorId?: string): Timeline<S> {
  if (!Array.isArray(entries)) throw new TypeError('timeline: entries must be a list of log entries');
  let previous = 0;
  for (const e of entries) {
    if (!Number.isFinite(e?.seq) || e.seq <= previous) {
      throw new RangeError(
        `timeline: seq ${String(e?.seq)} after seq ${previous}: entries must be in seq order`,
      );
    }
    previous = e.seq;
  }
  const list: readonly LogEntry<S>[] = Object.freeze(
    actorId === undefined ? entries.slice() : entries.filter((e) => e.actorId === actorId),
  );

  /** Index of the last entry with `key(entry) <= value`, or -1 (both keys never decrease). */
  const lastAtOrBefore = (value: number, key: (e: LogEntry<S>) => number): number => {
    let low = 0;
    let high = list.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (key(list[mid]!) <= value) low = mid + 1;
      else high = mid;
    }
    return low - 1;
  };
  const bySeq = (e: LogEntry<S>) => e.seq;
  // Entry times come from one clock and never go back within a run; seq breaks any tie.
  const byTime = (e: LogEntry<S>) => e.at;

  const actors = () => [...new Set(list.map((e) => e.actorId))];

  return Object.freeze({
    actorId,
    length: list.length,
    entries: () => list,
    states: () => Object.freeze(list.map((e) => e.state)),
    actors,
    entry(seq: number) {
      const i = lastAtOrBefore(seq, bySeq);
      return list[i]?.seq === seq ? list[i] : undefined;
    },
    at: (seq: number) => list[lastAtOrBefore(seq, bySeq)],
    atTime: (ms: number) => list[lastAtOrBefore(ms, byTime)],
    world(seq: number) {
      const states = new Map<string, S>();
      for (const e of list) {
        if (e.seq > seq) break;
        states.set(e.actorId, e.state);
      }
      return states;
    },
    events: () => Object.freeze(list.map((e) => e.event).filter((event) => !isInit(event))),
    diff(fromSeq: number, toSeq: number) {
      const names = actors();
      if (names.length > 1) {
        throw new RangeError(
          `timeline: diff needs a timeline of one actor; this one has ${names.join(', ')}`,
        );
      }
      const from = list[lastAtOrBefore(fromSeq, bySeq)];
      const to = list[lastAtOrBefore(toSeq, bySeq)];
      if (!from || !to) throw new RangeError(`timeline: no entry at or before seq ${from ? toSeq : fromSeq}`);
      return diffValues(from.state, to.state);
    },
    cursor(seq?: number): Cursor<S> {
      let index = seq === undefined ? 0 : Math.max(0, lastAtOrBefore(seq, bySeq));
      const move = (to: number) => {
        if (to < 0 || to >= list.length) return undefined;
        index = to;
        return list[index];
      };
      return {
        get entry() {
          return list[index];
        },
        get index() {
          return index;
        },
        next: () => move(index + 1),
        prev: () => move(index - 1),
        seek(target: number) {
          const i = lastAtOrBefore(target, bySeq);
          index = Math.max(0, i);
          return i < 0 ? undefined : list[i];
        },
        first: () => move(0),
        last: () => move(list.length - 1),
      };
    },
  });
}
