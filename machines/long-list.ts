/**
 * Long lists made by the `append` reducer, at O(1) per write.
 *
 * A plain frozen array per version costs a copy of the list per write. From `LONG` items on, the
 * versions of a list share one array that only grows (its spine): version n is "the first n items
 * of the spine", and an append to the newest version pushes onto it. An append to an older version
 * (a fork) copies its items to a spine of its own first. Read, a version is a plain frozen array
 * (lazy-value.ts).
 */

import { LazyValue } from './lazy-value.js';
import { withItem } from './lists.js';

/** From this length on, an appended list shares its items with the versions before it. */
export const LONG = 64;

/** One version of a long list: the first `length` items of `spine`. */
export class LongList extends LazyValue {
  constructor(
    /** Shared by the versions it was appended through; only ever pushed to. */
    readonly spine: unknown[],
    readonly length: number,
  ) {
    super();
  }

  protected build(): readonly unknown[] {
    return Object.freeze(
      this.length === this.spine.length ? this.spine.slice() : this.spine.slice(0, this.length),
    );
  }

  /** This version as a plain frozen array. */
  items(): readonly unknown[] {
    return this.data() as readonly unknown[];
  }
}

/** `list` with `item` at the end: a plain frozen array while short, a shared version from `LONG` on. */
export const appendItem = (
  list: readonly unknown[] | LongList,
  item: unknown,
): readonly unknown[] | LongList => appendItems(list, [item]);

/**
 * `list` with `items` at the end: the `append` reducer's one item, or a store's reader replaying the
 * slides it wrote, so that a long list read back is shared between versions too.
 */
export function appendItems(
  list: readonly unknown[] | LongList,
  items: readonly unknown[],
): readonly unknown[] | LongList {
  if (!(list instanceof LongList) && list.length + items.length < LONG) {
    // Short: a copy, known to extend the list (lists.ts) as every list made by `withItem` is.
    if (items.length === 1) return Object.freeze(withItem(list, items[0]));
    return Object.freeze([...list, ...items]);
  }
  // Pushing is safe only onto the newest version of a spine: no other version sees past it.
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
