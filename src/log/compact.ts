/**
 * How the state log keeps an actor's earlier states in memory proportional to what changed.
 *
 * Frozen projections already share every unchanged subtree, but a list that grows (a run's steps)
 * is a new array per version: n versions of a growing list would keep n² items; and so is a map
 * that gains keys under a reducer of the user's own, a new object per version. (Long `append` lists
 * and wide `merge` maps are shared between versions already: lazy-value.ts.) So an earlier
 * entry's state is stored *compact*: a copy of the path down to each such list or map, where the
 * list is a `ListPatch` — "the previous entry's list, cut to `keep` items, plus `tail`" — and the
 * map a `RecordPatch` — "the previous entry's object with these keys changed or added". `expand`
 * turns a compact state back into the plain frozen value it stands for.
 *
 * Chains of patches are bounded the way a growing array's capacity is: when the items (keys) a
 * chain carries would exceed the size of the full list (object) it starts from, it is stored in
 * full instead (a checkpoint). Checkpoints then at least double each time, so everything kept stays
 * linear in what was written, and expanding costs at most about twice the value's size.
 */

import { defineOwn, ownValue } from '../../machines/lazy-value.js';
import { extendsList } from '../../machines/lists.js';

/** Lists shorter than this are stored as they are: a patch would not be smaller. */
const MIN_SHARED = 16;
/**
 * How deep to look for growing lists. States are shallow (a run's steps, a board's keys); a linked
 * structure (the blackboard's journal) would otherwise be walked to its end on every entry.
 */
const MAX_DEPTH = 12;

/** A list stored as a change to the previous entry's list at the same place. */
export class ListPatch {
  constructor(
    /** The previous entry's list, full or itself a patch. */
    readonly prev: ListPatch | readonly unknown[],
    /** How many of its items come first. */
    readonly keep: number,
    /** The items after them. */
    readonly tail: readonly unknown[],
    /** Items carried by patches since the full list the chain starts from (one more per patch). */
    readonly cost: number,
    /** The length of that full list. */
    readonly base: number,
  ) {}
}

/** A wide object stored as a change to the previous entry's object at the same place. */
export class RecordPatch {
  constructor(
    /** The previous entry's object, full (maybe holding patches) or itself a patch. */
    readonly prev: RecordPatch | object,
    /** The keys whose value changed (in compact form) and the new keys after them, in order. */
    readonly changed: Readonly<Record<string, unknown>>,
    /** Keys carried by patches since the full object the chain starts from (one more per patch). */
    readonly cost: number,
    /** The key count of that full object. */
    readonly base: number,
  ) {}
}

/** Objects with fewer keys are stored as copies: a patch would not be smaller. */
const MIN_WIDE = 32;

/** Containers copied to hold a patch somewhere below: only these need expanding. */
const holdsPatch = new WeakSet<object>();

const isPlain = (v: object): boolean => {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/**
 * The compact form of `next`, the state after `prev`, whose own compact form is `prevCompact`
 * (`prev` itself when it holds no patch). All three are frozen projections; `next` is kept intact.
 */
export function compact(next: unknown, prev: unknown, prevCompact: unknown): unknown {
  try {
    return compactValue(next, prev, prevCompact, 0);
  } catch {
    // A frozen value taken as it was (not a projection) may still have a throwing getter.
    return next;
  }
}

function compactValue(next: unknown, prev: unknown, stored: unknown, depth: number): unknown {
  if (next === prev) return stored;
  if (typeof next !== 'object' || next === null || typeof prev !== 'object' || prev === null) return next;
  if (Array.isArray(next)) return Array.isArray(prev) ? compactList(next, prev, stored) : next;
  if (depth >= MAX_DEPTH || Array.isArray(prev) || !isPlain(next) || !isPlain(prev)) return next;
  const before = prev as Record<string, unknown>;
  const keys = Object.keys(next);
  if (keys.length >= MIN_WIDE) {
    const patch = compactWide(next, before, keys, stored, depth);
    if (patch) return patch;
  }
  // After a chain of record patches, the previous object itself is its own compact form.
  const holder =
    stored === prev || stored instanceof RecordPatch ? null : (stored as Record<string, unknown>);
  let copy: Record<string, unknown> | null = null;
  // A lazy value (a long list or wide map, lazy-value.ts) is read as its version: O(1) as it is.
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const value = ownValue(next, key);
    const child = Object.hasOwn(before, key)
      ? compactValue(value, ownValue(before, key), ownValue(holder ?? before, key), depth + 1)
      : value;
    if (copy) defineOwn(copy, key, child);
    else if (child !== value) {
      // The keys before this one are their own compact form.
      copy = {};
      for (let j = 0; j < i; j++) defineOwn(copy, keys[j]!, ownValue(next, keys[j]!));
      defineOwn(copy, key, child);
    }
  }
  if (!copy) return next;
  holdsPatch.add(copy);
  return Object.freeze(copy);
}

/**
 * A wide object as the previous one's changed and added keys, when its keys are the previous ones
 * in the same order plus new ones (what a `merge` makes) and most values are shared; else null.
 */
