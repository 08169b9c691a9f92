import type { z } from 'zod';
import { OptionsError } from './errors.js';

/**
 * Parse user options against a zod schema; on failure throw an OptionsError that names the first
 * offending field and the value found there. Defaults live in the schema, so there is one place each.
 */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.path.map(String);
  return fail(where, path.join('.'), valueAt(value, path), issue.message);
}

export function fail(where: string, field: string, received: unknown, expected: string): never {
  throw new OptionsError(where, field, received, expected.replace(/^Invalid input: /, ''));
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let current = root;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
