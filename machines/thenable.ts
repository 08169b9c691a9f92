/**
 * Settling what an agent's `run` returned without letting it drive the engine. `await x` on a
 * thenable `t = { then: (r) => r(t) }` adopts it again and again inside the microtask queue: the
 * event loop never gets to run a timer, so no timeout, deadline or cancel can end the attempt.
 * Here a native promise is followed with the intrinsic `then` (its own `then` is never called) and
 * any other thenable is adopted by hand, a bounded number of links, each on its own microtask.
 *
 * What no in-process guard can bound: a native promise that the agent's own code resolves with such
 * a thenable (`async () => t`, `Promise.resolve(t)`). The engine adopts it before anything here
 * sees a value, and it loops like `while (true) {}` would.
 */

export type Adopted = { ok: true; value: unknown } | { ok: false; reason: string };

/** Links of a thenable chain followed before giving up; real code needs one or two. */
export const MAX_THENABLE_LINKS = 16;

const nativeThen = Promise.prototype.then;

/**
 * Resolves with the settled value (`ok: true`), or with a reason when the value is a thenable that
 * resolves to itself or to a chain longer than `maxLinks` (`ok: false`). Rejects with what a
 * thenable rejected with, or what reading or calling its `then` threw.
 */
export function adoptUntrusted(value: unknown, maxLinks = MAX_THENABLE_LINKS): Promise<Adopted> {
  // The common case, a native promise, with nothing made per call: followed with the intrinsic
  // `then`, its rejection passed on as it is. It settles with a value, never a thenable (the engine
  // adopted that first), unless `then` appears on the value later: that is adopted by hand.
  const followed = followNative(value, maxLinks);
  if (followed !== undefined) return followed;
  return new Promise<Adopted>((resolve, reject) => {
    let chain: Set<unknown> | undefined;
    const step = (current: unknown, links: number): void => {
      if (isNativePromise(current, (v) => step(v, links), reject)) return;
      if ((typeof current !== 'object' || current === null) && typeof current !== 'function') {
        resolve({ ok: true, value: current });
        return;
      }
      let then: unknown;
      try {
        then = (current as { then?: unknown }).then;
      } catch (error) {
        reject(error);
        return;
      }
      if (typeof then !== 'function') {
        resolve({ ok: true, value: current });
        return;
      }
      if (chain?.has(current)) {
        resolve({ ok: false, reason: 'returned a thenable that resolves to itself' });
        return;
      }
      if (links >= maxLinks) {
        resolve({ ok: false, reason: `returned a chain of more than ${maxLinks} thenables` });
        return;
      }
      chain ??= new Set();
      chain.add(current);
      // First call wins, as with a promise; a later call or a throw after it is ignored.
      let called = false;
      try {
        then.call(
          current,
          (next: unknown) => {
            if (called) return;
            called = true;
            queueMicrotask(() => step(next, links + 1));
          },
          (error: unknown) => {
            if (called) return;
            called = true;
            reject(error);
          },
        );
      } catch (error) {
        if (!called) {
          called = true;
          reject(error);
        }
      }
    };
    step(value, 0);
  });
}

/** `value` followed with the intrinsic `then` when it is a real promise; undefined when it is not. */
function followNative(value: unknown, maxLinks: number): Promise<Adopted> | undefined {
  if (!(value instanceof Promise)) return undefined;
  try {
    // The brand check: the intrinsic `then` throws a TypeError on anything but a promise.
    return nativeThen.call(
      value,
      maxLinks === MAX_THENABLE_LINKS ? settled : (v) => settledWithin(v, maxLinks),
    ) as Promise<Adopted>;
  } catch {
    return undefined; // a look-alike (or a proxy that refuses): adopted by hand, if it is a thenable
  }
}

const settled = (v: unknown): Adopted | Promise<Adopted> => settledWithin(v, MAX_THENABLE_LINKS);

// A throw reading `then` rejects the followed promise with it, as adopting by hand does.
function settledWithin(v: unknown, maxLinks: number): Adopted | Promise<Adopted> {
  if ((typeof v !== 'object' || v === null) && typeof v !== 'function') return { ok: true, value: v };
  if (typeof (v as { then?: unknown }).then !== 'function') return { ok: true, value: v };
  return adoptUntrusted(v, maxLinks);
}

/** Follows `value` with the intrinsic `then` when it is a real promise; false when it is not. */
function isNativePromise(
  value: unknown,
  onFulfilled: (v: unknown) => void,
  onRejected: (e: unknown) => void,
): boolean {
  if (typeof value !== 'object' || value === null) return false;
  try {
    // `instanceof` first: the brand check below throws on anything else, and a throw is slow.
    if (!(value instanceof Promise)) return false;
    // The brand check: the intrinsic `then` throws a TypeError on anything but a promise.
    nativeThen.call(value, onFulfilled, onRejected);
    return true;
  } catch {
    return false; // a look-alike (or a proxy that refuses): adopted by hand, if it is a thenable
  }
}
