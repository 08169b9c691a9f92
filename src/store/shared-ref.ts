/**
 * A record writes the run's shared state once, not once per place it appears (store format 3).
 *
 * Every agent call gets the shared state in its input, so the agent's log entries, the event that
 * started it and the workflow snapshot's copy of the agent all hold the whole state. Written out
 * each time, a state that grows a little per step (an `append` key) made every record grow with the
 * run: a run file in the square of its length. Now the state is written where the workflow snapshot
 * holds it (`context.state`, whole or as a change), and everywhere else the same object is in the
 * record, as a reference: the one-character string "\u0004". The reader puts back the state the
 * snapshot has after the record (in the snapshot change, the state as its earlier ops made it: the
 * ops that make the state come first).
 */

import { getIn } from '../../machines/key-path.js';
import type { PatchOp } from './codec.js';

/** A reference to the shared state, as written. Data strings that start with it are escaped. */
export const SHARED = '\u0004';

/** What a reference parses to, until the record's snapshot is known. */
export const SHARED_REF: object = Object.freeze({ sharedState: true });

/** Records that hold a reference: only these are walked to put the state back. */
const withRefs = new WeakSet<object>();

export const markRefs = (record: object): void => void withRefs.add(record);

const STATE_PATH = ['context', 'state'];

/** The shared state a workflow snapshot holds, if any. */
function stateOf(snapshot: unknown): object | undefined {
  const state = getIn(snapshot, STATE_PATH);
  return typeof state === 'object' && state !== null ? state : undefined;
}

/**
 * For a record whose reader holds `snapshot` after it: whether JSON.stringify, at `holder[key]`,
 * writes a reference instead of `value`. Not where the state is written: the snapshot's own
 * `context.state`, and a change in `sd` that sets it (or what holds it) whole.
 */
export function sharedWriter(
  snapshot: unknown,
  sd: readonly (readonly unknown[])[] | undefined,
): ((holder: unknown, key: string, value: unknown) => boolean) | undefined {
  const state = stateOf(snapshot);
  if (state === undefined) return undefined;
  const parent = getIn(snapshot, ['context']);
  const ops = new Set<unknown>(sd);
  return (holder, key, value) =>
    value === state &&
    !(holder === parent && key === 'state') &&
    !(key === '1' && ops.has(holder) && setsState((holder as readonly unknown[])[0] as unknown[]));
}

/** Whether a change at `path` sets the state or a container of it: [], ['context'], ['context', 'state']. */
const setsState = (path: readonly unknown[]): boolean => path.length <= 2 && makesState(path);

/**
 * The ops of `sd` with those that make the state first (kept in order): a reference in a later op
 * is to the state they made. They touch only the state's path, so moving them changes nothing else.
 */
export function stateFirst(sd: PatchOp[]): PatchOp[] {
  const first = sd.filter((op) => makesState(op[0]));
  if (first.length === 0 || first.length === sd.length) return sd;
  return [...first, ...sd.filter((op) => !makesState(op[0]))];
}

/** A change at or inside the state, or to what holds it. */
const makesState = (path: readonly unknown[]): boolean =>
  path.length <= 2
    ? path.every((segment, i) => segment === STATE_PATH[i])
    : path[0] === STATE_PATH[0] && path[1] === STATE_PATH[1];

/** Whether `record` holds a reference to the shared state. */
export const holdsRefs = (record: object): boolean => withRefs.has(record);

/** For `applyPatch`: a change's value with its references to the state `root` holds by now. */
export const fillShared = (value: unknown, root: unknown): unknown => substitute(value, required(root));

/** A whole snapshot with its references to its own state. */
export const withOwnState = (snapshot: unknown): unknown => substitute(snapshot, required(snapshot));

/**
 * `record`'s entries, result and the rest (not its snapshot or snapshot change) with their
 * references to the state of `snapshot`, the workflow snapshot as it is after the record.
 */
export function resolveShared(record: Record<string, unknown>, snapshot: unknown): Record<string, unknown> {
  const state = required(snapshot);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(record)) {
    out[key] = key === 'sd' || key === 'snapshot' ? record[key] : substitute(record[key], state);
  }
  return Object.freeze(out);
}

function required(snapshot: unknown): object {
  const state = stateOf(snapshot);
  if (state === undefined || state === SHARED_REF) {
    throw new TypeError('a reference to the shared state, with no shared state to refer to');
  }
  return state;
}

/** `value` with every reference replaced by `state`: containers on the way are copied, frozen. */
function substitute(value: unknown, state: object): unknown {
  if (value === SHARED_REF) return state;
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const item = substitute(value[i], state);
      if (item !== value[i]) {
        copy ??= value.slice();
        copy[i] = item;
      }
    }
    return copy ? Object.freeze(copy) : value;
  }
  let copy: Record<string, unknown> | null = null;
  for (const key of Object.keys(value)) {
    const item = substitute((value as Record<string, unknown>)[key], state);
    if (item !== (value as Record<string, unknown>)[key]) {
      copy ??= { ...value };
      Object.defineProperty(copy, key, { value: item, enumerable: true, writable: true, configurable: true });
    }
  }
  return copy ? Object.freeze(copy) : value;
}
