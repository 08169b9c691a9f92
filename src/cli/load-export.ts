import { describeError } from '../../machines/untrusted.js';
import { formatValue } from '../errors.js';
import { isUsageError, UsageError } from './args.js';
import type { Slo } from './load.js';

/** A module's `export const load = { expected, input(i), slo }`, checked: it is the user's code. */
export interface LoadExport {
  expected?: number;
  input?: (i: number) => unknown;
  slo: Slo;
}

const RATES = ['maxFallbackRate', 'maxFailedRate'] as const;
const MILLISECONDS = ['p50Ms', 'p95Ms', 'p99Ms'] as const;
const SLO_KEYS: ReadonlySet<string> = new Set([...RATES, ...MILLISECONDS, 'minThroughput']);

export function readLoadExport(value: unknown): LoadExport {
  try {
    return read(value);
  } catch (error) {
    if (isUsageError(error)) throw error;
    // A getter that throws, a proxy that refuses: still the module's fault, said as such.
    throw new UsageError(`the module's load export cannot be read: ${describeError(error).message}`);
  }
}

function read(value: unknown): LoadExport {
  if (value === undefined) return { slo: {} };
  if (typeof value !== 'object' || value === null) {
    throw new UsageError(
      `the module's load export must be { expected, input, slo }, received ${formatValue(value)}`,
    );
  }
  const { expected, input, slo } = value as Record<string, unknown>;
  const bad = (field: string, received: unknown, must: string) =>
    new UsageError(`the module's load.${field} must be ${must}, received ${formatValue(received)}`);
  if (expected !== undefined && (typeof expected !== 'number' || !Number.isInteger(expected) || expected < 1))
    throw bad('expected', expected, 'a positive integer (the expected concurrent runs)');
  if (input !== undefined && typeof input !== 'function')
    throw bad('input', input, 'a function (i) => input');
  const out: Slo = {};
  if (slo !== undefined) {
    if (typeof slo !== 'object' || slo === null) throw bad('slo', slo, 'an object');
    for (const [key, limit] of Object.entries(slo)) {
      if (!SLO_KEYS.has(key))
        throw bad(`slo.${key}`, limit, `one of ${[...SLO_KEYS].join(', ')} (unknown key)`);
      const rate = (RATES as readonly string[]).includes(key);
      if (typeof limit !== 'number' || !(limit >= 0) || (rate && limit > 1) || !Number.isFinite(limit))
        throw bad(`slo.${key}`, limit, rate ? 'a number from 0 to 1' : 'a finite number ≥ 0');
      out[key as keyof Slo] = limit;
    }
  }
  return {
    ...(expected === undefined ? {} : { expected: expected as number }),
    ...(input === undefined ? {} : { input: input as (i: number) => unknown }),
    slo: out,
  };
}
