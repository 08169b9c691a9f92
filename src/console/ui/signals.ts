import type { RunSummary } from '../view.js';

/** Run changes from the live stream, fanned out to whichever views are open. */
/** `refresh`: the live stream (re)connected, so changes may have been missed: fetch again. */
export type RunsChange = { runs: RunSummary[]; total: number; refresh?: boolean };
const listeners = new Set<(change: RunsChange) => void>();

export function emit(change: RunsChange): void {
  for (const listener of listeners) listener(change);
}

export function onRuns(listener: (change: RunsChange) => void): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

/** Calls `load` now and whenever `when` says a change concerns it, never twice at once. */
export function refetcher(load: () => Promise<void>) {
  let running = false;
  let again = false;
  const run = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await load();
    } finally {
      running = false;
      if (again) {
        again = false;
        void run();
      }
    }
  };
  return run;
}
