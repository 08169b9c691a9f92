import type { Actor, AnyActorRef, InspectionEvent } from 'xstate';
import { createActor } from 'xstate';
import type { Clock } from '../machines/clock.js';
import { cloneData, deepFreeze } from '../machines/frozen.js';
import type { WorkflowMachine } from '../machines/workflow.js';
import type { WorkflowOutput } from '../machines/workflow-context.js';
import { combineInspectors } from './inspect/combine.js';
import { logInspector } from './log/inspect.js';
import type { LogEntry, StateLog } from './log/state-log.js';
import { createStateLog } from './log/state-log.js';
import { isEscalationSnapshot } from './review/records.js';
import type { RunObserver } from './run-observer.js';
import { observeRun } from './run-observer.js';
import type { RunResult, RunTerminal } from './run-result.js';
import { inputFailed, toRunResult } from './run-result.js';
import type { RunEvent } from './trace/events.js';
import type { ObserverErrorHandler } from './trace/report.js';
import type { Trace } from './trace/span.js';
import type { TraceExporter } from './trace/tracer.js';
import type { Workflow } from './workflow/define.js';

/** A handle on one run of a workflow. */
export interface Run<O = unknown> {
  readonly id: string;
  readonly workflowId: string;
  /** Settles when the run can go no further on its own (terminal, or awaiting a human). Never rejects. */
  readonly result: Promise<RunResult<O>>;
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
  /** Extra inspection observers (the Stately inspector, the user's own). */
  observers: Record<string, ((event: InspectionEvent) => void) | undefined>;
  /** Span exporters (OpenTelemetry); tracing off when null. */
  exporters: TraceExporter[] | null;
  onObserverError: ObserverErrorHandler;
  onEnd: (runId: string) => void;
  /** Register an escalation actor (a step's human review) with the runtime's reviews. */
  track?: (ref: AnyActorRef) => void;
  /** The run's tracer is the one a shared breaker reports to while this run crosses it. */
  onObserver?: (runId: string, observer: RunObserver | null) => void;
}

const readable = (ref: { id: string; _parent?: unknown }): string => {
  const parts: string[] = [];
  let current: { id: string; _parent?: unknown } | undefined = ref;
  while (current) {
    parts.unshift(current.id);
    current = current._parent as typeof current | undefined;
  }
  return parts.join('/');
};

const emptyTrace = (): Trace => ({ traceId: '', totalDurationMs: 0, agentCalls: 0, errors: 0, spans: [] });

