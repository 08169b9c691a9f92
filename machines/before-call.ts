/**
 * A hook an actor system's agents await before each call to the user's function: the runtime sets
 * one per run when it has a store, so that a step's agent is called only once the store has made
 * the run's earlier steps durable (a crash then never re-runs a step the store recorded as done).
 * Keyed by the actor system, so every agent of the run finds it and nothing else sees it.
 */
const hooks = new WeakMap<object, () => Promise<void>>();

export function setBeforeCall(system: object, hook: () => Promise<void>): void {
  hooks.set(system, hook);
}

/**
 * What the system's agents await before calling out, if anything. A turn later first: the snapshot
 * that admitted the call is committed by the run's subscriber after the child actors have started.
 */
export function beforeCallOf(system: object): (() => Promise<void>) | undefined {
  const hook = hooks.get(system);
  return hook
    ? async () => {
        await null;
        await hook();
      }
    : undefined;
}

/** Whether the system's agents wait for anything before calling out. */
export const hasBeforeCall = (system: object): boolean => hooks.has(system);
