import type { Actor, AnyActorRef, InspectionEvent } from 'xstate';
import { createActor } from 'xstate';
import type { Clock } from '../machines/clock.js';
import { cloneData, deepFreeze } from '../machines/frozen.js';
import type { WorkflowMachine } from '../machines/workflow.js';
import type { WorkflowOutput } from '../machines/workflow-context.js';
import { logInspector } from './log/inspect.js';
import type { LogEntry, StateLog } from './log/state-log.js';
import { createStateLog } from './log/state-log.js';
import { isEscalationSnapshot } from './review/records.js';
import type { RunResult, RunTerminal } from './run-result.js';
import { inputFailed, toRunResult } from './run-result.js';
import type { Workflow } from './workflow/define.js';

/** A handle on one run of a workflow. */
export interface Run<O = unknown> {
  readonly id: string;
  readonly workflowId: string;
  /** Settles when the run can go no further on its own. Never rejects for agent failures. */
  readonly result: Promise<RunResult<O>>;
  /** Settles with the terminal outcome only (after any human reviews). */
  readonly done: Promise<RunTerminal<O>>;
  /** Stop the run: the running agent's signal aborts, and the result is `cancelled`. */
  cancel(reason?: string): void;
  /** Every entry of the run's state log as it is appended. Returns the unsubscribe function. */
  subscribe(listener: (entry: LogEntry) => void): () => void;
  /** The run's immutable state log across all its actors: frozen snapshots, in order. */
  log(): readonly LogEntry[];
  /** The workflow actor's persisted snapshot (plain JSON), or null before the run started. */
  snapshot(): unknown;
  /** The shared state as last committed: `{ version, state }`, frozen. */
  state(): { version: number; state: Readonly<Record<string, unknown>> };
  /** The workflow actor, for inspection; null when the input was refused. */
  readonly actor: Actor<WorkflowMachine> | null;
}

export interface RunDeps {
  clock: Clock | undefined;
  machine: WorkflowMachine;
  /** Extra inspection observers (tracer, Stately inspector); errors in them never reach the run. */
  observers: Array<(event: InspectionEvent) => void>;
  onObserverError: (error: unknown) => void;
  onEnd: (runId: string) => void;
  /** Register an escalation actor (a step's human review) with the runtime's reviews. */
  track?: (ref: AnyActorRef) => void;
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
  const toLog = logInspector(log, {
    actorId: readable,
    // Machines only: promise actors' snapshots repeat what their parent's next event carries.
    include: (ref) => 'value' in (ref.getSnapshot() as object),
  });

  const parsed = workflow.inputSchema.safeParse(rawInput);
  const plain = parsed.success ? cloneData(parsed.data) : null;
  if (!parsed.success || !plain?.ok) {
    const issues = parsed.success
      ? [{ path: '(root)', message: `input is not JSON data: ${(plain as { message?: string }).message}` }]
      : parsed.error.issues.map((i) => ({
          path: i.path.map(String).join('.') || '(root)',
          message: i.message,
        }));
    const refused = Promise.resolve(
      inputFailed(runId, workflow.id, nowMs(), `input: ${issues[0]!.path}: ${issues[0]!.message}`, issues),
    );
    queueMicrotask(() => deps.onEnd(runId));
    return Object.freeze({
      id: runId,
      workflowId: workflow.id,
      result: refused,
      done: refused,
      cancel: () => {},
      subscribe: (listener: (entry: LogEntry) => void) => log.subscribe(listener),
      log: () => log.entries(),
      snapshot: () => null,
      state: () => ({ version: 0, state: Object.freeze({}) }),
      actor: null,
    });
  }

  const inspect = (event: InspectionEvent) => {
    toLog(event);
    for (const observer of deps.observers) {
      try {
        observer(event);
      } catch (error) {
        deps.onObserverError(error);
      }
    }
  };
  const actor = createActor(deps.machine, {
    id: workflow.id,
    input: { runId, input: deepFreeze(plain.value) },
    inspect,
    ...(deps.clock ? { clock: deps.clock } : {}),
  });

  let settle!: (result: RunTerminal<O>) => void;
  const done = new Promise<RunTerminal<O>>((resolve) => {
    settle = resolve;
  });
  // `result` settles first: with awaitingReview when a human is needed, else with the terminal result.
  let settleResult!: (result: RunResult<O>) => void;
  let resultSettled = false;
  const result = new Promise<RunResult<O>>((resolve) => {
    settleResult = (r) => {
      if (resultSettled) return;
      resultSettled = true;
      resolve(r);
    };
  });
  void done.then((r) => settleResult(r));
  const tracked = new WeakSet<AnyActorRef>();
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
    complete: () => {
      signal?.removeEventListener('abort', onAbort);
      settle(toRunResult<O>(workflow.id, actor.getSnapshot().output as WorkflowOutput));
      deps.onEnd(runId);
    },
    // A crash of the workflow actor itself is a bug in agentcharts or in user code it runs synchronously.
    error: (error) => {
      signal?.removeEventListener('abort', onAbort);
      const at = nowMs();
      settle({
        status: 'failed',
        runId,
        workflowId: workflow.id,
        steps: [],
        startedAt: at,
        endedAt: at,
        durationMs: 0,
        reason: `the workflow actor crashed: ${error instanceof Error ? error.message : String(error)}`,
      });
      deps.onEnd(runId);
    },
  });
  actor.start();
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });

  return Object.freeze({
    id: runId,
    workflowId: workflow.id,
    result,
    done,
    cancel: (reason?: string) => actor.send({ type: 'cancel', reason: reason ?? 'cancelled by the caller' }),
    subscribe: (listener: (entry: LogEntry) => void) => log.subscribe(listener),
    log: () => log.entries(),
    snapshot: () => JSON.parse(JSON.stringify(actor.getPersistedSnapshot())),
    state: () => {
      const { version, state } = actor.getSnapshot().context;
      return { version, state };
    },
    actor,
  });
}

function abortReason(signal: AbortSignal | undefined): string {
  const reason = signal?.reason;
  if (reason instanceof Error) return reason.message;
  return typeof reason === 'string' ? reason : 'aborted by the caller';
}
