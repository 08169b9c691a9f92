import type { Actor } from 'xstate';
import type { WorkflowMachine } from '../machines/workflow.js';
import type { AnyAgent } from './agent.js';
import type { LogEntry, StateLog } from './log/state-log.js';
import type { Run } from './run.js';
import type { RunObserver } from './run-observer.js';
import type { RunResult, RunTerminal } from './run-result.js';
import type { RunEvent } from './trace/events.js';
import type { Trace } from './trace/span.js';

const emptyTrace = (): Trace => ({ traceId: '', totalDurationMs: 0, agentCalls: 0, errors: 0, spans: [] });

/** A run that has ended ignores what is sent to it (XState would warn about a stopped actor). */
export function sendIfActive(
  actor: Actor<WorkflowMachine>,
  event: Parameters<Actor<WorkflowMachine>['send']>[0],
) {
  if (actor.getSnapshot().status === 'active') actor.send(event);
}

export interface HandleParts<O, A extends AnyAgent> {
  /** Null: the driver makes it when first asked for. */
  result: Promise<RunResult<O, A>> | null;
  done: Promise<RunTerminal<O>>;
  /** Null when the input was refused: nothing runs. */
  actor: Actor<WorkflowMachine> | null;
  driver: { halt(): void; result(): Promise<RunResult<O, A>> } | null;
}

const NO_STATE: Readonly<Record<string, unknown>> = Object.freeze({});

/** A run's handle: a class, so every run shares its methods instead of holding a closure for each. */
export class RunHandle<O, W extends string, A extends AnyAgent> implements Run<O, W, A> {
  readonly id: string;
  readonly workflowId: W;
  readonly done: Promise<RunTerminal<O>>;
  readonly actor: Actor<WorkflowMachine> | null;
  readonly #log: StateLog;
  readonly #observer: RunObserver | null;
  readonly #driver: HandleParts<O, A>['driver'];
  #result: Promise<RunResult<O, A>> | null;

  constructor(
    id: string,
    workflowId: W,
    log: StateLog,
    observer: RunObserver | null,
    parts: HandleParts<O, A>,
  ) {
    this.id = id;
    this.workflowId = workflowId;
    this.#result = parts.result;
    this.done = parts.done;
    this.actor = parts.actor;
    this.#log = log;
    this.#observer = observer;
    this.#driver = parts.driver;
  }

  get result(): Promise<RunResult<O, A>> {
    if (this.#result === null) this.#result = this.#driver!.result();
    return this.#result;
  }

  /** Stop without finishing in the store (see `haltRun`); a handle made elsewhere is left alone. */
  static halt(run: object): void {
    if (#driver in run) (run as RunHandle<unknown, string, AnyAgent>).#driver?.halt();
  }

  cancel(reason?: string): void {
    if (this.actor) sendIfActive(this.actor, { type: 'cancel', reason: reason ?? 'cancelled by the caller' });
  }
  subscribe(listener: (event: RunEvent) => void): () => void {
    return this.#observer?.events.subscribe(listener) ?? (() => {});
  }
  events(): AsyncIterableIterator<RunEvent> {
    return this.#observer?.events.events() ?? emptyIterator();
  }
  trace(): Trace {
    return this.#observer?.recorder.trace() ?? emptyTrace();
  }
  log(): readonly LogEntry[] {
    return this.#log.entries();
  }
  onLog(listener: (entry: LogEntry) => void): () => void {
    return this.#log.subscribe(listener);
  }
  snapshot(): unknown {
    return this.actor ? JSON.parse(JSON.stringify(this.actor.getPersistedSnapshot())) : null;
  }
  state(): { version: number; state: Readonly<Record<string, unknown>> } {
    if (!this.actor) return { version: 0, state: NO_STATE };
    const { version, state } = this.actor.getSnapshot().context;
    return { version, state };
  }
}

async function* emptyIterator(): AsyncIterableIterator<RunEvent> {}
