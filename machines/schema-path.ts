import type { z } from 'zod';
import type { ValidationIssue } from './agent-result.js';
import { isIndex, isPlainObject } from './key-path.js';
import { describeError } from './untrusted.js';

/**
 * Walking a zod schema along a key path, so a write is validated against the sub-schema of what it
 * changes instead of re-parsing the whole state (which would also rebuild it and lose sharing).
 * Reads zod's definition objects (`_zod.def`), the same data `z.toJSONSchema` walks.
 */

interface Def {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
  element?: z.ZodType;
  items?: z.ZodType[];
  rest?: z.ZodType | null;
  checks?: unknown[];
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'nonoptional', 'catch']);

/** The schema under optional/nullable/default/... wrappers. */
export function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (let def = defOf(current); WRAPPERS.has(def.type) && def.innerType; def = defOf(current)) {
    current = def.innerType;
  }
  return current;
}

export const schemaType = (schema: z.ZodType): string => defOf(unwrap(schema)).type;

/** Whether the schema (or a wrapper of it) has refinements, which only a whole-value parse runs. */
export function hasChecks(schema: z.ZodType): boolean {
  let current: z.ZodType | undefined = schema;
  while (current) {
    const def = defOf(current);
    if (def.checks && def.checks.length > 0) return true;
    current = WRAPPERS.has(def.type) ? def.innerType : undefined;
  }
  return false;
}

export type Child =
  | { kind: 'schema'; schema: z.ZodType }
  | { kind: 'unknownKey' }
  | { kind: 'invalidKey'; message: string }
  /** A union, pipe, lazy...: the child cannot be known without the value; validate the container. */
  | { kind: 'opaque' };

/** The schema of `segment` inside a container schema. */
export function childSchema(container: z.ZodType, segment: string): Child {
  const inner = unwrap(container);
  const def = defOf(inner);
  switch (def.type) {
    case 'object': {
      if (def.shape && Object.hasOwn(def.shape, segment))
        return { kind: 'schema', schema: def.shape[segment]! };
      if (def.catchall && defOf(def.catchall).type !== 'never')
        return { kind: 'schema', schema: def.catchall };
      return { kind: 'unknownKey' };
    }
    case 'record': {
      const key = def.keyType?.safeParse(segment);
      if (key && !key.success)
        return { kind: 'invalidKey', message: key.error.issues[0]?.message ?? 'invalid key' };
      return { kind: 'schema', schema: def.valueType! };
    }
    case 'array':
      return isIndex(segment) ? { kind: 'schema', schema: def.element! } : notIndex(segment);
    case 'tuple': {
      if (!isIndex(segment)) return notIndex(segment);
      const item = def.items?.[Number(segment)] ?? def.rest ?? undefined;
      return item ? { kind: 'schema', schema: item } : { kind: 'unknownKey' };
    }
    case 'any':
    case 'unknown':
      return { kind: 'schema', schema: inner };
    case 'union':
    case 'intersection':
    case 'lazy':
    case 'pipe':
    case 'transform':
    case 'custom':
      return { kind: 'opaque' };
    default:
      return { kind: 'invalidKey', message: `a ${def.type} has no keys` };
  }
}

const notIndex = (segment: string): Child => ({
  kind: 'invalidKey',
  message: `"${segment}" is not an array index`,
});

export type Chain =
  | {
      ok: true /** schemas[d] describes the value at depth d (0 = root); undefined below an opaque one. */;
      schemas: (z.ZodType | undefined)[];
    }
  | { ok: false; reason: 'unknownKey' | 'invalidKey'; at: string; message: string };

export function resolveChain(root: z.ZodType, path: readonly string[]): Chain {
  const schemas: (z.ZodType | undefined)[] = [root];
  for (let depth = 0; depth < path.length; depth++) {
    const container = schemas[depth];
    if (!container) {
      schemas.push(undefined);
      continue;
    }
    const child = childSchema(container, path[depth]!);
    const at = path.slice(0, depth + 1).join('.');
    if (child.kind === 'unknownKey') {
      return { ok: false, reason: 'unknownKey', at, message: `"${at}" is not a key of the state's schema` };
    }
    if (child.kind === 'invalidKey')
      return { ok: false, reason: 'invalidKey', at, message: `${at}: ${child.message}` };
    schemas.push(child.kind === 'schema' ? child.schema : undefined);
  }
  return { ok: true, schemas };
}

