import type { AnyStateMachine } from 'xstate';
import type { RunOutcome } from '../../machines/workflow-context.js';
import type { Breaker } from '../breaker.js';
import { diffValues } from '../log/diff.js';
import type { LogEntry } from '../log/state-log.js';
import type { PendingReview } from '../review/records.js';
import type { Workflow } from '../workflow/define.js';
import { activeStates, currentStep, type WorkflowGraph, workflowGraph } from './graph.js';
import type { TrackedRun } from './registry.js';

/**
 * What the console's API answers, computed from the runtime's own registry on each request (so a
 * page opened late sees the current state of every run, not a replay of raw events). Plain JSON.
 */

export type RunStatus = 'running' | 'awaitingReview' | 'completed' | 'fallback' | 'failed' | 'cancelled';

export interface RunSummary {
  id: string;
  workflowId: string;
  status: RunStatus;
  startedAt: number;
  durationMs: number;
  step: string | null;
  reason?: string;
}

interface WorkflowSnap {
  value: unknown;
  status: string;
  context: {
    startedAt: number;
    endedAt: number | null;
    state: Readonly<Record<string, unknown>>;
    version: number;
  };
}

const snapOf = (tracked: TrackedRun): WorkflowSnap | null =>
  (tracked.run?.actor?.getSnapshot() as WorkflowSnap | undefined) ?? null;

/** Whether any active state is a step's `reviewing` (awaiting a human). */
const isReviewing = (value: unknown): boolean =>
  value === 'reviewing' ||
  (typeof value === 'object' && value !== null && Object.values(value).some(isReviewing));

// A finished run's summary never changes: computed once.
const finished = new WeakMap<TrackedRun, RunSummary>();

export function summarize(tracked: TrackedRun, now: number): RunSummary {
  const t = tracked.terminal;
  if (t) {
    const known = finished.get(tracked);
    if (known) return known;
    const summary: RunSummary = {
      id: tracked.id,
      workflowId: tracked.workflow.id,
      status: t.status,
      startedAt: t.startedAt,
      durationMs: t.durationMs,
      step: null,
      ...('reason' in t && t.reason ? { reason: t.reason } : {}),
    };
    finished.set(tracked, summary);
    return summary;
  }
  const snap = snapOf(tracked);
  const startedAt = snap?.context.startedAt ?? tracked.startedAt;
  return {
    id: tracked.id,
    workflowId: tracked.workflow.id,
    status: isReviewing(snap?.value) ? 'awaitingReview' : 'running',
    startedAt,
    durationMs: Math.max(0, now - startedAt),
    step: currentStep(snap?.value),
  };
}

const graphs = new WeakMap<Workflow, WorkflowGraph>();
export function graphOf(workflow: Workflow): WorkflowGraph {
  let graph = graphs.get(workflow);
  if (!graph) {
    // A stored run whose workflow the console was not given has no statechart to draw.
    const machine = workflow.machine as AnyStateMachine | undefined;
    graph = machine ? workflowGraph(machine) : { nodes: [], edges: [] };
    graphs.set(workflow, graph);
  }
  return graph;
}

/** A state log entry as the scrubber lists it. */
export interface LogLine {
  seq: number;
  at: number;
  actorId: string;
  event: string;
  value: unknown;
}

const eventType = (event: unknown): string =>
  typeof (event as { type?: unknown } | null)?.type === 'string' ? (event as { type: string }).type : '';

/** The workflow actor's entries: they carry the run's shared state (context.state). */
const workflowEntries = (tracked: TrackedRun): readonly LogEntry[] =>
  tracked.run?.log().filter((e) => e.actorId === tracked.workflow.id) ?? [];

export const MAX_LOG_LINES = 2_000;

/** Step id → the id of its state node (a step's states sit under it), for the states a step decides in. */
function stepNodes(machine: AnyStateMachine): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (node: { key: string; id: string; states: Record<string, unknown> }) => {
    if ('admitting' in node.states) out.set(node.key, node.id);
    for (const child of Object.values(node.states)) visit(child as typeof node);
  };
  visit(machine.root as never);
  return out;
}

const FINISHING = 'workflow.running.finishing';
/** Whether the run ended in `finishing` (its output checked, passed or not). */
const finishedThere = (outcome: RunOutcome | null | undefined) =>
  outcome?.status === 'completed' || (outcome?.status === 'fallback' && outcome.cause === 'outputInvalid');

