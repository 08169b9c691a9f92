import type { AnyActorRef, AnyEventObject, InspectionEvent, Snapshot } from 'xstate';
import { now } from '../../machines/clock.js';
import { type LogEntry, record, type StateLog } from './state-log.js';

/**
 * Connects XState's inspection stream to a state log: each `@xstate.snapshot` of any actor in the
 * system becomes an entry. XState does not freeze snapshots, and a live snapshot holds actor refs,
 * so the log gets a JSON-safe projection `{ value, status, context, output, error }`, frozen. The
 * projection is made when the entry is first read, not here: a run nobody reads pays almost nothing.
 *
 *   const log = createStateLog();
 *   createActor(machine, { inspect: logInspector(log) }).start();
 */

/** The part of a snapshot that goes into the log. Fields the snapshot lacks are left out. */
export interface SnapshotProjection<TContext = unknown> {
  value?: unknown;
  status: 'active' | 'done' | 'error' | 'stopped';
  context?: TContext;
  output?: unknown;
  error?: unknown;
}

export interface LogInspectorOptions {
  /** The entry's actorId. Default: the actor's systemId, else its sessionId (unique in the system). */
  actorId?: (ref: AnyActorRef) => string;
  /** The entry's version. Default: the actor's previous version + 1. */
  version?: (snapshot: Snapshot<unknown>, ref: AnyActorRef) => number | undefined;
  /** Who caused the transition. Default: the event's `agentId` when it is a string. */
  agentId?: (event: AnyEventObject) => string | undefined;
  /** Which actors to log. Default: all. */
  include?: (ref: AnyActorRef) => boolean;
  /** Called when an entry cannot be appended; the actor goes on. Default: console.error. */
  onError?: (error: unknown, event: InspectionEvent) => void;
}

export const defaultActorId = (ref: AnyActorRef): string =>
  (ref as { systemId?: string }).systemId ?? ref.sessionId;

const defaultAgentId = (event: AnyEventObject): string | undefined =>
  typeof event.agentId === 'string' ? event.agentId : undefined;

/** The loggable part of a snapshot (not frozen: the log freezes what it keeps). */
export function projectSnapshot(snapshot: Snapshot<unknown>): SnapshotProjection {
  const s = snapshot as Snapshot<unknown> & { value?: unknown; context?: unknown };
  const { status } = s;
  // The common case, a running machine, as one literal (this runs for every snapshot).
  if (status === 'active' && 'value' in s && 'context' in s) {
    return { value: s.value, status, context: s.context };
  }
  // Key by key, in this order: spreads of many shapes at one site give each object a hidden class
  // of its own (~0.2 KB kept per finished actor in the log).
  const projection = {} as SnapshotProjection;
  if ('value' in s) projection.value = s.value;
  projection.status = s.status;
  if ('context' in s) projection.context = s.context;
  if (s.status === 'done') projection.output = s.output;
  if (s.status === 'error') projection.error = s.error;
  return projection;
}

/** An `inspect` observer for `createActor` that appends every snapshot to `log`. */
export function logInspector(
  log: StateLog,
  options: LogInspectorOptions = {},
): (event: InspectionEvent) => void {
  const onError =
    options.onError ??
    ((error: unknown) => console.error('agentcharts: could not append a snapshot to the state log', error));
  return (inspection) => {
    if (inspection.type === '@xstate.snapshot')
      recordSnapshot(log, inspection, options, { logError: onError });
  };
}

/**
 * Append one `@xstate.snapshot` to `log`, read with `options`. A hostile part (a getter or Proxy
 * that throws) costs that part, never the entry: the log records it as unreadable. Only a real
 * append failure (a version out of order) skips the entry. No closure is made here: this runs for
 * every snapshot of every actor.
 */
export function recordSnapshot(
  log: StateLog,
  inspection: SnapshotEvent,
  options: LogInspectorOptions,
  /** Where a part that cannot be read, or an append that fails, is reported. */
  reporter: { logError(error: unknown, event: InspectionEvent): void },
): void {
  const ref = inspection.actorRef as AnyActorRef;
  let version: number | undefined;
  let agentId: string | undefined;
  let actorId: string | undefined;
  let at: number | undefined;
  try {
    if (options.include && !options.include(ref)) return;
  } catch (error) {
    reporter.logError(error, inspection);
    return;
  }
  if (options.version) {
    try {
      version = options.version(inspection.snapshot, ref);
    } catch (error) {
      reporter.logError(error, inspection);
    }
  }
  try {
    agentId = (options.agentId ?? defaultAgentId)(inspection.event);
  } catch (error) {
    reporter.logError(error, inspection);
  }
  try {
    actorId = (options.actorId ?? defaultActorId)(ref);
  } catch (error) {
    reporter.logError(error, inspection);
  }
  try {
    at = now(ref.system);
  } catch (error) {
    reporter.logError(error, inspection);
  }
  try {
    // Recorded, not projected: the log projects an entry when someone reads it.
    record(log, {
      actorId: actorId ?? String(ref.sessionId),
      event: inspection.event,
      state: projectSnapshot(inspection.snapshot),
      at,
      version,
      agentId: typeof agentId === 'string' ? agentId : undefined,
    });
  } catch (error) {
    reporter.logError(error, inspection);
  }
}

type SnapshotEvent = Extract<InspectionEvent, { type: '@xstate.snapshot' }>;

export type SnapshotEntry<TContext = unknown> = LogEntry<SnapshotProjection<TContext>>;
