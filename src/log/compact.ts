/**
 * How the state log keeps an actor's earlier states in memory proportional to what changed.
 *
 * Frozen projections already share every unchanged subtree, but a list that grows (an `append`
 * key, a run's steps) is a new array per version: n versions of a growing list would keep n²
 * items. So an earlier entry's state is stored *compact*: a copy of the path down to each such list,
 * where the list is a `ListPatch` — "the previous entry's list, cut to `keep` items, plus `tail`".
 * `expand` turns a compact state back into the plain frozen value it stands for.
 *
 * Chains of patches are bounded the way a growing array's capacity is: when the items a chain
 * carries would exceed the length of the full list it starts from, the list is stored in full
 * instead (a checkpoint). Checkpoints then at least double each time, so everything kept stays
 * linear in the items written, and expanding a list costs at most about twice its length.
 */

import { extendsList } from '../../machines/lists.js';
import { defineOwn, ownValue } from '../../machines/long-list.js';

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
  const holder = stored === prev ? null : (stored as Record<string, unknown>);
  let copy: Record<string, unknown> | null = null;
  const keys = Object.keys(next);
  // A long list (an `append` key, long-list.ts) is read as its version: it costs O(1) as it is.
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
  stored instanceof ListPatch || (typeof stored === 'object' && stored !== null && holdsPatch.has(stored));

/** The plain frozen value a compact form stands for (the value itself when it holds no patch). */
export function expand(stored: unknown): unknown {
  if (stored instanceof ListPatch) return expandList(stored);
  if (typeof stored !== 'object' || stored === null || !holdsPatch.has(stored)) return stored;
  const record: Record<string, unknown> = {};
  for (const key of Object.keys(stored)) defineOwn(record, key, expand(ownValue(stored, key)));
  return Object.freeze(record);
}

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
