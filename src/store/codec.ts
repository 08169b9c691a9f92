/**
 * How a run's records say what changed rather than copy what did not (store formats 2 and 3):
 *
 * - A log entry stores its actor's state as a patch (`d`) on the previous entry of the same actor;
 *   the workflow snapshot as a patch (`sd`) on the previous stored snapshot. The first of each is
 *   stored whole, and so is anything written when the base is not known.
 * - A long string (an agent's output) is stored once per run (strings.ts).
 * - The run's shared state is written once per record; elsewhere it is a reference (format 3,
 *   shared-ref.ts).
 *
 * Bases advance only with what is durably written: a refused record rolls its changes back, and a
 * failed write makes the store read the run again before its next write.
 */

import { copyOwn, dataOf, defineOwn, LazyValue, ownValue, ownValues } from '../../machines/lazy-value.js';
import { extendsList, withItem } from '../../machines/lists.js';
import { appendItems, itemsAfter, LongList } from '../../machines/long-list.js';
import { entriesAfter, LongRecord, mergeEntries } from '../../machines/long-record.js';

/**
 * A patch operation, applied in order:
 *   `[path]`                 remove
 *   `[path, value]`          set
 *   `[path, rest, key]`      wrap: `{ ...rest, [key]: <the value at path> }` (a persistent list's push)
 *   `[path, items, shift]`   slide: `[...<the list at path>.slice(shift), ...items]` (append, window)
 *   `[path, items, 0, 1]`    the same, to a long list that the reader keeps shared (long-list.ts)
 *   `[path, entries, 0, 2]`  merge: `{ ...<the map at path>, ...entries }`, kept shared (long-record.ts)
 */
export type PatchOp =
  | readonly [path: readonly (string | number)[], value?: unknown]
  | readonly [path: readonly (string | number)[], value: unknown, how: string | number, long?: 1 | 2];

/** What the next record of a run is encoded against (writer) or decoded with (reader). */
export interface Bases {
  /** The state of each actor's last stored entry. */
  actors: Map<string, unknown>;
  /** The last stored workflow snapshot; undefined: none yet. */
  snapshot: unknown;
  /** Interned strings by id. */
  strings: string[];
  /** id by string: built when a reader's bases start being written to. */
  ids: Map<string, number> | null;
}

export const emptyBases = (): Bases => ({ actors: new Map(), snapshot: undefined, strings: [], ids: null });

type Path = (string | number)[];
const isContainer = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
/** How far back a sliding list is recognised (a bounded list that drops its oldest items). */
const MAX_SHIFT = 8;
/**
 * How deep a patch follows two versions side by side; below, a changed part is written whole. Two
 * different linked chains would otherwise cost a path per level per difference: their square.
 */
const MAX_WALK = 32;
/** Moves are looked for among this many sibling keys at most. */
const MAX_MOVE_KEYS = 64;

/**
 * The changes that turn `a` into `b`, as patch operations (JSON semantics: undefined members drop).
 * Identical (===) parts are skipped without a look, so between two versions that share structure the
 * cost and the size are proportional to what changed, including lists that grow at the end and
 * persistent linked lists that grow at the head.
 */
export function makePatch(a: unknown, b: unknown): PatchOp[] {
  const out: PatchOp[] = [];
  diff(a, b, [], out);
  return out;
}

function diff(x: unknown, y: unknown, path: Path, out: PatchOp[]): void {
  if (x === y || (typeof x === 'number' && typeof y === 'number' && Number.isNaN(x) && Number.isNaN(y)))
    return;
  if (x instanceof LazyValue || y instanceof LazyValue) {
    diffLazy(x, y, path, out);
    return;
  }
  if (!isContainer(x) || !isContainer(y) || Array.isArray(x) !== Array.isArray(y)) {
    out.push(y === undefined ? [path.slice()] : [path.slice(), y]);
    return;
  }
  if (Array.isArray(x)) {
    diffLists(x, y as unknown as unknown[], path, out);
    return;
  }
  // Lazy values (an `append` or `merge` key) as their versions: an append is a slide, unread.
  const a = ownValues(x);
  const b = ownValues(y);
  for (const key of Object.keys(b)) {
    if (b[key] === x) {
      // b is a new node in front of a: say so instead of walking a's chain position by position.
      const { [key]: _, ...rest } = b;
      for (const k of Object.keys(rest)) rest[k] = dataOf(rest[k]);
      out.push([path.slice(), rest, key]);
      return;
    }
  }
  for (const key of Object.keys(a)) {
    if (!Object.hasOwn(b, key) || b[key] === undefined) {
      if (a[key] !== undefined) out.push([[...path, key]]);
    } else if (
      b[key] !== a[key] &&
      isContainer(b[key]) &&
      (path.length >= MAX_WALK || moved(a, key, b[key]))
    ) {
      out.push([[...path, key], dataOf(b[key])]);
    } else {
      path.push(key);
      diff(a[key], b[key], path, out);
      path.pop();
    }
  }
  for (const key of Object.keys(b)) {
    if (!Object.hasOwn(a, key) && b[key] !== undefined) out.push([[...path, key], dataOf(b[key])]);
  }
}

