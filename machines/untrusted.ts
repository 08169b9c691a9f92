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

/** Normalise anything thrown (Error, string, object, undefined, a hostile getter) to name + message. */
export function describeError(error: unknown): { name: string; message: string } {
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
