/**
 * Agent output and agent errors are untrusted: they may be cyclic, hostile (throwing getters,
 * toJSON), huge, or not Errors at all. These helpers turn them into plain JSON data or a reason.
 */

export type PlainData =
  | { ok: true; value: unknown; bytes: number }
  | { ok: false; reason: string; bytes?: number; preview?: string };

const encoder = new TextEncoder();

/** UTF-8 length without encoding when the answer is obvious from the UTF-16 length. */
function byteLength(text: string, cap: number): number {
  if (text.length * 3 <= cap) return text.length; // cannot exceed the cap; exact size not needed
  return encoder.encode(text).length;
}

/**
 * A JSON round-trip: the result shares nothing with the agent's objects, can be persisted and
 * logged, and its size is known. Oversized or unserialisable output is refused with a reason.
 */
export function toPlainData(raw: unknown, maxBytes: number): PlainData {
  if (raw === undefined) return { ok: false, reason: 'returned undefined' };
  let text: string | undefined;
  try {
    text = JSON.stringify(raw);
  } catch (error) {
    return { ok: false, reason: `output is not serialisable: ${describeError(error).message}` };
  }
  if (text === undefined) return { ok: false, reason: `output is not serialisable (${typeof raw})` };
  const bytes = byteLength(text, maxBytes);
  if (bytes > maxBytes) {
    return {
      ok: false,
      reason: `output is ${bytes} bytes, over the ${maxBytes}-byte cap`,
      bytes,
      preview: preview(text),
    };
  }
  return { ok: true, value: JSON.parse(text), bytes };
}

export function preview(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** How much of an untrusted text (an error message, a reason, a reviewer's name) is kept. */
export const MAX_TEXT = 4096;
/** For short identifiers from outside: a reviewer's name, an error's name. */
export const MAX_NAME = 256;

// C0 controls but tab and newline, DEL, C1 controls, line/paragraph separators, bidi overrides.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const escapeControl = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * Untrusted text made safe to keep, log and show: control characters escaped (`\u001b`), and cut
 * to `max` characters with the cut recorded (`…[cut 9,995,904 characters]`). One helper for every
 * boundary where text comes from outside: a 10 MB error message stays a few KB everywhere after.
 */
export function capText(text: string, max = MAX_TEXT): string {
  let kept = text.length > max ? text.slice(0, max) : text;
  // Do not leave half a surrogate pair at the cut.
  if (kept.length < text.length && /[\ud800-\udbff]$/.test(kept)) kept = kept.slice(0, -1);
  const cut = text.length - kept.length;
  kept = kept.replace(CONTROL, escapeControl);
  return cut > 0 ? `${kept}…[cut ${cut.toLocaleString('en-US')} characters]` : kept;
}

/** Normalise anything thrown (Error, string, object, undefined, a hostile getter) to name + message. */
export function describeError(error: unknown): { name: string; message: string } {
  const { name, message } = readError(error);
  return { name: capText(name, MAX_NAME), message: capText(message) };
}

function readError(error: unknown): { name: string; message: string } {
  try {
    if (error instanceof Error) return { name: String(error.name), message: String(error.message) };
    if (typeof error === 'string') return { name: 'NonError', message: error };
    if (error === undefined || error === null) return { name: 'NonError', message: String(error) };
    if (typeof error === 'object') {
      const message = (error as { message?: unknown }).message;
      if (typeof message === 'string') return { name: 'NonError', message };
      const text = JSON.stringify(error);
      return { name: 'NonError', message: text === undefined ? String(error) : preview(text) };
    }
    return { name: 'NonError', message: String(error) };
  } catch {
    return { name: 'NonError', message: 'an unprintable value was thrown' };
  }
}

/** Any value as text for a message, never throwing (a hostile toString, a Symbol, a revoked Proxy). */
export function safeText(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return String(value);
  } catch {
    return `[unprintable ${typeof value}]`;
  }
}
