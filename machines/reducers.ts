import type { z } from 'zod';
import type { ValidationIssue } from './agent-result.js';
import { cloneData, deepFreeze } from './frozen.js';
import { isPlainObject } from './key-path.js';
import { LazyValue } from './lazy-value.js';
import { appendItem, LongList } from './long-list.js';
import { LongRecord, mergeEntries } from './long-record.js';
import { childSchema, hasChecks, parseAt } from './schema-path.js';
import { describeError } from './untrusted.js';

/**
 * How a key combines concurrent writes. Built-ins are named so the choice is plain data; a custom
 * reducer is code, kept in the machine's implementation and referenced by its key.
 *   append         add the written value as one more item of a list
 *   merge          shallow-merge the written object into the current one
 *   sum            add the written number to the current one
 *   lastWriteWins  replace; only when explicitly chosen, since it discards the previous value
 */
export type ReducerName = 'append' | 'merge' | 'sum' | 'lastWriteWins';
export const REDUCER_NAMES: readonly ReducerName[] = ['append', 'merge', 'sum', 'lastWriteWins'];

/** A pure function from the current value (frozen, or undefined) and the written value (frozen). */
export type ReducerFn = (current: unknown, incoming: unknown) => unknown;

/** How a write changes the value at its key: `set` needs an expected version. */
export type WriteOp = 'set' | ReducerName | 'custom';

export type Step =
  | {
      ok: true;
      /** The new value at the key, deeply frozen (or a long list's version: set it with `setIn`). */
      next: unknown;
      /** Only part of the value was validated (an item, some entries): parse the whole key's value too. */
      validateNode: boolean;
    }
  | { ok: false; reason: 'invalid'; issues: ValidationIssue[] }
  | { ok: false; reason: 'unknownKey'; path: string; issues: ValidationIssue[] }
  | { ok: false; reason: 'reducerFailed'; error: { name: string; message: string } };

const invalid = (path: readonly string[], message: string): Step => ({
  ok: false,
  reason: 'invalid',
  issues: [{ path: path.join('.'), message }],
});

function parsed(
  schema: z.ZodType | undefined,
  value: unknown,
  path: readonly string[],
): Step & { ok: boolean } {
  if (!schema) return { ok: true, next: deepFreeze(value), validateNode: false };
  const result = parseAt(schema, value, path);
  if (result.ok) return { ok: true, next: deepFreeze(result.data), validateNode: false };
  if (result.unknownKey !== undefined) {
    return { ok: false, reason: 'unknownKey', path: result.unknownKey, issues: result.issues };
  }
  return { ok: false, reason: 'invalid', issues: result.issues };
}

/**
 * Combine the current value at `path` with a written value (already a fresh clone of JSON data).
 * `schema` is the key's schema, or undefined when an ancestor decides (the caller validates there).
 * `current` may be a lazy value's version (lazy-value.ts): `append` extends a long list and `merge` a
 * wide map without reading them, and `next` is then a version too, for the caller to set as one.
 */
export function reduce(
  op: WriteOp,
  held: unknown,
  incoming: unknown,
  schema: z.ZodType | undefined,
  path: readonly string[],
  custom?: ReducerFn,
): Step {
  const kept =
    (op === 'append' && held instanceof LongList) || (op === 'merge' && held instanceof LongRecord);
  const current = held instanceof LazyValue && !kept ? held.data() : held;
  switch (op) {
    case 'set':
    case 'lastWriteWins':
      return parsed(schema, incoming, path);
    case 'sum': {
      if (typeof incoming !== 'number') return invalid(path, 'sum needs a number');
      if (current !== undefined && typeof current !== 'number')
        return invalid(path, 'sum needs a number to add to');
      const next = (current ?? 0) + incoming;
      if (!Number.isFinite(next)) return invalid(path, 'the sum is not a finite number');
      return parsed(schema, next, path);
    }
    case 'append': {
      if (current !== undefined && !Array.isArray(current) && !(current instanceof LongList))
        return invalid(path, 'append needs a list to add to');
      const list = (current ?? []) as readonly unknown[] | LongList;
      const index = String(list.length);
      const child = schema ? childSchema(schema, index) : undefined;
      if (child && child.kind !== 'schema' && child.kind !== 'opaque')
        return invalid(path, 'append needs a list');
      const item = parsed(child?.kind === 'schema' ? child.schema : undefined, incoming, [...path, index]);
      if (!item.ok) return item;
      const partial = schema !== undefined && (child?.kind === 'opaque' || hasChecks(schema));
      return { ok: true, next: appendItem(list, item.next), validateNode: partial };
    }
    case 'merge': {
      if (current !== undefined && !isPlainObject(current) && !(current instanceof LongRecord))
        return invalid(path, 'merge needs an object to merge into');
      if (!isPlainObject(incoming)) return invalid(path, 'merge needs an object');
      const entries: Record<string, unknown> = {};
      let partial = schema !== undefined && (current === undefined || hasChecks(schema));
      for (const key of Object.keys(incoming)) {
        const child = schema ? childSchema(schema, key) : undefined;
        const at = [...path, key];
        if (child?.kind === 'unknownKey') {
          const where = at.join('.');
          return {
            ok: false,
            reason: 'unknownKey',
            path: where,
            issues: [{ path: where, message: 'unknown key' }],
          };
        }
        if (child?.kind === 'invalidKey') return invalid(at, child.message);
        if (child?.kind === 'opaque') partial = true;
        const entry = parsed(child?.kind === 'schema' ? child.schema : undefined, incoming[key], at);
        if (!entry.ok) return entry;
        entries[key] = entry.next;
      }
      return { ok: true, next: mergeEntries(current as object | undefined, entries), validateNode: partial };
    }
    case 'custom': {
      if (!custom)
        return { ok: false, reason: 'reducerFailed', error: { name: 'Error', message: 'no reducer' } };
      let result: unknown;
      try {
        result = custom(current, deepFreeze(incoming));
      } catch (error) {
        return { ok: false, reason: 'reducerFailed', error: describeError(error) };
      }
      // Parts taken from the current value are frozen already and are shared, not copied.
      const data = cloneData(result, { reuseFrozen: true });
      if (!data.ok) {
        return invalid(
          path,
          `the reducer returned ${data.reason === 'notData' ? data.message : 'a forbidden key'}`,
        );
      }
      if (!schema) return { ok: true, next: deepFreeze(data.value), validateNode: false };
      const checked = parsed(schema, data.value, path);
      // Commit the reducer's value, not zod's rebuilt copy, so unchanged parts stay shared.
      return checked.ok ? { ok: true, next: deepFreeze(data.value), validateNode: false } : checked;
    }
  }
}