/**
 * Versions of a lazy value: what was appended to a long list, as one slide; what was merged into a
 * wide map, as one merge; anything else compared as plain data.
 */
function diffLazy(a: unknown, b: unknown, path: Path, out: PatchOp[]): void {
  if (b instanceof LongList && (a instanceof LongList || Array.isArray(a))) {
    const added = itemsAfter(b, a);
    if (added) {
      if (added.length > 0) out.push([path.slice(), added.map((v) => (v === undefined ? null : v)), 0, 1]);
      return;
    }
  }
  if (b instanceof LongRecord) {
    const merged = entriesAfter(b, a);
    if (merged) {
      const entries: Record<string, unknown> = {};
      for (const key of Object.keys(merged)) defineOwn(entries, key, dataOf(ownValue(merged, key)));
      if (Object.keys(entries).length > 0) out.push([path.slice(), entries, 0, 2]);
      return;
    }
  }
  diff(dataOf(a), dataOf(b), path, out);
}

/**
 * Whether `value`, new at `key`, was at another key of `a`: a subtree that moved (a journal's
 * generation becoming the older one). Compared with what was at `key` it shares nothing, and
 * walking the two side by side would write a path per difference all the way down.
 */
function moved(a: Record<string, unknown>, key: string, value: unknown): boolean {
  const keys = Object.keys(a);
  if (keys.length > MAX_MOVE_KEYS) return false;
  for (const other of keys) if (other !== key && a[other] === value) return true;
  return false;
}

function diffLists(a: readonly unknown[], b: readonly unknown[], path: Path, out: PatchOp[]): void {
  // A list made from a by adding an item (a run's steps, an `append`): known without a look.
  if (extendsList(b, a)) {
    out.push([path.slice(), [b[a.length] === undefined ? null : b[a.length]], 0]);
    return;
  }
  // A list that kept a's items (maybe dropping a few of the oldest) and added some at the end.
  for (let shift = 0; shift <= Math.min(MAX_SHIFT, a.length); shift++) {
    const kept = a.length - shift;
    if (kept === 0) break;
    if (kept > b.length) continue;
    let same = true;
    for (let i = 0; i < kept && same; i++) same = a[i + shift] === b[i];
    if (!same) continue;
    if (shift === 0 && kept === b.length) return;
    out.push([path.slice(), b.slice(kept).map((v) => (v === undefined ? null : v)), shift]);
    return;
  }
  const common = Math.min(a.length, b.length);
  for (let i = 0; i < common; i++) {
    path.push(i);
    diff(a[i], b[i] === undefined ? null : b[i], path, out);
    path.pop();
  }
  if (b.length > a.length)
    out.push([path.slice(), b.slice(a.length).map((v) => (v === undefined ? null : v)), 0]);
  // Removed from the end backwards, so the indices stay valid.
  for (let i = a.length - 1; i >= b.length; i--) out.push([[...path, i]]);
}

/**
 * `base` with the patch applied; the result is frozen and shares every untouched part with `base`.
 * `fill` makes each op's value from the one stored and the root so far (shared-ref.ts).
 */
