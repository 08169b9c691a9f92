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