/** Start a run: validate the input, then create and start the workflow actor. */
export function startRun<I, O>(
  deps: RunDeps,
  workflow: Workflow<I, O>,
  rawInput: unknown,
  runId: string,
  signal: AbortSignal | undefined,
): Run<O> {
  const nowMs = () => deps.clock?.now() ?? Date.now();
  const log: StateLog = createStateLog(deps.clock ? { clock: deps.clock } : {});
  const observer =
    deps.exporters === null
      ? null
      : observeRun({
          runId,
          workflowId: workflow.id,
          clock: deps.clock,
          exporters: deps.exporters,
          onError: deps.onObserverError,
        });
  const common = {
    id: runId,
    workflowId: workflow.id,
    subscribe: (listener: (event: RunEvent) => void) => observer?.events.subscribe(listener) ?? (() => {}),
    events: () => observer?.events.events() ?? emptyIterator(),
    trace: () => observer?.recorder.trace() ?? emptyTrace(),
    log: () => log.entries(),
    onLog: (listener: (entry: LogEntry) => void) => log.subscribe(listener),
  };

  const parsed = workflow.inputSchema.safeParse(rawInput);
  const plain = parsed.success ? cloneData(parsed.data) : null;
  if (!parsed.success || !plain?.ok) {
    const issues = parsed.success
      ? [{ path: '(root)', message: `input is not JSON data: ${(plain as { message?: string }).message}` }]
      : parsed.error.issues.map((i) => ({
          path: i.path.map(String).join('.') || '(root)',
          message: i.message,
        }));
    const failed = inputFailed(
      runId,
      workflow.id,
      nowMs(),
      `input: ${issues[0]!.path}: ${issues[0]!.message}`,
      issues,
    );
    observer?.finish(failed);
    queueMicrotask(() => deps.onEnd(runId));
    const refused = Promise.resolve(failed);
    return Object.freeze({
      ...common,
      result: refused,
      done: refused,
      cancel: () => {},
      snapshot: () => null,
      state: () => ({ version: 0, state: Object.freeze({}) }),
      actor: null,
    });
  }

  const inspect = combineInspectors(
    {
      log: logInspector(log, {
        actorId: readable,
        // Machines only: promise actors' snapshots repeat what their parent's next event carries.
        include: (ref) => 'value' in (ref.getSnapshot() as object),
      }),
      trace: observer?.inspect,
      ...deps.observers,
    },
    { onError: deps.onObserverError },
  );
  const actor = createActor(deps.machine, {
    id: workflow.id,
    input: { runId, input: deepFreeze(plain.value) },
    inspect,
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  deps.onObserver?.(runId, observer);

  let settle!: (result: RunTerminal<O>) => void;
  const done = new Promise<RunTerminal<O>>((resolve) => {
    settle = resolve;
  });
  // `result` settles first: awaitingReview when a human is needed, else the terminal result.
  let resultSettled = false;
  let settleResult!: (result: RunResult<O>) => void;
  const result = new Promise<RunResult<O>>((resolve) => {
    settleResult = (r) => {
      if (resultSettled) return;
      resultSettled = true;
      resolve(r);
    };
  });
  void done.then((r) => settleResult(r));
  const tracked = new WeakSet<AnyActorRef>();

  const end = (terminal: RunTerminal<O>) => {
    signal?.removeEventListener('abort', onAbort);
    observer?.finish(terminal, actor.getSnapshot().context);
    deps.onObserver?.(runId, null);
    settle(terminal);
    deps.onEnd(runId);
  };
  const onAbort = () => actor.send({ type: 'cancel', reason: abortReason(signal) });
  actor.subscribe({
    next: (snapshot) => {
      const pending = [];
      for (const child of Object.values(snapshot.children) as AnyActorRef[]) {
        if (!child) continue;
        const childSnapshot = child.getSnapshot();
        if (!isEscalationSnapshot(childSnapshot) || childSnapshot.status !== 'active') continue;
        if (!tracked.has(child)) {
          tracked.add(child);
          deps.track?.(child);
        }
        pending.push(childSnapshot.context);
      }
      if (pending.length > 0 && !resultSettled) {
        const at = nowMs();
        settleResult({
          status: 'awaitingReview',
          runId,
          workflowId: workflow.id,
          output: pending[0]!.placeholder,
          reviews: pending.map((c) => ({
            reviewId: c.reviewId,
            stepId: c.stepId,
            agentId: c.agentId,
            confidence: c.confidence,
            reason: c.reason,
            placeholder: c.placeholder,
          })),
          steps: snapshot.context.steps,
          startedAt: snapshot.context.startedAt,
          endedAt: at,
          durationMs: at - snapshot.context.startedAt,
        });
      }
    },
    complete: () => end(toRunResult<O>(workflow.id, actor.getSnapshot().output as WorkflowOutput)),
    // A crash of the workflow actor itself is a bug in agentcharts or in user code it runs synchronously.
    error: (error) => {
      const at = nowMs();
      end({
        status: 'failed',
        runId,
        workflowId: workflow.id,
        steps: [],
        startedAt: at,
        endedAt: at,
        durationMs: 0,
        reason: `the workflow actor crashed: ${error instanceof Error ? error.message : String(error)}`,
      });
    },
  });
  actor.start();
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });

  return Object.freeze({
    ...common,
    result,
    done,
    cancel: (reason?: string) => actor.send({ type: 'cancel', reason: reason ?? 'cancelled by the caller' }),
    snapshot: () => JSON.parse(JSON.stringify(actor.getPersistedSnapshot())),
    state: () => {
      const { version, state } = actor.getSnapshot().context;
      return { version, state };
    },
    actor,
  });
}

async function* emptyIterator(): AsyncIterableIterator<RunEvent> {}

function abortReason(signal: AbortSignal | undefined): string {
  const reason = signal?.reason;
  if (reason instanceof Error) return reason.message;
  return typeof reason === 'string' ? reason : 'aborted by the caller';
}
