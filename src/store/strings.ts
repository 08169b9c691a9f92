/**
 * Long strings once per run (store format 2): an agent's output appears in its entry, its event,
 * the step's record and the snapshot, and is written once. Its first occurrence is
 * `"\u0001<id>:<text>"`, later ones `"\u0002<id>"`; a string that starts with \u0001–\u0003 by
 * itself is escaped with a \u0003 in front (from format 3, \u0001–\u0004: "\u0004" is a reference
 * to the shared state, shared-ref.ts).
 */

import type { Bases } from './codec.js';
import { SHARED, SHARED_REF } from './shared-ref.js';

/** Strings at least this long are stored once per run. */
const INTERN_MIN = 256;
const DEFINE = 1;
const REFER = 2;
const ESCAPE = 3;
const SHARED_CODE = 4;

/**
 * A JSON.stringify replacer that interns long strings into `bases` (`added` collects new ids), and
 * writes a reference where `shared` says the run's shared state is (shared-ref.ts).
 */
export function internStrings(
  bases: Bases,
  added: number[],
  shared?: (holder: unknown, key: string, value: unknown) => boolean,
) {
  if (!bases.ids) bases.ids = new Map(bases.strings.map((s, i) => [s, i]));
  const ids = bases.ids;
  return function (this: unknown, key: string, value: unknown): unknown {
    if (shared && typeof value === 'object' && value !== null && shared(this, key, value)) return SHARED;
    if (typeof value !== 'string' || value.length === 0) return value;
    if (value.length >= INTERN_MIN) {
      const known = ids.get(value);
      if (known !== undefined) return `\u0002${known}`;
      const id = bases.strings.length;
      bases.strings.push(value);
      ids.set(value, id);
      added.push(id);
      return `\u0001${id}:${value}`;
    }
    const first = value.charCodeAt(0);
    return first >= DEFINE && first <= SHARED_CODE ? `\u0003${value}` : value;
  };
}

/** Undo the strings a refused record interned. */
export function forgetStrings(bases: Bases, added: readonly number[]): void {
  for (let i = added.length - 1; i >= 0; i--) {
    const id = added[i]!;
    const text = bases.strings[id];
    if (id === bases.strings.length - 1) bases.strings.pop();
    if (text !== undefined) bases.ids?.delete(text);
  }
}

/**
 * A JSON.parse reviver that resolves interned strings; throws on a reference it cannot resolve. From
 * format 3, "\u0004" is a reference to the shared state (`SHARED_REF`; `found.shared` is set).
 */
export function resolveStrings(bases: Bases, format = 2, found: { shared: boolean } = { shared: false }) {
  return (_key: string, value: unknown): unknown => {
    if (typeof value !== 'string' || value.length === 0) return value;
    const first = value.charCodeAt(0);
    if (first === ESCAPE) return value.slice(1);
    if (first === DEFINE) {
      const colon = value.indexOf(':');
      const id = Number(value.slice(1, colon));
      if (colon < 0 || id !== bases.strings.length)
        throw new TypeError('a string definition is out of order');
      const text = value.slice(colon + 1);
      bases.strings.push(text);
      bases.ids?.set(text, id);
      return text;
    }
    if (first === REFER) {
      const text = bases.strings[Number(value.slice(1))];
      if (text === undefined) throw new TypeError('a string reference has no definition');
      return text;
    }
    if (first === SHARED_CODE && format >= 3) {
      if (value.length > 1) throw new TypeError('a shared-state reference is malformed');
      found.shared = true;
      return SHARED_REF;
    }
    return value;
  };
}
