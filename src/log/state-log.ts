import { z } from 'zod';
import { fn, parseOptions } from '../options.js';
import type { Change } from './diff.js';
import type { LogReporter } from './recording-log.js';
import { RecordingLog } from './recording-log.js';

/**
 * The state log of a run: every transition of every actor (agents, breakers, escalations, the
 * blackboard), in the order it happened, each with the actor's own snapshot, frozen. Append-only;
 * entries are never changed or removed. The tracer, the store and the run handle read it.
 *
 * Pay for what you read: `append` keeps references to the event and state it is given, and the
 * frozen projection of an entry is made when the entry is first read (or handed to a listener, or
 * once an actor has a few entries waiting, which bounds what the references keep alive). This relies
 * on what is appended never being changed in place afterwards: XState's contract for snapshots,
 * their context and events (see freeze.ts). An entry read twice is the same frozen object while it
 * is held. Earlier states of an actor are kept compact (see compact.ts) and rebuilt when read.
 */

export interface LogEntry<S = unknown> {
  /** Position in this log, from 1, across all actors. */
  readonly seq: number;
  /** The actor the entry belongs to (its system id, or a name given by whoever appends). */
  readonly actorId: string;
  /** The actor's version: never decreases per actor; repeats when a transition changed nothing versioned. */
  readonly version: number;
  /** Time on the run's clock. */
  readonly at: number;
  /** The agent that caused the transition, when known (e.g. the writer of a blackboard write). */
  readonly agentId?: string;
  /** The event that caused the transition, frozen. */
  readonly event: unknown;
  /** The actor's snapshot after the transition, frozen. */
  readonly state: S;
}

export interface AppendInput {
  actorId: string;
  agentId?: string;
  event: unknown;
  state: unknown;
  /** Default: the actor's previous version + 1 (0 for its first entry). */
  version?: number;
  /** Default: the log's clock. */
  at?: number;
}

export type LogListener = (entry: LogEntry) => void;

export interface StateLog {
  /** Append one entry; `event` and `state` are frozen (frozen subtrees are kept, not copied). */
  append(input: AppendInput): LogEntry;
  /** Number of entries. */
  readonly size: number;
  /** All entries in order (a frozen copy of the list). */
  entries(): readonly LogEntry[];
  /** One actor's entries in order; all entries when `actorId` is omitted. */
  history(actorId?: string): readonly LogEntry[];
  /** The last entry (of one actor). */
  current(actorId?: string): LogEntry | undefined;
  /** The first entry of an actor with this version. `actorId` may be omitted when the log holds one actor. */
  at(version: number, actorId?: string): LogEntry | undefined;
  /** What changed in an actor's state from one version to another (see `diffValues`). */
  diff(fromVersion: number, toVersion: number, actorId?: string): Change[];
  /** The actors that have entries, in order of their first entry. */
  actors(): string[];
  /** Called after each append. A listener that throws does not affect the log or other listeners. */
  subscribe(listener: LogListener): () => void;
}

export interface StateLogOptions {
  /** Stamps entries appended without `at`. Default: wall time. */
  clock?: { now(): number };
  /** Called when a listener throws. Default: console.error. */
  onListenerError?: (error: unknown, entry: LogEntry) => void;
  /** Entries to start from, e.g. a restored run's stored log; new entries continue their `seq`. */
  entries?: readonly LogEntry[];
  /**
   * Called when part of an appended value cannot be read (a getter or Proxy that throws); the part is
   * logged as `'[Unreadable]'` and the entry is kept. Default: ignored.
   */
  onUnreadable?: (error: unknown) => void;
}

const optionsSchema = z.strictObject({
  clock: z
    .custom<{ now(): number }>((v) => typeof (v as { now?: unknown } | null)?.now === 'function', {
      error: 'must be an object with a now() method',
    })
    .optional(),
  onListenerError: fn<(error: unknown, entry: LogEntry) => void>().optional(),
  entries: z.array(z.custom<LogEntry>((v) => typeof v === 'object' && v !== null)).optional(),
  onUnreadable: fn<(error: unknown) => void>().optional(),
});

export function createStateLog(options: StateLogOptions = {}): StateLog {
  return new RecordingLog(parseOptions(optionsSchema, options, 'createStateLog'));
}

/**
 * The log of a run, from options the runtime built itself: no parse (it runs for every run), and
 * reports go to the run's own reporter, with no closure made until something is reported.
 */
export const createRunLog = (
  options: Pick<StateLogOptions, 'clock' | 'entries'>,
  reporter: LogReporter,
): StateLog => new RecordingLog(options, reporter);

/**
 * Append without reading the entry back: for a log made by `createStateLog`, the entry is projected
 * only when someone reads it (see above). Any other `StateLog` gets a plain `append`.
 */
export function record(log: StateLog, input: AppendInput): void {
  if (log instanceof RecordingLog) log.add(input);
  else {
    // Another implementation gets only the fields that are set, as from any other caller.
    const { at, version, agentId, ...rest } = input;
    log.append({
      ...rest,
      ...(at === undefined ? {} : { at }),
      ...(version === undefined ? {} : { version }),
      ...(typeof agentId === 'string' ? { agentId } : {}),
    });
  }
}

/**
 * Project an actor's waiting entries now, without building them: for values their owner may still
 * change (a caller's written value), which the log must read as they were.
 */
export function settle(log: StateLog, actorId: string): void {
  if (log instanceof RecordingLog) log.settle(actorId);
}