function compactWide(
  next: object,
  before: Record<string, unknown>,
  keys: readonly string[],
  stored: unknown,
  depth: number,
): RecordPatch | null {
  const old = Object.keys(before);
  if (old.length > keys.length || old.length < MIN_WIDE) return null;
  for (let i = 0; i < old.length; i++) if (old[i] !== keys[i]) return null;
  const changed: Record<string, unknown> = {};
  let count = 0;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const value = ownValue(next, key);
    if (i < old.length) {
      const was = ownValue(before, key);
      if (value === was) continue;
      defineOwn(changed, key, compactValue(value, was, was, depth + 1));
    } else defineOwn(changed, key, value);
    // Worth it only when most of the object is shared.
    if (++count * 2 > keys.length) return null;
  }
  const chain = stored instanceof RecordPatch ? stored : null;
  const cost = (chain ? chain.cost : 0) + count + 1;
  const base = chain ? chain.base : old.length;
  // A checkpoint: the chain would carry more than the object it starts from.
  if (cost > base) return null;
  return new RecordPatch(chain ?? (stored as object), Object.freeze(changed), cost, base);
}

function compactList(next: readonly unknown[], prev: readonly unknown[], stored: unknown): unknown {
  const limit = Math.min(next.length, prev.length);
  if (limit < MIN_SHARED) return next;
  let keep = 0;
  // A list made from `prev` by adding an item (a blackboard's `append`, a run's steps) is known to
  // start with all of it.
  if (extendsList(next, prev)) keep = prev.length;
  else while (keep < limit && next[keep] === prev[keep]) keep++;
  // Worth it only when most of the list is shared.
  if (keep < MIN_SHARED || keep * 2 < next.length) return next;
  const patch = stored instanceof ListPatch ? stored : null;
  const tail = next.length - keep;
  const cost = (patch ? patch.cost : 0) + tail + 1;
  const base = patch ? patch.base : prev.length;
  // A checkpoint: the chain would carry more than the list it starts from.
  if (cost > base) return next;
  return new ListPatch(patch ?? prev, keep, Object.freeze(next.slice(keep)), cost, base);
}

/** True when `stored` is not the value itself and must be expanded to be read. */
export const isCompact = (stored: unknown): boolean =>
  stored instanceof ListPatch ||
  stored instanceof RecordPatch ||
  (typeof stored === 'object' && stored !== null && holdsPatch.has(stored));

/** The plain frozen value a compact form stands for (the value itself when it holds no patch). */
export function expand(stored: unknown): unknown {
  if (typeof stored !== 'object' || stored === null) return stored;
  const patch = stored instanceof ListPatch || stored instanceof RecordPatch;
  if (!patch && !holdsPatch.has(stored)) return stored;
  // Entries whose value did not change share its compact form: they share its expansion too,
  // while someone holds it (reading a whole log must not make a copy per entry).
  const known = expanded.get(stored)?.deref();
  if (known !== undefined) return known;
  let value: object;
  if (stored instanceof ListPatch) value = expandList(stored);
  else if (stored instanceof RecordPatch) value = expandRecord(stored);
  else {
    const record: Record<string, unknown> = {};
    for (const key of Object.keys(stored)) defineOwn(record, key, expand(ownValue(stored, key)));
    value = Object.freeze(record);
  }
  expanded.set(stored, new WeakRef(value));
  return value;
}

/** What each compact form was last expanded to, while someone holds it. */
const expanded = new WeakMap<object, WeakRef<object>>();

function expandList(patch: ListPatch): readonly unknown[] {
  // Iterative: a chain can be as long as the list it builds.
  const chain: ListPatch[] = [];
  let at: ListPatch | readonly unknown[] = patch;
  while (at instanceof ListPatch) {
    chain.push(at);
    at = at.prev;
  }
  const items = at.slice();
  for (let i = chain.length - 1; i >= 0; i--) {
    const { keep, tail } = chain[i]!;
    items.length = keep;
    for (let j = 0; j < tail.length; j++) items.push(tail[j]);
  }
  return Object.freeze(items);
}

function expandRecord(patch: RecordPatch): object {
  // Iterative: a chain can be as long as the object has keys.
  const chain: RecordPatch[] = [];
  let at: RecordPatch | object = patch;
  while (at instanceof RecordPatch) {
    chain.push(at);
    at = at.prev;
  }
  const full = expand(at) as object;
  const record: Record<string, unknown> = {};
  for (const key of Object.keys(full)) defineOwn(record, key, ownValue(full, key));
  // A changed key keeps its place; a new one goes after: the order the object had.
  for (let i = chain.length - 1; i >= 0; i--) {
    const { changed } = chain[i]!;
    for (const key of Object.keys(changed)) defineOwn(record, key, expand(ownValue(changed, key)));
  }
  return Object.freeze(record);
}

/**
 * Events kept as changes to the previous one of the same actor and type: an agent's start event
 * carries the shared state in its input, a little larger each time. Used by the live log and by a
 * run read back alike.
 */
export class KeptEvents {
  readonly #last = new Map<string, { full: unknown; kept: unknown }>();

  /** How to keep `event`, `actorId`'s newest: as a change to the last one of its type, if smaller. */
  keep(actorId: string, event: unknown): unknown {
    const key = keyOf(actorId, event);
    if (key === undefined) return event;
    const last = this.#last.get(key);
    const kept = last === undefined ? event : compact(event, last.full, last.kept);
    this.#last.set(key, { full: event, kept });
    return kept;
  }

  /**
   * The event `kept` stands for: the newest of its type is the event itself (the store then sees
   * the very objects the snapshot holds, the shared state among them); an earlier one is rebuilt.
   */
  read(actorId: string, kept: unknown): unknown {
    if (!isCompact(kept)) return kept;
    const key = keyOf(actorId, kept);
    const last = key === undefined ? undefined : this.#last.get(key);
    return last !== undefined && last.kept === kept ? last.full : expand(kept);
  }
}

const keyOf = (actorId: string, event: unknown): string | undefined => {
  const type = (event as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? `${actorId}\u0000${type}` : undefined;
};
