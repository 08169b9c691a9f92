import type { Actor, AnyActorRef, InspectionEvent } from 'xstate';
import { createActor } from 'xstate';
import { toValidationIssues } from '../machines/agent-result.js';
import { setBeforeCall } from '../machines/before-call.js';
import { cloneData, deepFreeze } from '../machines/frozen.js';
import type { WorkflowMachine } from '../machines/workflow.js';
import type { WorkflowOutput } from '../machines/workflow-context.js';
import type { AnyAgent } from './agent.js';
import type { LogInspectorOptions } from './log/inspect.js';
import { recordSnapshot } from './log/inspect.js';
import type { StateLog } from './log/state-log.js';
import { createRunLog } from './log/state-log.js';
import { isEscalationSnapshot } from './review/records.js';
import type { RestoreFrom, Run, RunDeps } from './run.js';
import { abortReason } from './run-agent.js';
import { RunHandle, sendIfActive } from './run-handle.js';
import type { RunObserver } from './run-observer.js';
import { observeRun } from './run-observer.js';
import type { AwaitedReview, RunResult, RunTerminal } from './run-result.js';
import { awaitedReview, inputFailed, toRunResult } from './run-result.js';
import type { RunPersistence } from './run-store.js';
import { persistRun } from './run-store.js';
import { safeReport } from './trace/report.js';
import type { Workflow } from './workflow/define.js';

const readable = (ref: { id: string; _parent?: unknown }): string => {
  const parts: string[] = [];
  let current: { id: string; _parent?: unknown } | undefined = ref;
  while (current) {
    parts.unshift(current.id);
    current = current._parent as typeof current | undefined;
  }
  return parts.join('/');
};

/**
 * How the run's log reads inspection events. Machines only: other actors' snapshots (a prepare or
 * route service's promise) repeat what their parent's next event carries.
 */
const LOG_READING: LogInspectorOptions = {
  actorId: readable,
  include: (ref) => 'value' in (ref.getSnapshot() as object),
};

/**
 * One run's moving parts: its log, observer, actor, persistence and the promises its handle gives.
 * A class rather than closures in `startRun`: a process holds one per run in flight, and methods
 * on the prototype cost nothing per run.
 */
export class RunDriver<O, W extends string, A extends AnyAgent> {
  readonly handle: Run<O, W, A>;
  readonly #deps: RunDeps;
  readonly #workflowId: W;
  readonly #runId: string;
  readonly #signal: AbortSignal | undefined;
  readonly #log: StateLog;
  readonly #observer: RunObserver | null;
  #actor: Actor<WorkflowMachine> | null = null;
  #persistence: RunPersistence | null = null;
  #settle!: (result: RunTerminal<O>) => void;
  /** `result`'s value once known; its promise is made when the handle's `result` is first read. */
  #resultValue: RunResult<O, A> | undefined = undefined;
  #resultPromise: Promise<RunResult<O, A>> | null = null;
  #settleResult: ((result: RunResult<O, A>) => void) | null = null;
  #halted = false;
  /** Ended: later snapshots of the workflow (an error's, reported after it) change nothing. */
  #over = false;
  /** Sources already reported (one report per cause and run): made on the first report. */
  #reported: Set<string> | null = null;
  /** The reviews this run has handed to the runtime: made when the first one opens. */
  #tracked: WeakSet<AnyActorRef> | null = null;

  constructor(
    deps: RunDeps,
    workflow: Workflow,
    rawInput: unknown,
    runId: string,
    signal: AbortSignal | undefined,
    restore: RestoreFrom | undefined,
  ) {
    this.#deps = deps;
    this.#workflowId = workflow.id as W;
    this.#runId = runId;
    this.#signal = signal;
    // The log can fail on every entry (a hostile value the run keeps): one report per cause and run.
    this.#log = createRunLog(
      { ...(deps.clock ? { clock: deps.clock } : {}), ...(restore ? { entries: restore.entries } : {}) },
      this,
    );
    const observer =
      deps.exporters === null
        ? null
        : observeRun({
            runId,
            workflowId: workflow.id,
            ...(deps.traceId ? { traceId: deps.traceId } : {}),
            clock: deps.clock,
            exporters: deps.exporters,
            onError: deps.onObserverError,
          });
    this.#observer = observer;

    const parsed = checkInput(workflow, rawInput);
    const plain = parsed.success ? cloneData(parsed.data) : null;
    if (!parsed.success || !plain?.ok) {
      const issues = parsed.success
        ? [{ path: '(root)', message: `input is not JSON data: ${(plain as { message?: string }).message}` }]
        : toValidationIssues(parsed.error.issues);
      const failed = inputFailed(
        runId,
        workflow.id,
        this.#now(),
        `input: ${issues[0]!.path}: ${issues[0]!.message}`,
        issues,
      );
      observer?.finish(failed);
      queueMicrotask(() => deps.onEnd(runId));
      const refused = Promise.resolve(failed);
      this.handle = this.#handleOf(refused, refused);
      return;
    }

