/**
 * Values the shared state holds as getters, built when first read: the versions of a long list
 * (long-list.ts) and of a wide map (long-record.ts), which share their items with the versions
 * before them so that a write costs what it adds, not a copy.
 *
 * What users read stays plain frozen data: the object holding such a version has it as an own
 * enumerable getter that builds the value the first time it is read, and keeps it while someone
 * holds it (so a value read twice is the same object then). JSON, structured clone, spreads and
 * descriptor copies see data. agentcharts' own walks (the write path, the state log, the store)
 * look at the version instead (`ownValue`), so they cost what changed.
 */

/** A version of a value that is built when read. Internal; never handed out. */
export abstract class LazyValue {
  #built: WeakRef<object> | undefined;
  #getter: (() => object) | undefined;

  /** The plain frozen value this version stands for, built anew. */
  protected abstract build(): object;

  /** This version as plain frozen data, built once while someone holds it. */
  data(): object {
    const known = this.#built?.deref();
    if (known !== undefined) return known;
    const value = this.build();
    this.#built = new WeakRef(value);
    return value;
  }

  /** The getter that stands for this version on the objects that hold it (one per version). */
  getter(): () => object {
    this.#getter ??= () => this.data();
    return this.#getter;
  }

  /** Should a version ever be serialised as a value, it is its data. */
  toJSON(): object {
    return this.data();
  }
}

/** A lazy value an object holds at `key`, and the next one it holds (objects hold one or few). */
interface Held {
  readonly key: string;
  readonly value: LazyValue;
  readonly next: Held | undefined;
}

/**
 * The lazy values each object holds as getters. Each version's getter closes over it, so a copy
 * made from the object's descriptors (`Object.getOwnPropertyDescriptors`, a proxy that reads
 * through them) still reads it.
 */
const held = new WeakMap<object, Held>();

function heldAt(object: object, key: string): LazyValue | undefined {
  for (let h = held.get(object); h !== undefined; h = h.next) if (h.key === key) return h.value;
  return undefined;
}

/** `h` without `key`. */
function without(h: Held | undefined, key: string): Held | undefined {
  if (h === undefined) return undefined;
  if (h.key === key) return h.next;
  const next = without(h.next, key);
  return next === h.next ? h : { key: h.key, value: h.value, next };
}

/** A lazy value's data, or the value itself. */
export const dataOf = (value: unknown): unknown => (value instanceof LazyValue ? value.data() : value);

/** The value at `key`, a lazy one as its version (not built). Own properties only. */
export function ownValue(object: object, key: string): unknown {
  return heldAt(object, key) ?? (object as Record<string, unknown>)[key];
}

/**
 * Sets `key` on a new, not yet frozen object: a lazy value as its getter, anything else as data (a
 * key named `__proto__` is defined, so it stays data).
 */
export function defineOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  const values = held.get(target);
  if (value instanceof LazyValue) {
    Object.defineProperty(target, key, { get: value.getter(), enumerable: true, configurable: true });
    held.set(target, { key, value, next: without(values, key) });
  } else if (key === '__proto__' || values) {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
    if (values) {
      const rest = without(values, key);
      if (rest) held.set(target, rest);
      else held.delete(target);
    }
  } else target[key] = value;
}

/** A shallow copy of a plain object that keeps its lazy values as they are (not built). */
export function copyOwn(object: object): Record<string, unknown> {
  if (!held.has(object)) return { ...object };
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(object)) defineOwn(copy, key, ownValue(object, key));
  return copy;
}

/** A view of a plain object's own values, lazy ones as their versions: for walks that compare. */
export const ownValues = (object: object): Record<string, unknown> =>
  held.has(object) ? viewOf(object) : (object as Record<string, unknown>);

function viewOf(object: object): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  for (const key of Object.keys(object)) {
    Object.defineProperty(view, key, { value: ownValue(object, key), enumerable: true, writable: true });
  }
  return view;
}
