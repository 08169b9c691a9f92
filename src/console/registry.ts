import type { Run } from '../run.js';
import type { RunTerminal } from '../run-result.js';
import type { Workflow } from '../workflow/define.js';

/**
 * The console's record of the runs a runtime started: live ones with their handles, finished ones
 * with their result. Browser-safe and small, so the runtime can keep it from the first run while the
 * console's Node server loads. Bounded: finished runs keep their handle (log, trace) only while they
 * are among the most recent `keepDetails`; beyond `maxRuns` the oldest finished runs are dropped.
 */
export interface TrackedRun {
  readonly id: string;
  readonly workflow: Workflow;
  /** Null once a finished run's details were released (only its summary is kept). */
  run: Run | null;
  readonly startedAt: number;
  terminal: RunTerminal | null;
}

export interface RunRegistry {
  track(run: Run, workflow: Workflow): void;
  get(id: string): TrackedRun | undefined;
  /** Newest first. */
  list(): TrackedRun[];
  readonly size: number;
  /** Called with a run's id whenever it changes (started, stepped, ended). Returns the unsubscribe function. */
  onChange(listener: (id: string) => void): () => void;
}

export interface RunRegistryOptions {
  now: () => number;
  maxRuns?: number;
  keepDetails?: number;
}

/** What the list shows of a released run: its outcome without the output, steps and issues. */
function compact(t: RunTerminal): RunTerminal {
  const reason = 'reason' in t ? t.reason : undefined;
  return {
    status: t.status,
    runId: t.runId,
    workflowId: t.workflowId,
    startedAt: t.startedAt,
    endedAt: t.endedAt,
    durationMs: t.durationMs,
    steps: [],
    ...(reason === undefined ? {} : { reason }),
  } as unknown as RunTerminal;
}

export function createRunRegistry(options: RunRegistryOptions): RunRegistry {
  const maxRuns = options.maxRuns ?? 10_000;
  const keepDetails = options.keepDetails ?? 200;
  const runs = new Map<string, TrackedRun>();
  const finished: string[] = [];
  const listeners = new Set<(id: string) => void>();
  const changed = (id: string) => {
    for (const listener of listeners) {
      try {
        listener(id);
      } catch {
        // A console listener must never disturb a run.
      }
    }
  };

  // Finished runs in the order they ended; `released` of them have given up their handle already.
  let released = 0;
  function trim(): void {
    // Release the handles (logs, traces) of all but the most recent finished runs: O(1) per run.
    for (; released < finished.length - keepDetails; released++) {
      const tracked = runs.get(finished[released]!);
      if (tracked) {
        tracked.run = null;
        tracked.terminal = tracked.terminal && compact(tracked.terminal);
      }
    }
    let dropped = 0;
    while (runs.size > maxRuns && dropped < released) runs.delete(finished[dropped++]!);
    if (dropped > 0) {
      finished.splice(0, dropped);
      released -= dropped;
    }
  }

  return {
    track(run, workflow) {
      const tracked: TrackedRun = { id: run.id, workflow, run, startedAt: options.now(), terminal: null };
      runs.delete(run.id);
      runs.set(run.id, tracked);
      let unsubscribe: (() => void) | null = run.onLog(() => changed(run.id));
      void run.result.then(() => changed(run.id));
      void run.done.then((terminal) => {
        unsubscribe?.();
        unsubscribe = null;
        tracked.terminal = terminal;
        finished.push(run.id);
        trim();
        changed(run.id);
      });
      changed(run.id);
    },
    get: (id) => runs.get(id),
    list: () => [...runs.values()].reverse(),
    get size() {
      return runs.size;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
