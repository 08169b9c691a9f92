import type { Store } from './store.js';

/**
 * A store over a medium that has one owner at a time (the file store's folder lock). `release()`
 * flushes and gives the medium up; the next call takes it again, on a fresh store: what the old one
 * remembered (each run's record count, which file ends were checked) may be stale by then, because
 * another owner may have written in between. `close()` is final.
 */
/** A store with an owner: `release()` is always there. */
export type OwnedStore = Store & { release(): Promise<void> };

export function ownedStore(open: () => Store, giveUp: () => Promise<void>): OwnedStore {
  let current = open();
  let released = false;
  let closed = false;
  const live = (): Store => {
    if (released && !closed) {
      released = false;
      current = open();
    }
    return current;
  };
  return Object.freeze({
    kind: current.kind,
    create: (run) => live().create(run),
    commit: (runId, commit) => live().commit(runId, commit),
    finish: (runId, finish) => live().finish(runId, finish),
    load: (runId) => live().load(runId),
    listUnfinished: () => live().listUnfinished(),
    runIds: () => live().runIds(),
    remove: (runId) => live().remove(runId),
    saveBreaker: (key, snapshot, at) => live().saveBreaker(key, snapshot, at),
    loadBreakers: () => live().loadBreakers(),
    flush: (runId) => current.flush(runId),
    close() {
      closed = true;
      return current.close();
    },
    async release() {
      if (closed || released) return;
      await current.flush();
      released = true;
      await giveUp();
    },
  } satisfies OwnedStore);
}
