/**
 * Brands mark the objects agentcharts makes. They are `Symbol.for` keys, the same in every copy of
 * the package, so a workflow built by one copy (a user's compiled module, another version in
 * node_modules, `src` beside `dist`) is recognised by another — where a WeakSet or `instanceof` is not.
 */

export const AGENT_BRAND: unique symbol = Symbol.for('agentcharts.agent') as never;
export const WORKFLOW_BRAND: unique symbol = Symbol.for('agentcharts.workflow') as never;

/** Put a brand on `target` (non-enumerable, so it never shows in logs or JSON) and return it. */
export function brand<T extends object>(target: T, key: symbol, value: unknown): T {
  Object.defineProperty(target, key, { value, enumerable: false });
  return target;
}

/** The value of `key` on `value` if it is an object carrying that brand, else undefined. */
export function brandOf(value: unknown, key: symbol): unknown {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return undefined;
  try {
    return (value as Record<symbol, unknown>)[key];
  } catch {
    // A hostile Proxy or getter is not ours.
    return undefined;
  }
}
