/**
 * What enters the state log is frozen. Live values (an actor's context, an event) are not frozen in
 * place, since their owner may still hold them: the log keeps a frozen JSON-safe projection instead.
 *
 * Structural sharing: XState makes a new object per transition and keeps every untouched part of
 * the context by reference. A projection is remembered per live object (weakly), so the next
 * snapshot's projection reuses every part that did not change: a log entry costs what changed, not
 * a copy of the whole context. This relies on XState's contract that snapshots, their context and
 * events are never mutated in place — all the more since the state log projects an entry when it
 * is first read, which may be well after the transition (state-log.ts). A frozen subtree is taken
 * as it is: everything agentcharts freezes is frozen deeply.
 *
 * Hostile values (a getter or Proxy that throws) never stop a projection: the part that cannot be
 * read becomes `UNREADABLE`, and the error goes to `onUnreadable`.
 */

import { capText, MAX_NAME, MAX_TEXT } from '../../machines/untrusted.js';

const MAX_DEPTH = 64;

/** Stands in for a value that threw when read (a throwing getter, a Proxy trap). */
export const UNREADABLE = '[Unreadable]';

const isActorRef = (v: object): v is { id: string; sessionId: string } =>
  typeof (v as { sessionId?: unknown }).sessionId === 'string' &&
  typeof (v as { send?: unknown }).send === 'function';

/** Live object → its frozen projection, when the projection does not depend on where it was met. */
const projections = new WeakMap<object, unknown>();

export type OnUnreadable = (error: unknown) => void;

interface Walk {
  seen: Set<object>;
  maxDepth: number;
  /** Count of markers that depend on the path ('[Circular]', '[Deep]'): such projections are not remembered. */
  marks: number;
  onUnreadable: OnUnreadable | undefined;
}

/**
 * A deeply frozen, JSON-safe projection of any value; unchanged parts are shared, not copied. Parts
 * nested deeper than `maxDepth` (default 64) become '[Deep]'.
 */
export function freezeForLog(value: unknown, onUnreadable?: OnUnreadable, maxDepth = MAX_DEPTH): unknown {
  if (typeof value !== 'object' || value === null) return project(value, null, 0);
  return project(value, { seen: new Set(), maxDepth, marks: 0, onUnreadable }, 0);
}

function unreadable(walk: Walk | null, error: unknown): string {
  if (walk?.onUnreadable) {
    try {
      walk.onUnreadable(error);
    } catch {
      // Reporting must not break the projection either.
    }
  }
  return UNREADABLE;
}

function project(value: unknown, walk: Walk | null, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'undefined':
      return value;
    case 'bigint':
      return `${value}n`;
    case 'symbol':
      return value.toString();
    case 'function':
      return undefined;
  }
  if (value === null) return null;
  const object = value as object;
  const w = walk ?? { seen: new Set<object>(), maxDepth: MAX_DEPTH, marks: 0, onUnreadable: undefined };
  try {
    if (Object.isFrozen(object)) return object;
    const known = projections.get(object);
    if (known !== undefined) return known;
    if (depth >= w.maxDepth) {
      w.marks++;
      return '[Deep]';
    }
    if (w.seen.has(object)) {
      w.marks++;
      return '[Circular]';
    }
    const proto = Object.getPrototypeOf(object);
    const plain = proto === Object.prototype || proto === null;
    if (!plain && !Array.isArray(object)) {
      if (isActorRef(object)) return Object.freeze({ actor: object.id });
      if (object instanceof Error) return projectError(object, w);
      if (object instanceof Date) return Number.isNaN(object.getTime()) ? null : object.toISOString();
    }
    const marksBefore = w.marks;
    w.seen.add(object);
    const copy =
      Array.isArray(object) || object instanceof Set
        ? projectList(object, w, depth)
        : projectRecord(object, w, depth);
    w.seen.delete(object);
    const frozen = Object.freeze(copy);
    // Maps and Sets change in place, so only plain objects and arrays are remembered.
    if (w.marks === marksBefore && (plain || Array.isArray(object))) projections.set(object, frozen);
    return frozen;
  } catch (error) {
    w.seen.delete(object);
    return unreadable(w, error);
  }
}

function projectError(error: Error, w: Walk): object {
  const read = (key: 'name' | 'message'): unknown => {
    try {
      const v = error[key];
      // A thrown error's text is untrusted: capped and escaped like every other boundary's.
      return capText(typeof v === 'string' ? v : String(v), key === 'name' ? MAX_NAME : MAX_TEXT);
    } catch (e) {
      return unreadable(w, e);
    }
  };
  return Object.freeze({ name: read('name'), message: read('message') });
}

function projectList(object: unknown[] | Set<unknown>, w: Walk, depth: number): unknown[] {
  const items = Array.isArray(object) ? object : [...object];
  const array: unknown[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    let item: unknown;
    try {
      item = items[i];
    } catch (error) {
      array[i] = unreadable(w, error);
      continue;
    }
    const projected = project(item, w, depth + 1);
    array[i] = projected === undefined ? null : projected;
  }
  return array;
}

function projectRecord(object: object, w: Walk, depth: number): Record<string, unknown> {
  const entries = object instanceof Map ? [...object] : null;
  const keys = entries ? entries.map(([key]) => String(key)) : Object.keys(object);
  const record: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    let projected: unknown;
    try {
      const item = entries ? entries[i]![1] : (object as Record<string, unknown>)[key];
      projected = project(item, w, depth + 1);
    } catch (error) {
      projected = unreadable(w, error);
    }
    if (projected === undefined) continue;
    // A key named __proto__ is defined, not assigned, so it stays data.
    if (key === '__proto__') Object.defineProperty(record, key, { value: projected, enumerable: true });
    else record[key] = projected;
  }
  return record;
}
