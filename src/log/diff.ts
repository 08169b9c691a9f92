import { dataOf, LazyValue, ownValues } from '../../machines/lazy-value.js';
import { itemsAfter, LongList } from '../../machines/long-list.js';
import { entriesAfter, LongRecord } from '../../machines/long-record.js';

export type DiffPath = readonly (string | number)[];

export type Change =
  | { op: 'add'; path: DiffPath; to: unknown }
  | { op: 'remove'; path: DiffPath; from: unknown }
  | { op: 'replace'; path: DiffPath; from: unknown; to: unknown };

const isContainer = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/**
 * The changes that turn `a` into `b`. Identical (===) subtrees are skipped without a look, so
 * between two versions that share structure the cost is proportional to what changed.
 */
export function diffValues(a: unknown, b: unknown): Change[] {
  const changes: Change[] = [];
  walk(a, b, [], changes);
  return changes;
}

function walk(x: unknown, y: unknown, path: (string | number)[], out: Change[]): void {
  if (x === y || (Number.isNaN(x) && Number.isNaN(y))) return;
  if (x instanceof LazyValue || y instanceof LazyValue) {
    walkLazy(x, y, path, out);
    return;
  }
  // Lazy values as their versions (not built) while walking an object.
  const a = isContainer(x) && !Array.isArray(x) ? ownValues(x) : x;
  const b = isContainer(y) && !Array.isArray(y) ? ownValues(y) : y;
  const arrays = Array.isArray(a) && Array.isArray(b);
  if (!isContainer(a) || !isContainer(b) || Array.isArray(a) !== Array.isArray(b)) {
    out.push({ op: 'replace', path: [...path], from: x, to: y });
    return;
  }
  if (arrays) {
    const left = a as unknown as unknown[];
    const right = b as unknown as unknown[];
    const common = Math.min(left.length, right.length);
    for (let i = 0; i < common; i++) walk(left[i], right[i], [...path, i], out);
    for (let i = common; i < right.length; i++) out.push({ op: 'add', path: [...path, i], to: right[i] });
    // Removed from the end backwards, so applying the changes in order keeps indices valid.
    for (let i = left.length - 1; i >= common; i--)
      out.push({ op: 'remove', path: [...path, i], from: left[i] });
    return;
  }
  for (const key of Object.keys(a)) {
    if (!Object.hasOwn(b, key)) out.push({ op: 'remove', path: [...path, key], from: dataOf(a[key]) });
    else walk(a[key], b[key], [...path, key], out);
  }
  for (const key of Object.keys(b)) {
    if (!Object.hasOwn(a, key)) out.push({ op: 'add', path: [...path, key], to: dataOf(b[key]) });
  }
}

/** Two versions of a lazy value: what was appended or merged, without building either. */
function walkLazy(x: unknown, y: unknown, path: (string | number)[], out: Change[]): void {
  if (y instanceof LongList && (x instanceof LongList || Array.isArray(x))) {
    const added = itemsAfter(y, x);
    if (added) {
      const from = x.length;
      for (let i = 0; i < added.length; i++) out.push({ op: 'add', path: [...path, from + i], to: added[i] });
      return;
    }
  }
  if (y instanceof LongRecord && isContainer(x)) {
    const merged = entriesAfter(y, x);
    if (merged) {
      const to = ownValues(merged);
      const before = x instanceof LongRecord ? x : null;
      const plain = before ? null : ownValues(x);
      const has = (key: string) => (before ? before.has(key) : Object.hasOwn(plain!, key));
      const at = (key: string) => (before ? before.get(key) : plain![key]);
      // As a walk of the two maps gives them: changed keys, then added ones, in the map's order.
      const keys = y.order(Object.keys(to));
      for (const key of keys) if (has(key)) walk(at(key), to[key], [...path, key], out);
      for (const key of keys)
        if (!has(key)) out.push({ op: 'add', path: [...path, key], to: dataOf(to[key]) });
      return;
    }
  }
  walk(dataOf(x), dataOf(y), path, out);
}
