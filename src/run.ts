import type { Actor, AnyActorRef, InspectionEvent } from 'xstate';
import type { Clock } from '../machines/clock.js';
import type { WorkflowMachine } from '../machines/workflow.js';
import type { AnyAgent } from './agent.js';
import type { LogEntry } from './log/state-log.js';
import { RunDriver } from './run-driver.js';
import { RunHandle } from './run-handle.js';
import type { RunObserver } from './run-observer.js';
import type { RunResult, RunTerminal } from './run-result.js';
import type { Store } from './store/store.js';
import type { RunEvent } from './trace/events.js';
import type { ObserverErrorHandler } from './trace/report.js';
import type { Trace } from './trace/span.js';
import type { TraceExporter } from './trace/tracer.js';
import type { Workflow } from './workflow/define.js';

/** A handle on one run of a workflow. */
/** `A`: the workflow's agents, which type the reviews an `awaitingReview` result lists. */
export interface Run<O = unknown, W extends string = string, A extends AnyAgent = AnyAgent> {
  readonly id: string;
  /** The workflow's id: with several workflows (e.g. from `runtime.resume()`), it tells their runs apart. */
  readonly workflowId: W;
  /** Settles when the run can go no further on its own (terminal, or awaiting a human). Never rejects. */
  readonly result: Promise<RunResult<O, A>>;
  /** Settles with the terminal outcome only (after any human reviews). */
  readonly done: Promise<RunTerminal<O>>;
  /** Stop the run: the running agent's signal aborts, and the result is `cancelled`. */
  cancel(reason?: string): void;
  /** Typed progress events as they happen (step started, attempt, fallback, escalated, …). */
  subscribe(listener: (event: RunEvent) => void): () => void;
  /** Every progress event from the start of the run until it ends, as an async iterator. */
  events(): AsyncIterableIterator<RunEvent>;
  /** `{ traceId, totalDurationMs, agentCalls, errors, spans }`: a span per run, step, agent call, attempt, decision. */
  trace(): Trace;
  /** The run's immutable state log across all its actors: frozen snapshots, in order. */
  log(): readonly LogEntry[];
  /** Each state log entry as it is appended. Returns the unsubscribe function. */
  onLog(listener: (entry: LogEntry) => void): () => void;
  /** The workflow actor's persisted snapshot (plain JSON), or null when the run never started. */
  snapshot(): unknown;
  /** The shared state as last committed: `{ version, state }`, frozen. */
  state(): { version: number; state: Readonly<Record<string, unknown>> };
  /** The workflow actor, for inspection; null when the input was refused. */
  readonly actor: Actor<WorkflowMachine> | null;
}

export interface RunDeps {
  clock: Clock | undefined;
  machine: WorkflowMachine;
  /** Extra inspection observers (the Stately inspector, the user's own), named for error reports. */
  inspectors: readonly { source: string; next: (event: InspectionEvent) => void }[];
  /** Span exporters (OpenTelemetry); tracing off when null. */
  exporters: TraceExporter[] | null;
  /** The run's trace id when it continues a caller's trace (the parent span's). */
  traceId?: string;
  onObserverError: ObserverErrorHandler;
  onEnd: (runId: string) => void;
  /** Register an escalation actor (a step's human review) with the runtime's reviews. */
  track?: (ref: AnyActorRef) => void;
  /** The run's tracer is the one a shared breaker reports to while this run crosses it. */
  onObserver?: (runId: string, observer: RunObserver | null) => void;
  /** Where the run is persisted; none: it lives in memory only. */
  store?: Store;
  /** Awaited before each agent call, e.g. until the store has made the run's earlier steps durable. */
  beforeCall?: (runId: string) => Promise<void>;
}

/** What a resumed run starts from: its stored snapshot (null: from the start) and log. */
export interface RestoreFrom {
  snapshot: unknown;
  entries: readonly LogEntry[];
}

/** Start a run: validate the input, then create and start the workflow actor. */
export function startRun<I, O, W extends string, A extends AnyAgent>(
  deps: RunDeps,
  workflow: Workflow<I, O, W, A>,
  rawInput: unknown,
  runId: string,
  signal: AbortSignal | undefined,
  restore?: RestoreFrom,
): Run<O, W, A> {
  return new RunDriver<O, W, A>(deps, workflow as Workflow, rawInput, runId, signal, restore).handle;
}

/** A run of one of the runtime's workflows, typed by that workflow (`runtime.resume()` returns these). */
export type RunOf<W> = W extends Workflow<infer _I, infer O, infer Id, infer A> ? Run<O, Id, A> : never;

/** Whether a run is of this workflow, narrowing its output type (e.g. runs from `runtime.resume()`). */
export function isRunOf<O, W extends string>(
  run: Run<unknown>,
  workflow: Workflow<unknown, O, W>,
): run is Run<O, W> {
  return run.workflowId === workflow.id;
}

/** Stop a run without finishing it in the store (the runtime is stopping; resume() brings it back). */
export function haltRun(run: Run<unknown>): void {
  RunHandle.halt(run);
}
