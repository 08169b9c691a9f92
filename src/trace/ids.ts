import { randomHex } from '../random-id.js';

// OpenTelemetry's W3C ids: a trace id is 16 bytes and a span id 8 bytes, as lowercase hex.
const hex32 = () => randomHex(16);
const hex16 = () => randomHex(8);
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

// An all-zero id is invalid in W3C trace context; at 16^-16 odds a redraw costs nothing.
export function newTraceId(): string {
  let id = hex32();
  while (id === ZERO_TRACE) id = hex32();
  return id;
}

export function newSpanId(): string {
  let id = hex16();
  while (id === ZERO_SPAN) id = hex16();
  return id;
}

export const isTraceId = (v: unknown): v is string =>
  typeof v === 'string' && /^[0-9a-f]{32}$/.test(v) && v !== ZERO_TRACE;

// Hex digit character codes, by nibble.
const HEX = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/**
 * A recorder's span id: its random 32-bit prefix, then the span's number (1, 2, …) as 8 hex digits.
 * Unique within a trace, never all zero (the number starts at 1), and one flat string built at once
 * (a random id per span cost more than the rest of the span). The number gives the span's index
 * back without a map: see `spanNumber`.
 */
export function numberedSpanId(prefix: number, n: number): string {
  return String.fromCharCode(
    HEX[(prefix >>> 28) & 15]!,
    HEX[(prefix >>> 24) & 15]!,
    HEX[(prefix >>> 20) & 15]!,
    HEX[(prefix >>> 16) & 15]!,
    HEX[(prefix >>> 12) & 15]!,
    HEX[(prefix >>> 8) & 15]!,
    HEX[(prefix >>> 4) & 15]!,
    HEX[prefix & 15]!,
    HEX[(n >>> 28) & 15]!,
    HEX[(n >>> 24) & 15]!,
    HEX[(n >>> 20) & 15]!,
    HEX[(n >>> 16) & 15]!,
    HEX[(n >>> 12) & 15]!,
    HEX[(n >>> 8) & 15]!,
    HEX[(n >>> 4) & 15]!,
    HEX[n & 15]!,
  );
}

/** The span number of a `numberedSpanId`, or -1 when `spanId` is not 16 lowercase hex digits. */
export function spanNumber(spanId: string): number {
  return typeof spanId === 'string' && spanId.length === 16 ? hexValue(spanId, 8) : -1;
}

/** The prefix of a `numberedSpanId` (call after `spanNumber` said it is one). */
export function spanPrefix(spanId: string): number {
  return hexValue(spanId, 0);
}

/** Eight lowercase hex digits from `from` as a number, or -1. */
function hexValue(id: string, from: number): number {
  let n = 0;
  for (let i = from; i < from + 8; i++) {
    const c = id.charCodeAt(i);
    const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (digit < 0) return -1;
    n = n * 16 + digit;
  }
  return n;
}