    const input = deepFreeze(plain.value);
    // The run's breaker decisions are taken while the actor is created (its first step is admitted
    // then), so the tracer must be listening before.
    deps.onObserver?.(runId, observer);
    const actor = createActor(deps.machine, {
      id: workflow.id,
      input: { runId, input },
      // Bound, not an arrow: an arrow would keep this constructor's whole scope for the run's life.
      inspect: this.#inspect.bind(this),
      ...(deps.clock ? { clock: deps.clock } : {}),
      ...(restore?.snapshot ? { snapshot: restore.snapshot as never } : {}),
    });
    this.#actor = actor;
    const persistence = deps.store
      ? persistRun({
          store: deps.store,
          runId,
          workflowId: workflow.id,
          input,
          startedAt: this.#now(),
          log: this.#log,
          actor: () => actor,
          now: () => this.#now(),
          onError: deps.onObserverError,
          resumed: restore !== undefined,
          onRefused: (reason) => sendIfActive(actor, { type: 'store.refused', reason }),
        })
      : null;
    this.#persistence = persistence;
    const beforeCall = deps.beforeCall;
    if (beforeCall) setBeforeCall(actor.system, () => beforeCall(runId));

    const done = new Promise<RunTerminal<O>>((resolve) => {
      this.#settle = resolve;
    });
    // The driver's only observer method is `error`: XState binds each one per run, and the
    // workflow's snapshots and its end come through the inspection stream (`#inspect`).
    actor.subscribe(this);
    // With a store, the run starts once the store has it: a crash before that loses nothing started.
    if (persistence) void persistence.created.then(() => this.#begin(restore));
    else this.#begin(restore);
    this.handle = this.#handleOf(null, done);
  }

  /**
   * The handle's `result`: settles first (awaitingReview when a human is needed, else the terminal
   * result). Made when first asked for: most callers await `done`, and a run in flight then holds
   * one promise, not two.
   */
  result(): Promise<RunResult<O, A>> {
    if (this.#resultPromise === null) {
      const known = this.#resultValue;
      this.#resultPromise =
        known !== undefined
          ? Promise.resolve(known)
          : new Promise<RunResult<O, A>>((resolve) => {
              this.#settleResult = resolve;
            });
    }
    return this.#resultPromise;
  }

