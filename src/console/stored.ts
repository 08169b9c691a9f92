import type { AnyStateMachine } from 'xstate';
import type { Run } from '../run.js';
import type { RunTerminal } from '../run-result.js';
import type { Store, StoredRun } from '../store/store.js';
import type { Trace } from '../trace/span.js';
import type { Workflow } from '../workflow/define.js';
import type { ConsoleSource } from './api.js';
import type { RunRegistry, TrackedRun } from './registry.js';

/**
 * The runs of a store (finished and unfinished) as a read-only console source, for
 * `agentcharts console --store <dir>`: each run's log and last snapshot as stored. With the run's
 * workflow (from `--module`) its statechart is drawn with the stored active states; without it, the
 * list, the state log and the result are still there. Traces are not stored, so there are none.
 */

export interface StoredSourceOptions {
  workflows?: readonly Workflow[];
  /** The most recent runs (by run id order) to load. Default 10,000. */
  max?: number;
}

const emptyTrace = (): Trace => ({ traceId: '', totalDurationMs: 0, agentCalls: 0, errors: 0, spans: [] });

/** A stand-in for a workflow the console was not given: its id, no statechart. */
const unknownWorkflow = (id: string) =>
  ({ id, machine: undefined, agents: new Map() }) as unknown as Workflow;

/** A read-only Run handle over a stored run: its log, and its snapshot with the agents' states. */
function storedHandle(stored: StoredRun, workflow: Workflow): Run {
  const persisted = stored.snapshot?.value as
    | {
        value?: unknown;
        status?: string;
        context?: unknown;
        children?: Record<string, { src?: unknown; snapshot?: unknown }>;
      }
    | undefined;
  const actors = ((workflow.machine as AnyStateMachine | undefined)?.implementations?.actors ?? {}) as Record<
    string,
    unknown
  >;
  const children = Object.fromEntries(
    Object.entries(persisted?.children ?? {}).map(([id, child]) => [
      id,
      {
        getSnapshot: () => child.snapshot,
        logic: typeof child.src === 'string' ? actors[child.src] : undefined,
      },
    ]),
  );
  // A finished run's last stored snapshot may predate its end: its final state is its result's status.
  const status = (stored.result as { status?: string } | undefined)?.status;
  const snapshot = status
    ? { ...persisted, value: status, status: 'done', children: {} }
    : persisted
      ? { ...persisted, children }
      : null;
  return {
    id: stored.meta.runId,
    workflowId: stored.meta.workflowId,
    log: () => stored.entries,
    trace: emptyTrace,
    actor: snapshot ? { getSnapshot: () => snapshot } : null,
    cancel: () => {},
  } as unknown as Run;
}

/** Load a store's runs into a read-only console source. */
export async function storedSource(
  store: Store,
  options: StoredSourceOptions = {},
): Promise<{ source: ConsoleSource; errors: Error[] }> {
  const byId = new Map((options.workflows ?? []).map((w) => [w.id, w]));
  const ids = (await store.runIds()).slice(-(options.max ?? 10_000));
  const errors: Error[] = [];
  const tracked: TrackedRun[] = [];
  for (const id of ids) {
    try {
      const stored = await store.load(id);
      const workflow = byId.get(stored.meta.workflowId) ?? unknownWorkflow(stored.meta.workflowId);
      tracked.push({
        id,
        workflow,
        run: storedHandle(stored, workflow),
        startedAt: stored.meta.startedAt,
        terminal: stored.result === undefined ? null : (stored.result as RunTerminal),
      });
    } catch (error) {
      errors.push(error instanceof Error ? error : new Error(String(error)));
    }
  }
  tracked.sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id));
  const runs = new Map(tracked.map((t) => [t.id, t]));
  const registry: RunRegistry = {
    track: () => {
      throw new Error('a stored console is read-only');
    },
    get: (id) => runs.get(id),
    list: () => [...runs.values()].reverse(),
    size: runs.size,
    onChange: () => () => {},
  };
  const source: ConsoleSource = {
    registry,
    readOnly: true,
    now: () => Date.now(),
    breakers: () => [],
    reviews: {
      list: () => [],
      on: () => () => {},
      approve: () => Promise.reject(new Error('read-only')),
      edit: () => Promise.reject(new Error('read-only')),
      reject: () => Promise.reject(new Error('read-only')),
    },
  };
  return { source, errors };
}
