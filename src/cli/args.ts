/** Parsing of the CLI's values, with errors that say which flag and what was given. */

export class UsageError extends Error {
  readonly isUsageError = true;
  override readonly name = 'UsageError';
}

export const isUsageError = (e: unknown): e is UsageError =>
  typeof e === 'object' && e !== null && (e as { isUsageError?: unknown }).isUsageError === true;

/** `30s`, `500ms`, `2m`, or a bare number of seconds; in ms, from `minMs` to `maxMs`. */
export function duration(flag: string, value: string, minMs = 0, maxMs = Number.POSITIVE_INFINITY): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!m) throw new UsageError(`--${flag} must be a duration like 30s, 500ms or 2m, received "${value}"`);
  const n = Number(m[1]);
  const ms = Math.round(m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000);
  if (ms < minMs || ms > maxMs) {
    throw new UsageError(
      `--${flag} must be from ${minMs} ms to ${Number.isFinite(maxMs) ? `${maxMs / 3_600_000} h` : 'any length'}, received "${value}"`,
    );
  }
  return ms;
}

export function number(flag: string, value: string, min: number, max: number, integer = false): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(
      `--${flag} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, received "${value}"`,
    );
  }
  return n;
}

/** `20-200` (ms) or a single number. */
export function range(flag: string, value: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(value.trim());
  if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) {
    throw new UsageError(`--${flag} must be a range in ms like 20-200, received "${value}"`);
  }
  return [Number(m[1]), Number(m[2] ?? m[1])];
}
