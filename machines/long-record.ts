/**
 * Wide maps made by the `merge` reducer, at O(keys written) per write.
 *
 * A plain frozen object per version costs a copy of the map per write. From `WIDE` keys on, the
 * versions of a map share one history of it (a lineage): its keys in the order they were added, and
 * each key's values with the version that wrote them. Version v is every key added by v, each with
 * the last value written by v. A merge into the newest version adds to the lineage; one into an
 * older version (a fork) starts a lineage of its own from that version's data. Read, a version is a
 * plain frozen object (lazy-value.ts), its keys in the order a spread would have given them.
 */

import { copyOwn, defineOwn, LazyValue, ownValue } from './lazy-value.js';

/** A key an object orders first, by number: an array index. */
const INDEX = /^(0|[1-9]\d{0,9})$/;

/** From this many keys on, a merged map shares its keys and values with the versions before it. */
export const WIDE = 64;

/** A key's values, with the version that wrote each (ascending), and its place among the keys. */
interface Writes {
  at: number[];
  values: unknown[];
  index: number;
}

/** The history of one map, shared by its versions; only ever added to. */
class Lineage {
  readonly keys: string[] = [];
  /** The version that added each key (ascending, as keys are). */
  readonly addedAt: number[] = [];
  readonly writes = new Map<string, Writes>();
  /** The keys written by each version after the first (index: version - 1). */
  readonly written: (readonly string[])[] = [];
  tip = 0;

  constructor(
    /** The plain object version 0 was made from, while someone holds it. */
    readonly from: WeakRef<object>,
  ) {}

  write(key: string, value: unknown, version: number): void {
    const known = this.writes.get(key);
    if (known) {
      known.at.push(version);
      known.values.push(value);
      return;
    }
    this.writes.set(key, { at: [version], values: [value], index: this.keys.length });
    this.keys.push(key);
    this.addedAt.push(version);
  }
}

/** The last index of `sorted` whose value is at most `v`, or -1. */
function lastAtMost(sorted: readonly number[], v: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! <= v) low = mid + 1;
    else high = mid;
  }
  return low - 1;
}

/** One version of a wide map. */
export class LongRecord extends LazyValue {
  constructor(
    readonly lineage: Lineage,
    readonly version: number,
  ) {
    super();
  }

  /** How many keys this version has. */
  get size(): number {
    return lastAtMost(this.lineage.addedAt, this.version) + 1;
  }

  /** Whether this version has `key`. */
  has(key: string): boolean {
    const writes = this.lineage.writes.get(key);
    return writes !== undefined && writes.at[0]! <= this.version;
  }

  /** The value of `key` in this version, a lazy one as its version; undefined when it has none. */
  get(key: string): unknown {
    const writes = this.lineage.writes.get(key);
    if (!writes) return undefined;
    const at = lastAtMost(writes.at, this.version);
    return at < 0 ? undefined : writes.values[at];
  }

  /** `keys` of this map in the order `Object.keys` gives them: integer keys first, then as added. */
  order(keys: readonly string[]): string[] {
    const rank = (key: string) =>
      INDEX.test(key) ? Number(key) - 2 ** 32 : this.lineage.writes.get(key)!.index;
    return [...keys].sort((a, b) => rank(a) - rank(b));
  }

  protected build(): object {
    const out: Record<string, unknown> = {};
    const { keys } = this.lineage;
    for (let i = 0, n = this.size; i < n; i++) defineOwn(out, keys[i]!, this.get(keys[i]!));
    return Object.freeze(out);
  }
}

/**
 * `current` with `entries` merged in (their keys after its own, as a spread would put them): a plain
 * frozen object while narrow, a shared version from `WIDE` keys on. `entries` is frozen data.
 */
export function mergeEntries(
  current: object | LongRecord | undefined,
  entries: Readonly<Record<string, unknown>>,
): object | LongRecord {
  const keys = Object.keys(entries);
  let base: LongRecord;
  if (current instanceof LongRecord) {
    // Adding is safe only to the newest version of a lineage: no other version sees past it.
    base = current.version === current.lineage.tip ? current : startFrom(current.data());
  } else {
    // Defined key by key, not spread: a long list or wide map inside stays a version, unbuilt.
    const next = copyOwn(current ?? {});
    for (const key of keys) defineOwn(next, key, ownValue(entries, key));
    if (Object.keys(next).length < WIDE) return Object.freeze(next);
    base = startFrom(current ?? {});
  }
  const { lineage } = base;
  const version = base.version + 1;
  for (const key of keys) lineage.write(key, ownValue(entries, key), version);
  lineage.written.push(keys);
  lineage.tip = version;
  return new LongRecord(lineage, version);
}

/** A lineage whose version 0 is `object`. */
function startFrom(object: object): LongRecord {
  const lineage = new Lineage(new WeakRef(object));
  for (const key of Object.keys(object)) lineage.write(key, ownValue(object, key), 0);
  return new LongRecord(lineage, 0);
}

/**
 * The keys and values that turn `prev` into `next`, when `next` is `prev` plus merges (`prev` a
 * version of the same lineage, or the plain object it started from); else null. Lazy values are
 * given as their versions.
 */
export function entriesAfter(next: LongRecord, prev: unknown): Record<string, unknown> | null {
  const { lineage } = next;
  let from: number;
  if (prev instanceof LongRecord) {
    if (prev.lineage !== lineage || prev.version > next.version) return null;
    from = prev.version;
  } else if (typeof prev === 'object' && prev !== null && lineage.from.deref() === prev) from = 0;
  else return null;
  const out: Record<string, unknown> = {};
  for (let v = from + 1; v <= next.version; v++) {
    for (const key of lineage.written[v - 1]!) defineOwn(out, key, next.get(key));
  }
  return out;
}