// zod reads an object's keys as `input[key]`, so a missing key named like an Object.prototype
// member (`toString`, `valueOf`) reads the inherited function and fails. For schemas with such keys,
// values are parsed as null-prototype copies, where a missing key is missing. Other schemas pay nothing.
const shadowing = new WeakMap<object, boolean>();

/** Whether an object schema anywhere inside has a key that Object.prototype also has. */
export function shadowsPrototype(schema: z.ZodType): boolean {
  const known = shadowing.get(schema);
  if (known !== undefined) return known;
  shadowing.set(schema, false); // a recursive (lazy) schema meets itself: assume no while walking
  const def = defOf(schema) as Def & Record<string, unknown>;
  let found = def.type === 'lazy'; // cannot walk it without calling it: copy to be safe
  if (def.shape) found ||= Object.keys(def.shape).some((key) => key in Object.prototype);
  const children: unknown[] = [
    ...(def.shape ? Object.values(def.shape) : []),
    def.innerType,
    def.catchall,
    def.valueType,
    def.element,
    ...(def.items ?? []),
    def.rest,
    ...((def.options as unknown[] | undefined) ?? []),
    def.left,
    def.right,
    def.in,
    def.out,
  ];
  for (const child of children) {
    if (found) break;
    if (typeof child === 'object' && child !== null && '_zod' in child)
      found = shadowsPrototype(child as z.ZodType);
  }
  shadowing.set(schema, found);
  return found;
}

/** The value to hand zod: itself, or a null-prototype deep copy when the schema needs one. */
export function forParsing(schema: z.ZodType, value: unknown): unknown {
  return shadowsPrototype(schema) ? withoutPrototype(value) : value;
}

function withoutPrototype(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutPrototype);
  if (!isPlainObject(value)) return value;
  const copy: Record<string, unknown> = Object.create(null);
  for (const key of Object.keys(value)) copy[key] = withoutPrototype(value[key]);
  return copy;
}

export type Parsed =
  | { ok: true; data: unknown }
  | { ok: false; unknownKey?: string; issues: ValidationIssue[] };

const MAX_ISSUES = 20;

/**
 * Parse a value and insist that nothing was dropped: zod strips unknown object keys by default,
 * and a key the writer sent must never vanish silently.
 */
export function parseAt(schema: z.ZodType, value: unknown, prefix: readonly string[]): Parsed {
  let result: ReturnType<z.ZodType['safeParse']>;
  try {
    result = schema.safeParse(forParsing(schema, value));
  } catch (error) {
    const { message } = describeError(error);
    return { ok: false, issues: [{ path: prefix.join('.'), message: `validation threw: ${message}` }] };
  }
  if (!result.success) {
    const issues = result.error.issues.slice(0, MAX_ISSUES).map((issue) => ({
      path: [...prefix, ...issue.path.map(String)].join('.'),
      message: issue.message,
    }));
    return { ok: false, issues };
  }
  const dropped = findDropped(value, result.data, prefix.join('.'));
  if (dropped !== undefined) {
    return {
      ok: false,
      unknownKey: dropped,
      issues: [{ path: dropped, message: `"${dropped}" is not a key of the state's schema` }],
    };
  }
  return { ok: true, data: result.data };
}

/** The first key present in `input` but missing from the parsed `output`. */
export function findDropped(input: unknown, output: unknown, path: string): string | undefined {
  if (input === output) return undefined;
  if (Array.isArray(input) && Array.isArray(output)) {
    for (let i = 0; i < input.length; i++) {
      const found = findDropped(input[i], output[i], path ? `${path}.${i}` : String(i));
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (!isPlainObject(input) || !isPlainObject(output)) return undefined;
  for (const key of Object.keys(input)) {
    const at = path ? `${path}.${key}` : key;
    if (!Object.hasOwn(output, key)) return at;
    const found = findDropped(input[key], output[key], at);
    if (found !== undefined) return found;
  }
  return undefined;
}