/** Which guardrail state each decision in a step's slot belongs to. */
const DECIDED_IN = [
  ['admission', 'admitting'],
  ['decision', 'gating'],
  ['written', 'writing'],
] as const;

/**
 * Every workflow state the run has been in (from its log), so a finished run shows the path it took.
 * A step decides its breaker, gate and write where the log never rests: in their transient states,
 * or on the way past them when all pass (machines/workflow-steps.ts). Either way each decision left
 * in the step's slot marks its guardrail's state, so the diagram shows every guardrail that decided.
 */
function visitedStates(machine: AnyStateMachine | undefined, entries: readonly LogEntry[]): string[] {
  if (!machine) return [];
  const seen = new Set<string>();
  const steps = stepNodes(machine);
  let last: unknown;
  let lastSlots: unknown;
  for (const e of entries) {
    const state = e.state as {
      value?: unknown;
      context?: { slots?: Record<string, Record<string, unknown>>; outcome?: RunOutcome | null };
    };
    // The final output is decided inside the run's last transition, when it needs no async work.
    if (finishedThere(state.context?.outcome)) seen.add(FINISHING);
    const slots = state.context?.slots;
    if (slots && slots !== lastSlots) {
      lastSlots = slots;
      for (const [stepId, slot] of Object.entries(slots)) {
        const node = steps.get(stepId);
        if (!node) continue;
        for (const [field, sub] of DECIDED_IN) if (slot[field] !== undefined) seen.add(`${node}.${sub}`);
      }
    }
    const value = state.value;
    if (value === undefined || value === last) continue;
    last = value;
    for (const id of activeStates(machine, { value })) seen.add(id);
  }
  return [...seen];
}

export function runDetail(tracked: TrackedRun, now: number, reviews: readonly PendingReview[]) {
  const snap = snapOf(tracked);
  const entries = workflowEntries(tracked);
  const machine = tracked.workflow.machine as AnyStateMachine | undefined;
  return {
    summary: summarize(tracked, now),
    /** The runtime's clock now (simulated in tests): open spans end here in the waterfall. */
    now,
    /** False once a finished run's log and trace were released (only its summary is kept). */
    details: tracked.run !== null,
    graph: graphOf(tracked.workflow),
    active: snap && machine ? activeStates(machine, snap) : [],
    visited: visitedStates(machine, entries),
    status: snap?.status ?? null,
    spans: tracked.run?.trace().spans ?? [],
    logTotal: entries.length,
    log: entries.slice(-MAX_LOG_LINES).map(
      (e): LogLine => ({
        seq: e.seq,
        at: e.at,
        actorId: e.actorId,
        event: eventType(e.event),
        value: (e.state as { value?: unknown }).value ?? null,
      }),
    ),
    reviews: reviews.filter((r) => r.runId === tracked.id),
    terminal: tracked.terminal,
  };
}

/** One state log entry: the shared state at that point and the diff from the workflow's previous entry. */
export function logEntry(tracked: TrackedRun, seq: number) {
  const entries = workflowEntries(tracked);
  const i = entries.findIndex((e) => e.seq === seq);
  if (i < 0) return null;
  const entry = entries[i]!;
  const stateOf = (e: LogEntry | undefined) =>
    (e?.state as { context?: { state?: unknown } } | undefined)?.context?.state ?? {};
  const before = stateOf(entries[i - 1]);
  const after = stateOf(entry);
  return {
    seq: entry.seq,
    at: entry.at,
    event: entry.event,
    value: (entry.state as { value?: unknown }).value ?? null,
    version: (entry.state as { context?: { version?: number } }).context?.version ?? null,
    state: after,
    diff: i === 0 ? diffValues({}, after) : diffValues(before, after),
  };
}

export interface BreakerRow {
  key: string;
  state: string;
  failures: number;
  opens: number;
  probeAt: number | null;
  lastFailure: string | null;
}

export function breakerRows(breakers: ReadonlyMap<string, Breaker>): BreakerRow[] {
  return [...breakers].map(([key, b]) => {
    const s = b.state();
    return {
      key,
      state: s.value,
      failures: s.failures,
      opens: s.opens,
      probeAt: s.probeAt,
      lastFailure: s.lastFailure,
    };
  });
}
