/**
 * Long lists made by the `append` reducer, at O(1) per write.
 *
 * A plain frozen array per version costs a copy of the list per write. From `LONG` items on, the
 * versions of a list share one array that only grows (its spine): version n is "the first n items
 * of the spine", and an append to the newest version pushes onto it. An append to an older version
 * (a fork) copies its items to a spine of its own first.
 *
 * What users read stays a plain frozen array: the object holding such a list has it as an own
 * enumerable getter that builds the array the first time it is read, and keeps it while someone
 * holds it (so a list read twice is the same array then). JSON, structured clone and spreads see
 * data. agentcharts' own walks (the write path, the state log, the store) look at the version
 * instead (`ownValue`), so a write, a log entry and a stored record cost what was appended.
 */

import { withItem } from './lists.js';

/** From this length on, an appended list shares its items with the versions before it. */
export const LONG = 64;

/** One version of a long list: the first `length` items of `spine`. Internal; never handed out. */
export class LongList {
  #built: WeakRef<readonly unknown[]> | undefined;
  #getter: (() => readonly unknown[]) | undefined;

  constructor(
    /** Shared by the versions it was appended through; only ever pushed to. */
    readonly spine: unknown[],
    readonly length: number,
  ) {}

  /** This version as a plain frozen array, built once while someone holds it. */
  items(): readonly unknown[] {
    const known = this.#built?.deref();
    if (known !== undefined) return known;
    const items = Object.freeze(
      this.length === this.spine.length ? this.spine.slice() : this.spine.slice(0, this.length),
    );
    this.#built = new WeakRef(items);
    return items;
  }

  /** The getter that stands for this version on the objects that hold it (one per version). */
  getter(): () => readonly unknown[] {
    this.#getter ??= () => this.items();
    return this.#getter;
  }

  /** Should a version ever be serialised as a value, it is its items. */
  toJSON(): readonly unknown[] {
    return this.items();
  }
}

/** A long list an object holds at `key`, and the next one it holds (objects hold one or few). */
interface Held {
  readonly key: string;
  readonly list: LongList;
  readonly next: Held | undefined;
}

/**
 * The long lists each object holds as getters. Each version's getter closes over it, so a copy made
 * from the object's descriptors (`Object.getOwnPropertyDescriptors`, a proxy that reads through
 * them) still reads the list.
 */
const held = new WeakMap<object, Held>();

function listAt(object: object, key: string): LongList | undefined {
  for (let h = held.get(object); h !== undefined; h = h.next) if (h.key === key) return h.list;
  return undefined;
}

/** `h` without `key`. */
function without(h: Held | undefined, key: string): Held | undefined {
  if (h === undefined) return undefined;
  if (h.key === key) return h.next;
  const next = without(h.next, key);
  return next === h.next ? h : { key: h.key, list: h.list, next };
}

/** `list` with `item` at the end: a plain frozen array while short, a shared version from `LONG` on. */
export function appendItem(
  list: readonly unknown[] | LongList,
  item: unknown,
): readonly unknown[] | LongList {
  if (list instanceof LongList) {
    // Pushing is safe only onto the newest version of a spine: no other version sees past it.
    const spine = list.spine.length === list.length ? list.spine : list.spine.slice(0, list.length);
    spine.push(item);
    return new LongList(spine, list.length + 1);
  }
  // Short: a copy, known to extend the list (lists.ts) as every list made by `withItem` is.
  if (list.length + 1 < LONG) return Object.freeze(withItem(list, item));
  const spine = list.slice();
  spine.push(item);
  return new LongList(spine, spine.length);
}

/**
 * `list` with `items` at the end, as appends make it: a store's reader replaying the slides it
 * wrote, so that a long list read back is shared between versions too.
 */
export function appendItems(
  list: readonly unknown[] | LongList,
  items: readonly unknown[],
): readonly unknown[] | LongList {
  if (!(list instanceof LongList) && list.length + items.length < LONG) {
    if (items.length === 1) return Object.freeze(withItem(list, items[0]));
    return Object.freeze([...list, ...items]);
  }
  const spine =
    list instanceof LongList
      ? list.spine.length === list.length
        ? list.spine
        : list.spine.slice(0, list.length)
      : list.slice();
  for (let i = 0; i < items.length; i++) spine.push(items[i]);
  return new LongList(spine, spine.length);
}

/**
 * The items `next` has after those of `prev`, when `next` is `prev` plus appends; else null. A plain
 * `prev` (a list that just became long) is compared item by item: once per list, under `LONG` items.
 */
export function itemsAfter(next: LongList, prev: LongList | readonly unknown[]): readonly unknown[] | null {
  if (next.length < prev.length) return null;
  if (prev instanceof LongList) {
    if (next.spine !== prev.spine) return null;
  } else {
    if (prev.length > LONG) return null;
    for (let i = 0; i < prev.length; i++) if (prev[i] !== next.spine[i]) return null;
  }
  return next.spine.slice(prev.length, next.length);
}

/** A long list's items, or the value itself. */
export const dataOf = (value: unknown): unknown => (value instanceof LongList ? value.items() : value);

/** The value at `key`, with a long list as its version (not built). Own properties only. */
export function ownValue(object: object, key: string): unknown {
  return listAt(object, key) ?? (object as Record<string, unknown>)[key];
}

/**
 * Sets `key` on a new, not yet frozen object: a long list as its getter, anything else as data (a
 * key named `__proto__` is defined, so it stays data).
 */
export function defineOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  const lists = held.get(target);
  if (value instanceof LongList) {
    Object.defineProperty(target, key, { get: value.getter(), enumerable: true, configurable: true });
    held.set(target, { key, list: value, next: without(lists, key) });
  } else if (key === '__proto__' || lists) {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
    if (lists) {
      const rest = without(lists, key);
      if (rest) held.set(target, rest);
      else held.delete(target);
    }
  } else target[key] = value;
}

/** A shallow copy of a plain object that keeps its long lists as they are (not built). */
export function copyOwn(object: object): Record<string, unknown> {
  if (!held.has(object)) return { ...object };
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(object)) defineOwn(copy, key, ownValue(object, key));
  return copy;
}

/** A view of a plain object's own values, long lists as their versions: for walks that compare. */
export const ownValues = (object: object): Record<string, unknown> =>
  held.has(object) ? copyOwnAsData(object) : (object as Record<string, unknown>);

function copyOwnAsData(object: object): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  for (const key of Object.keys(object)) {
    Object.defineProperty(view, key, { value: ownValue(object, key), enumerable: true, writable: true });
  }
  return view;
}
