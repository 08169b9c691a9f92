/**
 * XState's `getPersistedSnapshot` walks the whole context on every call, looking for actor refs to
 * write as ids. A run with a store persists its workflow (and so its agents) at every checkpoint,
 * so each step cost the length of everything the run had kept: its steps, its shared state, the
 * state an agent was given. A frozen subtree is JSON data agentcharts froze, where no actor ref can
 * be: it is kept as it is, and only the rest is walked, the way XState walks it.
 */

type Persist = (snapshot: unknown, options?: unknown) => { context?: unknown };

/** How XState writes an actor ref found in context (its `$$ACTOR_TYPE`, not exported). */
const ACTOR_TYPE = 1;
const NO_CONTEXT: Readonly<Record<string, unknown>> = Object.freeze({});

/** XState's `persistContext`, minus frozen subtrees: the part itself when it holds no actor ref. */
function persistLive(part: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key in part) {
    const value = part[key];
    if (typeof value !== 'object' || value === null || Object.isFrozen(value)) continue;
    let persisted: unknown;
    if ('sessionId' in value && 'send' in value && 'ref' in value) {
      persisted = { xstate$$type: ACTOR_TYPE, id: (value as unknown as { id: string }).id };
    } else {
      persisted = persistLive(value as Record<string, unknown>);
      if (persisted === value) continue;
    }
    copy ??= (Array.isArray(part) ? part.slice() : { ...part }) as Record<string, unknown>;
    copy[key] = persisted;
  }
  return copy ?? part;
}

/** Makes `logic.getPersistedSnapshot` take the frozen parts of the context without a walk. */
export function persistsFrozenAsIs(logic: { getPersistedSnapshot: unknown }): void {
  const persist = logic.getPersistedSnapshot as Persist;
  logic.getPersistedSnapshot = function persistedWithFrozen(
    this: unknown,
    snapshot: { context?: unknown },
    options?: unknown,
  ) {
    const context = snapshot.context;
    if (typeof context !== 'object' || context === null) return persist.call(this, snapshot, options);
    // XState persists everything else (children, history); the context is done here.
    const persisted = persist.call(this, { ...snapshot, context: NO_CONTEXT }, options);
    persisted.context = persistLive(context as Record<string, unknown>);
    return persisted;
  } as unknown;
}
