import { dataOf, itemsAfter, LongList, ownValues } from '../../machines/long-list.js';

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
  if (x instanceof LongList || y instanceof LongList) {
    // Two versions of a long list (an `append` key): what was appended, without building either.
    const added =
      y instanceof LongList && (x instanceof LongList || Array.isArray(x)) ? itemsAfter(y, x) : null;
    if (added === null) {
      walk(dataOf(x), dataOf(y), path, out);
      return;
    }
    const from = (x as { length: number }).length;
    for (let i = 0; i < added.length; i++) out.push({ op: 'add', path: [...path, from + i], to: added[i] });
    return;
  }
  // Long lists as their versions (not built) while walking an object.
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
