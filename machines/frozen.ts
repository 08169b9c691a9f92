import { FORBIDDEN_SEGMENTS, isPlainObject } from './key-path.js';

/**
 * Immutability with structural sharing. The invariant: every object agentcharts freezes is frozen
 * deeply, so a frozen object is taken as a finished subtree and never walked again. That is what
 * keeps freezing a new version proportional to what changed.
 */

export type DeepReadonly<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends readonly (infer U)[]
    ? readonly DeepReadonly<U>[]
    : T extends object
      ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
      : T;

/** Freeze in place everything reachable that is not frozen yet. */
export function deepFreeze<T>(value: T): DeepReadonly<T> {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value as DeepReadonly<T>;
}

export type DataResult =
  | { ok: true; value: unknown }
  | { ok: false; reason: 'forbiddenKey'; path: string; segment: string }
  | { ok: false; reason: 'notData'; path: string; message: string };

const MAX_DEPTH = 256;

/**
 * A fresh copy of JSON data (null, booleans, finite numbers, strings, arrays, plain objects), so a
 * writer keeps no handle on what was committed. Refuses prototype keys, cycles, functions, class
 * instances and non-finite numbers. `undefined` object members are dropped, as JSON does.
 * With `reuseFrozen`, frozen subtrees are taken as they are (they are already committed data).
 */
export function cloneData(value: unknown, options: { reuseFrozen?: boolean } = {}): DataResult {
  if (value === undefined)
    return { ok: false, reason: 'notData', path: '', message: 'undefined is not JSON data' };
  const reuse = options.reuseFrozen === true;
  const seen = new Set<object>();
  let failure: DataResult | undefined;
  const walk = (node: unknown, path: string, depth: number): unknown => {
    if (node === null || typeof node === 'string' || typeof node === 'boolean') return node;
    if (typeof node === 'number') {
      if (Number.isFinite(node)) return node;
      failure = { ok: false, reason: 'notData', path, message: `${node} is not a JSON number` };
      return undefined;
    }
    if (typeof node !== 'object') {
      failure = { ok: false, reason: 'notData', path, message: `a ${typeof node} is not JSON data` };
      return undefined;
    }
    if (reuse && Object.isFrozen(node)) return node;
    if (depth > MAX_DEPTH) {
      failure = { ok: false, reason: 'notData', path, message: `nested deeper than ${MAX_DEPTH} levels` };
      return undefined;
    }
    if (seen.has(node)) {
      failure = { ok: false, reason: 'notData', path, message: 'a cycle is not JSON data' };
      return undefined;
    }
    seen.add(node);
    let copy: unknown;
    if (Array.isArray(node)) {
      const array: unknown[] = new Array(node.length);
      for (let i = 0; i < node.length && !failure; i++) {
        const item = node[i];
        if (item === undefined) {
          failure = {
            ok: false,
            reason: 'notData',
            path: join(path, String(i)),
            message: 'undefined in an array',
          };
        } else array[i] = walk(item, join(path, String(i)), depth + 1);
      }
      copy = array;
    } else if (isPlainObject(node)) {
      const object: Record<string, unknown> = {};
      for (const key of Object.keys(node)) {
        if (FORBIDDEN_SEGMENTS.has(key)) {
          failure = { ok: false, reason: 'forbiddenKey', path: join(path, key), segment: key };
          break;
        }
        const item = node[key];
        if (item === undefined) continue;
        object[key] = walk(item, join(path, key), depth + 1);
        if (failure) break;
      }
      copy = object;
    } else {
      const name = (node as { constructor?: { name?: unknown } }).constructor?.name;
      failure = {
        ok: false,
        reason: 'notData',
        path,
        message: `a ${typeof name === 'string' ? name : 'non-plain object'} is not JSON data`,
      };
      return undefined;
    }
    seen.delete(node);
    return copy;
  };
  const copy = walk(value, '', 0);
  if (failure) return failure;
  return { ok: true, value: copy };
}

const join = (path: string, key: string): string => (path ? `${path}.${key}` : key);
