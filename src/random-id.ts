/**
 * Random ids (run ids, trace and span ids) from a pool of crypto-random bytes, built with `join`.
 * Joined, an id is one flat string: built a character at a time (`id += c`), as id libraries do,
 * it is a chain of one string per character, which every in-flight run would hold.
 */
const POOL_BYTES = 4096;
let pool = new Uint8Array(0);
let offset = 0;

/** Where `count` fresh random bytes start in the pool. */
function take(count: number): number {
  if (offset + count > pool.length) {
    pool = globalThis.crypto.getRandomValues(new Uint8Array(POOL_BYTES));
    offset = 0;
  }
  const at = offset;
  offset += count;
  return at;
}

const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const URL_SAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

/** `bytes` random bytes as lowercase hex (2 characters each). */
export function randomHex(bytes: number): string {
  const at = take(bytes);
  const parts = new Array<string>(bytes);
  for (let i = 0; i < bytes; i++) parts[i] = HEX_BYTE[pool[at + i]!]!;
  return parts.join('');
}

/** A random unsigned 32-bit integer. */
export function randomUint32(): number {
  const at = take(4);
  return ((pool[at]! << 24) | (pool[at + 1]! << 16) | (pool[at + 2]! << 8) | pool[at + 3]!) >>> 0;
}

/** A URL-safe id of `length` characters (6 random bits each; 21 gives 126 bits). */
export function randomUrlId(length = 21): string {
  const at = take(length);
  const chars = new Array<string>(length);
  for (let i = 0; i < length; i++) chars[i] = URL_SAFE[pool[at + i]! & 63]!;
  return chars.join('');
}