  #handleOf(result: Promise<RunResult<O, A>> | null, done: Promise<RunTerminal<O>>): Run<O, W, A> {
    return Object.freeze(
      new RunHandle<O, W, A>(this.#runId, this.#workflowId, this.#log, this.#observer, {
        result,
        done,
        actor: this.#actor,
        driver: this.#actor ? this : null,
      }),
    );
  }

  #now(): number {
    return this.#deps.clock?.now() ?? Date.now();
  }

  // The log's reporter (see createRunLog).
  unreadable(error: unknown): void {
    this.#report(error, 'the state log (a value that cannot be read)');
  }
  listenerError(error: unknown): void {
    this.#report(error, 'a state log listener (run.onLog)');
  }

  /** The log inspection's reporter (see recordSnapshot). */
  logError(error: unknown): void {
    this.#report(error, 'the state log');
  }

  #report(error: unknown, source: string): void {
    this.#reported ??= new Set();
    if (this.#reported.has(source)) return;
    this.#reported.add(source);
    safeReport(this.#deps.onObserverError, error, source);
  }

  /**
   * The actor system's one inspection observer: the state log, the tracer, then the runtime's
   * other observers (Stately inspector, the user's own), each contained: a throw is reported under
   * its name and the others, and the run, go on.
   */
  #inspect(event: InspectionEvent): void {
    if (event.type === '@xstate.snapshot') {
      try {
        recordSnapshot(this.#log, event, LOG_READING, this);
      } catch (error) {
        this.#report(error, 'inspection observer "log"');
      }
    }
    const observer = this.#observer;
    if (observer) {
      try {
        observer.inspect(event);
      } catch (error) {
        safeReport(this.#deps.onObserverError, error, 'inspection observer "trace"');
      }
    }
    const others = this.#deps.inspectors;
    for (let i = 0; i < others.length; i++) {
      const { source, next } = others[i]!;
      try {
        next(event);
      } catch (error) {
        safeReport(this.#deps.onObserverError, error, source);
      }
    }
    // The workflow's own snapshots, once everyone above has seen them: its end is the run's end.
    if (event.type !== '@xstate.snapshot' || event.actorRef !== this.#actor || this.#over) return;
    const snapshot = event.snapshot as ReturnType<Actor<WorkflowMachine>['getSnapshot']>;
    try {
      if (snapshot.status === 'active' || snapshot.status === 'done') this.#onSnapshot(snapshot);
      if (snapshot.status === 'done' || snapshot.status === 'stopped') this.#onDone();
    } catch (error) {
      this.#report(error, 'the run driver');
    }
  }

  #begin(restore: RestoreFrom | undefined): void {
    const actor = this.#actor!;
    actor.start();
    if (restore?.snapshot) {
      // XState does not restore pending timers: the workflow re-arms its own and its children's.
      sendIfActive(actor, { type: 'restore' });
      this.#onSnapshot(actor.getSnapshot());
    }
    const signal = this.#signal;
    if (signal?.aborted) this.handleEvent();
    else signal?.addEventListener('abort', this, { once: true });
  }

  /** The caller's signal aborted (an EventListener object: no closure per run). */
  handleEvent(): void {
    sendIfActive(this.#actor!, { type: 'cancel', reason: abortReason(this.#signal) });
  }

  /** Stop without finishing in the store (the runtime is stopping; resume() brings it back). */
  halt(): void {
    this.#halted = true;
    if (this.#actor)
      sendIfActive(this.#actor, {
        type: 'cancel',
        reason: 'the runtime stopped; the run is kept in the store to resume',
      });
  }

  #end(terminal: RunTerminal<O>): void {
    this.#over = true;
    const deps = this.#deps;
    this.#signal?.removeEventListener('abort', this);
    // A halted run (the runtime stopped) is not finished: the store keeps it to resume.
    // A microtask later: after every store write this last snapshot causes.
    const persistence = this.#persistence;
    if (!this.#halted && persistence) queueMicrotask(() => persistence.finish(terminal));
    this.#observer?.finish(terminal, this.#actor!.getSnapshot().context);
    deps.onObserver?.(this.#runId, null);
    this.#settle(terminal);
    this.#settleOnce(terminal);
    deps.onEnd(this.#runId);
  }

  #settleOnce(result: RunResult<O, A>): void {
    if (this.#resultValue !== undefined) return;
    this.#resultValue = result;
    this.#settleResult?.(result);
    this.#settleResult = null;
  }

  /** Each snapshot of the workflow actor, active or done: reviews it waits for, and its checkpoints. */
  #onSnapshot(snapshot: ReturnType<Actor<WorkflowMachine>['getSnapshot']>): void {
    const pending = [];
    for (const child of Object.values(snapshot.children) as AnyActorRef[]) {
      if (!child) continue;
      const childSnapshot = child.getSnapshot();
      if (!isEscalationSnapshot(childSnapshot) || childSnapshot.status !== 'active') continue;
      this.#tracked ??= new WeakSet();
      if (!this.#tracked.has(child)) {
        this.#tracked.add(child);
        this.#deps.track?.(child);
        // The hook's success changes only the review's own state: checkpoint it, so a restart does
        // not notify again.
        let told = childSnapshot.context.notifiedAt !== null;
        child.subscribe((next: unknown) => {
          if (told || !isEscalationSnapshot(next) || next.context.notifiedAt === null) return;
          told = true;
          this.#onSnapshot(this.#actor!.getSnapshot());
        });
      }
      pending.push(childSnapshot.context);
    }
    if (pending.length > 0 && this.#resultValue === undefined) {
      const at = this.#now();
      this.#settleOnce({
        status: 'awaitingReview',
        runId: this.#runId,
        workflowId: this.#workflowId,
        output: pending[0]!.placeholder,
        // Typed by the workflow's agents: each review is of one of them (agentId says which).
        reviews: pending.map(awaitedReview) as AwaitedReview<A>[],
        steps: snapshot.context.steps,
        startedAt: snapshot.context.startedAt,
        endedAt: at,
        durationMs: at - snapshot.context.startedAt,
      });
    }
    if (snapshot.status === 'active' && this.#persistence) {
      const notified =
        pending.length === 0
          ? ''
          : pending.flatMap((c) => (c.notifiedAt === null ? [] : [c.reviewId])).join(' ');
      this.#persistence.observe(snapshot.context, pending.length > 0, notified);
    }
  }

  #onDone(): void {
    this.#end(toRunResult<O>(this.#workflowId, this.#actor!.getSnapshot().output as WorkflowOutput));
  }

  // The workflow actor's observer. A crash of the workflow actor itself is a bug in agentcharts or in
  // user code it runs synchronously.
  error(error: unknown): void {
    // XState stops no children when an actor crashes: the run's agents would go on calling their
    // models, for nothing. Stopped, each ends its attempt (its signal aborts).
    const children = this.#actor?.getSnapshot().children ?? {};
    for (const child of Object.values(children) as Array<{ _stop?: () => void } | undefined>) {
      try {
        child?._stop?.();
      } catch (stopError) {
        this.#report(stopError, 'the run driver (stopping a crashed run’s actors)');
      }
    }
    const at = this.#now();
    this.#end({
      status: 'failed',
      runId: this.#runId,
      workflowId: this.#workflowId,
      steps: [],
      startedAt: at,
      endedAt: at,
      durationMs: 0,
      reason: `the workflow actor crashed: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
}

type InputCheck =
  | { success: true; data: unknown }
  | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } };

/** The input schema, checked synchronously; a schema that cannot be (async refinements) is a failed input. */
function checkInput(workflow: Workflow, input: unknown): InputCheck {
  try {
    return workflow.inputSchema.safeParse(input) as InputCheck;
  } catch (error) {
    const message = `the input schema could not be checked synchronously (${error instanceof Error ? error.message : String(error)})`;
    return { success: false, error: { issues: [{ path: [], message }] } };
  }
}
