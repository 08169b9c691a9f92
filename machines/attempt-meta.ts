import type { TokenUsage } from './agent-result.js';
import { preview } from './untrusted.js';

/**
 * What an agent's `run` may report about one attempt besides its output: the tokens it spent and a
 * confidence it computed itself (a judge's score, a log-probability). It travels beside the output,
 * never inside it, so the user's output schema stays as it is.
 */
export interface AttemptMeta {
  usage?: TokenUsage;
  /** A number in [0, 1], or why none could be obtained (the attempt is then invalid, with the reason). */
  confidence?: number | { unavailable: string };
}

/** The key of the metadata on a `run` result; `Symbol.for`, so every copy of agentcharts agrees. */
export const ATTEMPT_META: unique symbol = Symbol.for('agentcharts.attemptMeta') as never;

/** A `run` result that carries attempt metadata beside its output. */
export interface WithAttemptMeta<O> {
  readonly [ATTEMPT_META]: AttemptMeta;
  readonly output: O;
}

/** Return this from an agent's `run` to report the attempt's usage or confidence with its output. */
export function withAttemptMeta<O>(output: O, meta: AttemptMeta): WithAttemptMeta<O> {
  return { [ATTEMPT_META]: meta, output };
}

const USAGE_KEYS = [
  'inputTokens',
  'outputTokens',
  'totalTokens',
  'reasoningTokens',
  'cachedInputTokens',
] as const satisfies ReadonlyArray<keyof TokenUsage>;

/** Longest `unavailable` reason kept; longer ones are cut. */
export const MAX_META_REASON = 1000;

/**
 * Splits a `run` result into its output and its metadata, as plain JSON. The result is untrusted:
 * only an own ATTEMPT_META property marks metadata; usage keeps finite non-negative counts only;
 * metadata that cannot be read (a throwing getter, a hostile proxy) is ignored, never thrown.
 * A confidence that is present but neither a number nor `{ unavailable: string }` becomes
 * unavailable, so a broken scorer makes the attempt invalid instead of being silently ignored.
 */
export function splitAttemptMeta(raw: unknown): { output: unknown; meta: AttemptMeta } {
  if (typeof raw !== 'object' || raw === null) return { output: raw, meta: {} };
  let wrapped: boolean;
  try {
    wrapped = Object.getOwnPropertyDescriptor(raw, ATTEMPT_META) !== undefined;
  } catch {
    return { output: raw, meta: {} }; // a proxy that refuses: not ours to read; serialising it decides
  }
  if (!wrapped) return { output: raw, meta: {} };
  let output: unknown;
  try {
    output = (raw as { output?: unknown }).output;
  } catch {
    // The output cannot be read: hand the whole value on, where serialising it fails with the reason.
    return { output: raw, meta: {} };
  }
  try {
    return { output, meta: readMeta((raw as { [ATTEMPT_META]: unknown })[ATTEMPT_META]) };
  } catch {
    return { output, meta: {} };
  }
}

function readMeta(value: unknown): AttemptMeta {
  if (typeof value !== 'object' || value === null) return {};
  const { usage, confidence } = value as { usage?: unknown; confidence?: unknown };
  const meta: AttemptMeta = {};
  const counts = readUsage(usage);
  if (counts) meta.usage = counts;
  if (confidence !== undefined) meta.confidence = readConfidence(confidence);
  return meta;
}

function readUsage(value: unknown): TokenUsage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const usage: TokenUsage = {};
  let any = false;
  for (const key of USAGE_KEYS) {
    const count = (value as Record<string, unknown>)[key];
    if (typeof count === 'number' && Number.isFinite(count) && count >= 0) {
      usage[key] = count;
      any = true;
    }
  }
  return any ? usage : undefined;
}

function readConfidence(value: unknown): number | { unavailable: string } {
  // Any number is kept: the validator's range check names a NaN or 1.5 as the reason.
  if (typeof value === 'number') return value;
  if (typeof value === 'object' && value !== null) {
    const reason = (value as { unavailable?: unknown }).unavailable;
    if (typeof reason === 'string') return { unavailable: preview(reason, MAX_META_REASON) };
  }
  return { unavailable: `the reported confidence is neither a number nor { unavailable }: ${show(value)}` };
}

function show(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol' || typeof value === 'bigint') return String(value);
  try {
    return preview(JSON.stringify(value) ?? String(value));
  } catch {
    return `an unserialisable ${typeof value}`;
  }
}