export function applyPatch(
  base: unknown,
  ops: readonly PatchOp[],
  fill?: (value: unknown, root: unknown) => unknown,
): unknown {
  let root = base;
  const fresh = new Set<object>();
  const own = (node: unknown): Record<string | number, unknown> => {
    if (typeof node !== 'object' || node === null)
      throw new TypeError('the patch goes through a non-container');
    if (fresh.has(node)) return node as Record<string | number, unknown>;
    const copy = Array.isArray(node) ? node.slice() : copyOwn(node);
    fresh.add(copy);
    return copy as Record<string | number, unknown>;
  };
  const made = (value: unknown, held: unknown, how: string | number, long: unknown): unknown => {
    // Appended to a long list: shared with the versions before, as the live list was.
    if (long === 1 && how === 0 && Array.isArray(value) && (held instanceof LongList || Array.isArray(held)))
      return appendItems(held, value);
    // Merged into a map: a wide one shared with the versions before, as the live map was.
    if (long === 2 && how === 0 && isContainer(value) && !Array.isArray(value)) {
      if (!(held instanceof LongRecord) && !(isContainer(held) && !Array.isArray(held)))
        throw new TypeError('a merge needs a map');
      return mergeEntries(held, value);
    }
    const old = dataOf(held);
    if (typeof how === 'string') {
      if (!isContainer(value) || Array.isArray(value)) throw new TypeError('a wrap needs an object');
      const node: Record<string, unknown> = { ...value };
      if (how === '__proto__')
        Object.defineProperty(node, how, { value: old, enumerable: true, writable: true });
      else node[how] = old;
      fresh.add(node);
      return node;
    }
    if (!Array.isArray(old) || !Array.isArray(value) || !Number.isInteger(how) || how < 0) {
      throw new TypeError('a slide needs a list');
    }
    let list: unknown[];
    // One item added: made as the live list was, so it is known to extend `old`.
    if (how === 0 && value.length === 1) list = withItem(old, value[0]);
    else {
      list = old.slice(how);
      for (const item of value) list.push(item);
    }
    fresh.add(list);
    return list;
  };
  for (const op of ops) {
    if (!Array.isArray(op) || !Array.isArray(op[0])) throw new TypeError('a patch operation is malformed');
    const path = op[0] as Path;
    const how = op.length > 2 ? (op[2] as string | number) : undefined;
    const long = op.length > 3 ? op[3] : 0;
    const stored = fill && op.length > 1 ? fill(op[1], root) : op[1];
    if (path.length === 0) {
      root = how === undefined ? stored : made(stored, root, how, long);
      continue;
    }
    root = own(root);
    let parent = root as Record<string | number, unknown>;
    for (let i = 0; i < path.length - 1; i++) {
      const key = path[i]!;
      // Only through what is there: a stored patch must not reach a prototype.
      if (!Object.hasOwn(parent, key)) throw new TypeError('the patch goes through a missing key');
      const child = own(parent[key]);
      Object.defineProperty(parent, key, {
        value: child,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      parent = child;
    }
    const key = path[path.length - 1]!;
    if (op.length < 2) {
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
      continue;
    }
    if (how !== undefined && !Object.hasOwn(parent, key))
      throw new TypeError('the patch changes a missing key');
    // A lazy value is extended as its version (an append or merge replayed) and set as one.
    const value = how === undefined ? stored : made(stored, ownValue(parent, String(key)), how, long);
    if (Array.isArray(parent)) parent[key as number] = dataOf(value);
    else defineOwn(parent, String(key), value);
  }
  for (const node of fresh) Object.freeze(node);
  return root;
}

/**
 * JSON data as JSON.stringify would see it, frozen, taken when a write is called so later changes by
 * the caller do not reach the store. Frozen subtrees are taken as they are (the state log's are
 * frozen JSON-safe projections), so a commit of the log's entries costs nothing here.
 * Throws a TypeError for a cycle or a bigint, as JSON.stringify does.
 */
export function captureJson(value: unknown): unknown {
  const path = new Set<object>();
  const walk = (node: unknown, inArray: boolean): unknown => {
    switch (typeof node) {
      case 'string':
      case 'boolean':
        return node;
      case 'number':
        return Number.isFinite(node) ? node : null;
      case 'bigint':
        throw new TypeError('a BigInt is not JSON data');
      case 'undefined':
      case 'function':
      case 'symbol':
        return inArray ? null : undefined;
    }
    if (node === null || Object.isFrozen(node)) return node;
    const toJSON = (node as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return walk(toJSON.call(node), inArray);
    if (path.has(node as object)) throw new TypeError('a cycle is not JSON data');
    path.add(node as object);
    let copy: unknown;
    if (Array.isArray(node)) copy = node.map((item) => walk(item, true));
    else {
      const record: Record<string, unknown> = {};
      for (const key of Object.keys(node as object)) {
        const item = walk((node as Record<string, unknown>)[key], false);
        if (item === undefined) continue;
        if (key === '__proto__') Object.defineProperty(record, key, { value: item, enumerable: true });
        else record[key] = item;
      }
      copy = record;
    }
    path.delete(node as object);
    return Object.freeze(copy);
  };
  // Every copy is frozen as it is made, and frozen input is kept: the result is deeply frozen.
  return walk(value, false);
}
