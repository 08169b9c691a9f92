import type { Change } from '../log/diff.js';
import { diffValues } from '../log/diff.js';

/**
 * How a run's records say what changed rather than copy what did not (store format 2):
 *
 * - A log entry stores its actor's state as a patch (`d`) on the previous entry of the same actor;
 *   the workflow snapshot as a patch (`sd`) on the previous stored snapshot. The first of each is
 *   stored whole, and so is anything written when the base is not known.
 * - A long string (an agent's output) is stored once per run: its first occurrence is
 *   `"\u0001<id>:<text>"`, later ones `"\u0002<id>"`; a string that starts with \u0001–\u0003 by
 *   itself is escaped with a \u0003 in front.
 *
 * Bases advance only with what is durably written: a refused record rolls its changes back, and a
 * failed write makes the store read the run again before its next write.
 */

/** Strings at least this long are stored once per run. */
const INTERN_MIN = 256;
const DEFINE = 1;
const REFER = 2;
const ESCAPE = 3;

/** A patch operation: `[path]` removes, `[path, value]` sets. */
export type PatchOp = readonly [path: readonly (string | number)[], value?: unknown];

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

/** The changes that turn `a` into `b`, as patch operations (JSON semantics: undefined members drop). */
export function makePatch(a: unknown, b: unknown): PatchOp[] {
  return diffValues(a, b).flatMap((change: Change): PatchOp[] => {
    if (change.op === 'remove') return [[change.path]];
    const inArray = Array.isArray(parentOf(b, change.path));
    if (change.to === undefined)
      return inArray ? [[change.path, null]] : change.op === 'add' ? [] : [[change.path]];
    return [[change.path, change.to]];
  });
}

function parentOf(root: unknown, path: readonly (string | number)[]): unknown {
  let node = root;
  for (let i = 0; i < path.length - 1; i++) node = (node as Record<string | number, unknown>)[path[i]!];
  return node;
}

/** `base` with the patch applied; the result is frozen and shares every untouched part with `base`. */
export function applyPatch(base: unknown, ops: readonly PatchOp[]): unknown {
  let root = base;
  const fresh = new Set<object>();
  const own = (node: unknown): Record<string | number, unknown> => {
    if (typeof node !== 'object' || node === null)
      throw new TypeError('the patch goes through a non-container');
    if (fresh.has(node)) return node as Record<string | number, unknown>;
    const copy = Array.isArray(node) ? node.slice() : { ...(node as object) };
    fresh.add(copy);
    return copy as Record<string | number, unknown>;
  };
  for (const op of ops) {
    if (!Array.isArray(op) || !Array.isArray(op[0])) throw new TypeError('a patch operation is malformed');
    const [path] = op;
    if (path.length === 0) {
      root = op[1];
      continue;
    }
    root = own(root);
    let parent = root as Record<string | number, unknown>;
    for (let i = 0; i < path.length - 1; i++) {
      const key = path[i]!;
      const child = own(parent[key]);
      parent[key] = child;
      parent = child;
    }
    const key = path[path.length - 1]!;
    if (op.length < 2) {
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
    } else if (key === '__proto__') {
      Object.defineProperty(parent, key, {
        value: op[1],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else parent[key] = op[1];
  }
  for (const node of fresh) Object.freeze(node);
  return root;
}

/** A JSON.stringify replacer that interns long strings into `bases`; `added` collects new ids. */
export function internStrings(bases: Bases, added: number[]) {
  if (!bases.ids) bases.ids = new Map(bases.strings.map((s, i) => [s, i]));
  const ids = bases.ids;
  return (_key: string, value: unknown): unknown => {
    if (typeof value !== 'string' || value.length === 0) return value;
    if (value.length >= INTERN_MIN) {
      const known = ids.get(value);
      if (known !== undefined) return `\u0002${known}`;
      const id = bases.strings.length;
      bases.strings.push(value);
      ids.set(value, id);
      added.push(id);
      return `\u0001${id}:${value}`;
    }
    const first = value.charCodeAt(0);
    return first >= DEFINE && first <= ESCAPE ? `\u0003${value}` : value;
  };
}

/** Undo the strings a refused record interned. */
export function forgetStrings(bases: Bases, added: readonly number[]): void {
  for (let i = added.length - 1; i >= 0; i--) {
    const id = added[i]!;
    const text = bases.strings[id];
    if (id === bases.strings.length - 1) bases.strings.pop();
    if (text !== undefined) bases.ids?.delete(text);
  }
}

/** A JSON.parse reviver that resolves interned strings; throws on a reference it cannot resolve. */
export function resolveStrings(bases: Bases) {
  return (_key: string, value: unknown): unknown => {
    if (typeof value !== 'string' || value.length === 0) return value;
    const first = value.charCodeAt(0);
    if (first === ESCAPE) return value.slice(1);
    if (first === DEFINE) {
      const colon = value.indexOf(':');
      const id = Number(value.slice(1, colon));
      if (colon < 0 || id !== bases.strings.length)
        throw new TypeError('a string definition is out of order');
      const text = value.slice(colon + 1);
      bases.strings.push(text);
      bases.ids?.set(text, id);
      return text;
    }
    if (first === REFER) {
      const text = bases.strings[Number(value.slice(1))];
      if (text === undefined) throw new TypeError('a string reference has no definition');
      return text;
    }
    return value;
  };
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
