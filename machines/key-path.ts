/**
 * Key paths into the shared state: `'notes.summary'` or `['notes', 'summary']`. Segments that reach
 * an object's prototype are refused anywhere in a path, so a write can never pollute one.
 */

import { copyOwn, dataOf, defineOwn, LazyValue, ownValue } from './lazy-value.js';
import { LongRecord, mergeEntries } from './long-record.js';
import { safeText } from './untrusted.js';

export type KeyPath = string | readonly (string | number)[];

export const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export type ParsedKey =
  | { ok: true; path: readonly string[]; key: string }
  | { ok: false; reason: 'forbiddenKey'; key: string; segment: string; message: string }
  | { ok: false; reason: 'invalidKey'; key: string; message: string };

const INDEX = /^(0|[1-9]\d*)$/;

export const isIndex = (segment: string): boolean => INDEX.test(segment);

/** Split and check a key path. The display key joins segments with dots. Never throws. */
export function parseKeyPath(raw: unknown): ParsedKey {
  try {
    return parseSegments(raw);
  } catch {
    // A hostile array (a Proxy whose traps throw): refused like any other unreadable key.
    return { ok: false, reason: 'invalidKey', key: safeText(raw), message: 'the key could not be read' };
  }
}

function parseSegments(raw: unknown): ParsedKey {
  let segments: unknown[];
  if (typeof raw === 'string') segments = raw.split('.');
  else if (Array.isArray(raw)) segments = raw;
  else
    return {
      ok: false,
      reason: 'invalidKey',
      key: safeText(raw),
      message: 'a key is a dotted string or an array',
    };
  const path: string[] = [];
  for (const segment of segments) {
    if (typeof segment === 'number' && Number.isInteger(segment) && segment >= 0) path.push(String(segment));
    else if (typeof segment === 'string' && segment.length > 0) path.push(segment);
    else {
      const key = typeof raw === 'string' ? raw : displayArray(raw as unknown[]);
      return {
        ok: false,
        reason: 'invalidKey',
        key,
        message: `key "${key}" has an empty or invalid segment`,
      };
    }
  }
  // Reuse the caller's string when it is already the dotted form: logs keep one copy, not two.
  const key = typeof raw === 'string' ? raw : path.join('.');
  if (path.length === 0) return { ok: false, reason: 'invalidKey', key, message: 'the key is empty' };
  for (const segment of path) {
    if (FORBIDDEN_SEGMENTS.has(segment)) {
      return {
        ok: false,
        reason: 'forbiddenKey',
        key,
        segment,
        message: `key "${key}" contains the forbidden segment "${segment}"`,
      };
    }
  }
  return { ok: true, path, key };
}

/** An array key as text: JSON where it can be, each segment as text where not (a bigint). */
function displayArray(raw: unknown[]): string {
  try {
    return JSON.stringify(raw) ?? safeText(raw);
  } catch {
    return `[${raw.map((segment) => safeText(segment)).join(', ')}]`;
  }
}

export const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
};

/** The value at a path, reading own properties only (never the prototype chain). */
export function getIn(root: unknown, path: readonly string[]): unknown {
  let current = root;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/**
 * `getIn`, but lazy values on the way are not built (lazy-value.ts): a wide map is walked as its
 * version, and one at the end of the path is returned as one.
 */
export function peekIn(root: unknown, path: readonly string[]): unknown {
  let current = root;
  for (let depth = 0; depth < path.length; depth++) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = childOf(current, path[depth]!, depth === path.length - 1);
  }
  return current;
}

/**
 * The value at `segment` of a container, own properties only. A wide map is read as its version; a
 * lazy value is returned as its version when `peek`, else (a list to copy) built.
 */
function childOf(container: object, segment: string, peek: boolean): unknown {
  const child =
    container instanceof LongRecord
      ? container.get(segment)
      : Object.hasOwn(container, segment)
        ? ownValue(container, segment)
        : undefined;
  return child instanceof LazyValue && !peek && !(child instanceof LongRecord) ? child.data() : child;
}

export type SetInResult =
  | {
      ok: true;
      root: unknown /** Depth of the first container that had to be created, or -1. */;
      createdAt: number;
    }
  | { ok: false; at: string; message: string };

/**
 * A new root with `value` at `path`: only the containers along the path are copied (and frozen);
 * every other subtree is shared with the old root. Missing containers are created as objects.
 */
export function setIn(root: unknown, path: readonly string[], value: unknown): SetInResult {
  let createdAt = -1;
  const containers: unknown[] = [];
  let current = root;
  for (let depth = 0; depth < path.length; depth++) {
    if (current === undefined) {
      if (createdAt < 0) createdAt = depth;
      current = {};
    }
    if (typeof current !== 'object' || current === null) {
      const at = path.slice(0, depth).join('.') || '(root)';
      return {
        ok: false,
        at,
        message: `cannot write into ${current === null ? 'null' : typeof current} at ${at}`,
      };
    }
    containers.push(current);
    const segment = path[depth]!;
    if (Array.isArray(current)) {
      if (!isIndex(segment) || Number(segment) > current.length) {
        const at = path.slice(0, depth + 1).join('.');
        return {
          ok: false,
          at,
          message: `${at} is not an index within the array (length ${current.length})`,
        };
      }
    }
    // The value at the end is replaced, not read (a lazy value there is not built for nothing).
    if (depth === path.length - 1) break;
    current = childOf(current, segment, false);
  }
  let next = value;
  for (let depth = path.length - 1; depth >= 0; depth--) {
    const container = containers[depth] as Record<string, unknown> | unknown[] | LongRecord;
    const segment = path[depth]!;
    let copy: unknown;
    if (container instanceof LongRecord) {
      // One key of a wide map: a new version of it, not a copy.
      const entries: Record<string, unknown> = {};
      defineOwn(entries, segment, next);
      next = mergeEntries(container, entries);
      continue;
    }
    if (Array.isArray(container)) {
      const array = container.slice();
      array[Number(segment)] = dataOf(next);
      copy = array;
    } else {
      // Defined, never assigned: no setter runs, and a lazy value stays a version (lazy-value.ts).
      const record = copyOwn(container);
      defineOwn(record, segment, next);
      copy = record;
    }
    next = Object.freeze(copy);
  }
  return { ok: true, root: next, createdAt };
}
