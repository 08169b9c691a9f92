/**
 * What enters the state log is frozen. Live values (an actor's context, an event) are not frozen in
 * place, since their owner may still hold them: the log keeps a frozen JSON-safe copy instead. A
 * frozen subtree is taken as it is, without a copy: everything agentcharts freezes is frozen
 * deeply, so the blackboard's state costs the log nothing but a reference.
 */

const MAX_DEPTH = 64;

const isActorRef = (v: object): v is { id: string; sessionId: string } =>
  typeof (v as { sessionId?: unknown }).sessionId === 'string' &&
  typeof (v as { send?: unknown }).send === 'function';

/** A deeply frozen, JSON-safe projection of any value; frozen subtrees are shared, not copied. */
export function freezeForLog(value: unknown): unknown {
  return project(value, null, 0);
}

function project(value: unknown, path: Set<object> | null, depth: number): unknown {
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
  if (value === null || Object.isFrozen(value)) return value;
  const object = value as object;
  if (depth >= MAX_DEPTH) return '[Deep]';
  const proto = Object.getPrototypeOf(object);
  const plain = proto === Object.prototype || proto === null;
  if (!plain && !Array.isArray(object)) {
    if (isActorRef(object)) return Object.freeze({ actor: object.id });
    if (object instanceof Error) return Object.freeze({ name: object.name, message: object.message });
    if (object instanceof Date) return Number.isNaN(object.getTime()) ? null : object.toISOString();
  }
  const seen = path ?? new Set<object>();
  if (seen.has(object)) return '[Circular]';
  seen.add(object);
  let copy: object;
  if (Array.isArray(object) || object instanceof Set) {
    const items = Array.isArray(object) ? object : [...object];
    const array: unknown[] = new Array(items.length);
    for (let i = 0; i < items.length; i++) {
      const projected = project(items[i], seen, depth + 1);
      array[i] = projected === undefined ? null : projected;
    }
    copy = array;
  } else {
    const entries = object instanceof Map ? [...object] : null;
    const keys = entries ? entries.map(([key]) => String(key)) : Object.keys(object);
    const record: Record<string, unknown> = {};
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const item = entries ? entries[i]![1] : (object as Record<string, unknown>)[key];
      const projected = project(item, seen, depth + 1);
      if (projected === undefined) continue;
      // A key named __proto__ is defined, not assigned, so it stays data.
      if (key === '__proto__') Object.defineProperty(record, key, { value: projected, enumerable: true });
      else record[key] = projected;
    }
    copy = record;
  }
  seen.delete(object);
  return Object.freeze(copy);
}
