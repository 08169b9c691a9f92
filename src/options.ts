import { z } from 'zod';
import type { Clock } from '../machines/clock.js';
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
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    return fail(where, [...path, key].join('.'), valueAt(value, [...path, key]), 'is not a known option');
  }
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

// Small option validators whose messages read well after the field name.

export { MAX_TIMER_MS } from '../machines/clock.js';

export const integer = (min: number, max: number) =>
  z.custom<number>((v) => Number.isInteger(v) && (v as number) >= min && (v as number) <= max, {
    error: `must be an integer from ${min} to ${max}`,
  });

export const number = (min: number, max: number, exclusiveMin = false) =>
  z.custom<number>((v) => typeof v === 'number' && (exclusiveMin ? v > min : v >= min) && v <= max, {
    error: `must be a number ${exclusiveMin ? 'above' : 'from'} ${min}${exclusiveMin ? ' and at most' : ' to'} ${max}`,
  });

export const fn = <F>() => z.custom<F>((v) => typeof v === 'function', { error: 'must be a function' });

export const id = () =>
  z.custom<string>((v) => typeof v === 'string' && /^[A-Za-z][\w.-]{0,127}$/.test(v), {
    error: 'must be a name of letters, digits, _ . - (starting with a letter, at most 128 characters)',
  });

export const zodSchema = () =>
  z.custom<z.ZodType>(
    (v) =>
      typeof v === 'object' &&
      v !== null &&
      typeof (v as { safeParseAsync?: unknown }).safeParseAsync === 'function',
    { error: 'must be a zod schema' },
  );

/** A clock for an actor system: XState's (setTimeout, clearTimeout) plus now(); SimulatedClock is one. */
export const clock = () =>
  z.custom<Clock>(
    (v) =>
      typeof v === 'object' &&
      v !== null &&
      ['now', 'setTimeout', 'clearTimeout'].every(
        (m) => typeof (v as Record<string, unknown>)[m] === 'function',
      ),
    { error: 'must be a clock with now(), setTimeout() and clearTimeout()' },
  );
