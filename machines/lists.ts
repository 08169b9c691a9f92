/**
 * Lists at their exact length. V8 gives an array built by a spread (`[...list, item]`) or grown by
 * a first `push` room for 17 items: ~0.1 KB unused in each short list, and a run in flight holds
 * several (its steps, an agent's attempts, the run's spans, events and log entries).
 */

/** Short lists are copied at their exact length; from this length on, a list grows in place. */
const SHORT = 16;

/**
 * Which long list each long `withItem` copy extends, so that the state log and the store can tell
 * "the previous list plus one item" without comparing the two item by item (which made a long
 * run's every step cost its length). Lists are named by number: linking a list to the one before
 * (even weakly) would keep every version alive.
 */
const listIds = new WeakMap<readonly unknown[], number>();
const madeFrom = new WeakMap<readonly unknown[], number>();
let lastListId = 0;

function listId(list: readonly unknown[]): number {
  const known = listIds.get(list);
  if (known !== undefined) return known;
  lastListId++;
  listIds.set(list, lastListId);
  return lastListId;
}

/** Whether `withItem` made `next` from `prev`: `next` is all of `prev`, then one more item. */
export function extendsList(next: readonly unknown[], prev: readonly unknown[]): boolean {
  const from = madeFrom.get(next);
  return from !== undefined && from === listIds.get(prev);
}

/**
 * `list` and one more item, as a new array of exactly that length. For immutable lists (context,
 * frozen data): a long `list` is remembered as what the copy extends, so it must not change after.
 */
export function withItem<T>(list: readonly T[], item: T): T[] {
  const n = list.length;
  // A long list is copied by the engine in one piece; a short one item by item, which is quicker
  // than `concat` there (4x at 8 items).
  if (n >= SHORT) {
    const next = (list as T[]).concat([item]);
    madeFrom.set(next, listId(list));
    return next;
  }
  const next = new Array<T>(n + 1);
  for (let i = 0; i < n; i++) next[i] = list[i]!;
  next[n] = item;
  return next;
}

/** Adds `item` to a list that grows in place: returns the list to keep (a new one while short). */
export function pushed<T>(list: T[], item: T): T[] {
  if (list.length < SHORT) return withItem(list, item);
  list.push(item);
  return list;
}
