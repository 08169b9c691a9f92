import { type Actor, createActor, type InspectionEvent, type Observer } from 'xstate';
import { z } from 'zod';
import {
  type BlackboardContext,
  type BlackboardMachine,
  createBlackboardMachine,
  DEFAULT_JOURNAL_WINDOW,
} from '../machines/blackboard.js';
import type { WriteOutcome, WriteResult } from '../machines/blackboard-outcome.js';
import type { BlackboardPolicy } from '../machines/blackboard-write.js';
import type { Clock } from '../machines/clock.js';
import { cloneData, type DeepReadonly, deepFreeze } from '../machines/frozen.js';
import { type KeyPath, parseKeyPath } from '../machines/key-path.js';
import { REDUCER_NAMES, type ReducerFn, type ReducerName } from '../machines/reducers.js';
import { findDropped, forParsing, resolveChain, schemaType } from '../machines/schema-path.js';
import { describeError, safeText } from '../machines/untrusted.js';
import type { Change } from './log/diff.js';
import { diffValues } from './log/diff.js';
import { logInspector } from './log/inspect.js';
import { createStateLog, type LogEntry, type StateLog, settle } from './log/state-log.js';
import { fail, id, integer, parseOptions, zodSchema } from './options.js';

/** A reducer by name, or a pure function `(current, incoming) => next`. */
export type Reducer = ReducerName | ReducerFn;

export interface BlackboardOptions<S extends z.ZodObject = z.ZodObject> {
  /** The state's shape. Writes are validated against the part of it they change. */
  schema: S;
  /** The state at version 0. Default: what the schema makes of `{}` (its defaults). */
  initial?: z.input<S>;
  /**
   * Reducer per key path (dotted). Writes to these keys need no expected version: concurrent
   * writes merge in arrival order. Every other key needs the version the writer read.
   */
  reducers?: Readonly<Record<string, Reducer>>;
  /** The actor's id in the state log. Default `blackboard`. */
  id?: string;
  /** Stamps commits and log entries; e.g. xstate's SimulatedClock. Default: wall time. */
  clock?: Clock | { now(): number };
  /** The run's state log, to record the board beside the other actors. Default: a log of its own. */
  log?: StateLog;
  /** How many recent commits a conflict lists (at least). Default 256. */
  conflictWindow?: number;
  /** Another inspection observer (tracer, Stately inspector). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

export interface WriteRequest {
  key: KeyPath;
  value: unknown;
  agentId: string;
  /** The version the writer read. Required unless the key declares a reducer. */
  expectedVersion?: number;
}

/** What the log keeps of the board after each write event. */
export interface BoardSnapshot {
  value: 'open' | 'closed';
  status: 'active' | 'done' | 'error' | 'stopped';
  context: BlackboardContext;
  output?: { version: number; state: unknown };
}

export type BoardEntry = LogEntry<BoardSnapshot>;

/** One version of the state: frozen, shared with the versions around it where unchanged. */
export interface BoardView<T> {
  readonly version: number;
  readonly state: DeepReadonly<T>;
}

export interface Blackboard<T = Record<string, unknown>> {
  readonly id: string;
  /** The current version and state (frozen). */
  read(): BoardView<T>;
  /** Write one key. Returns the outcome: accepted with the new version, or why it was refused. */
  write(request: WriteRequest): WriteResult;
  /** The state as of a version, or undefined when there was no such version. */
  at(version: number): BoardView<T> | undefined;
  /** Every entry of this board in the log: each write event, accepted or not, with the snapshot after it. */
  history(): readonly BoardEntry[];
  /** What changed in the state between two versions. */
  diff(fromVersion: number, toVersion: number): Change[];
  /** Stop accepting writes; returns the final version. */
  close(): BoardView<T>;
  readonly log: StateLog;
  /** The blackboard actor, e.g. to `sendTo` it from a workflow or to inspect it. */
  readonly actor: Actor<BlackboardMachine>;
}

const isFunction = (v: unknown): boolean => typeof v === 'function';
const isObject = (v: unknown): boolean => typeof v === 'object' && v !== null;

const optionsSchema = z.strictObject({
  schema: zodSchema().refine((s) => schemaType(s) === 'object', { error: 'must be a zod object schema' }),
  initial: z.unknown().optional(),
  reducers: z
    .record(
      z.string(),
      z.custom<Reducer>((v) => isFunction(v) || REDUCER_NAMES.includes(v as ReducerName), {
        error: `must be one of ${REDUCER_NAMES.join(', ')} or a function`,
      }),
    )
    .optional(),
  id: id().default('blackboard'),
  clock: z
    .custom<Clock>((v) => isObject(v) && isFunction((v as { now?: unknown }).now), {
      error: 'must be a clock with now()',
    })
    .optional(),
  log: z
    .custom<StateLog>((v) => isObject(v) && isFunction((v as { append?: unknown }).append), {
      error: 'must be a state log from createStateLog()',
    })
    .optional(),
  conflictWindow: integer(1, 1_000_000).default(DEFAULT_JOURNAL_WINDOW),
  inspect: z
    .custom<BlackboardOptions['inspect']>((v) => isFunction(v) || isObject(v), {
      error: 'must be an inspection observer or function',
    })
    .optional(),
});

/** Which reducers make sense on which schema types (after optional/nullable/default). */
const FITS: Record<ReducerName, readonly string[]> = {
  append: ['array', 'tuple'],
  merge: ['object', 'record'],
  sum: ['number', 'int'],
  lastWriteWins: [],
};
const ANY_TYPE = new Set(['any', 'unknown', 'union', 'intersection', 'lazy', 'pipe', 'custom']);

export function buildPolicy(schema: z.ZodObject, reducers: Readonly<Record<string, Reducer>>, where: string) {
  // Null-prototype maps: a key named `toString` is a key, not an inherited member.
  const policy: { reducers: Record<string, ReducerName | 'custom'>; custom: Record<string, ReducerFn> } = {
    reducers: Object.create(null),
    custom: Object.create(null),
  };
  for (const raw of Object.keys(reducers)) {
    const field = `reducers.${raw}`;
    const reducer = reducers[raw]!;
    const parsed = parseKeyPath(raw);
    if (!parsed.ok) fail(where, field, reducer, `names an invalid key: ${parsed.message}`);
    const chain = resolveChain(schema, parsed.path);
    if (!chain.ok) fail(where, field, reducer, `names a key the schema does not have (${chain.message})`);
    const keySchema = chain.schemas[parsed.path.length];
    if (typeof reducer === 'function') {
      policy.reducers[parsed.key] = 'custom';
      policy.custom[parsed.key] = reducer;
      continue;
    }
    const type = keySchema ? schemaType(keySchema) : 'unknown';
    const fits = FITS[reducer];
    if (fits.length > 0 && !fits.includes(type) && !ANY_TYPE.has(type)) {
      fail(where, field, reducer, `cannot ${reducer} a ${type} key (it needs ${fits.join(' or ')})`);
    }
    policy.reducers[parsed.key] = reducer;
  }
  return policy;
}

export function initialState(
  schema: z.ZodObject,
  initial: unknown,
  where: string,
): Readonly<Record<string, unknown>> {
  const given = forParsing(schema, initial ?? {});
  const parsed = parseOptions(z.object({ initial: schema }), { initial: given }, where).initial;
  const dropped = findDropped(initial ?? {}, parsed, '');
  if (dropped !== undefined) fail(where, `initial.${dropped}`, initial, 'is not a key of the schema');
  const data = cloneData(parsed);
  if (!data.ok) {
    const problem =
      data.reason === 'forbiddenKey' ? `contains the forbidden key "${data.segment}"` : data.message;
    fail(where, `initial${data.path ? `.${data.path}` : ''}`, initial, `must be JSON data (${problem})`);
  }
  return deepFreeze(data.value as Record<string, unknown>);
}

const realTimers = (clock: { now(): number }): Clock => ({
  now: () => clock.now(),
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
});

/**
 * A blackboard: the shared state of a run, as an actor. Writes are events handled one at a time;
 * each gets its answer back at once (a result, never a throw). Reads are frozen.
 */
export function createBlackboard<S extends z.ZodObject>(
  options: BlackboardOptions<S>,
): Blackboard<z.output<S>> {
  const where = 'createBlackboard';
  const opts = parseOptions(optionsSchema, options, where);
  const schema = opts.schema as unknown as z.ZodObject;
  const { reducers, custom } = buildPolicy(schema, options.reducers ?? {}, where);
  const policy: BlackboardPolicy = { schema, reducers, custom };
  const initial = initialState(schema, options.initial, where);
  const boardId = opts.id;
  const clock = opts.clock;
  const log = opts.log ?? createStateLog(clock ? { clock } : {});
  if (log.current(boardId)) fail(where, 'id', boardId, 'must not be taken by another actor in the same log');

  const toLog = logInspector(log, {
    actorId: () => boardId,
    version: (snapshot) => (snapshot as unknown as { context: BlackboardContext }).context.version,
  });
  const extra = opts.inspect;
  const inspect = (event: InspectionEvent) => {
    toLog(event);
    if (typeof extra === 'function') extra(event);
    else extra?.next?.(event);
  };
  const actor = createActor(createBlackboardMachine(policy), {
    input: { initial, journalWindow: opts.conflictWindow },
    systemId: boardId,
    inspect,
    ...(clock ? { clock: 'setTimeout' in clock ? clock : realTimers(clock) } : {}),
  });

  // The machine emits every outcome; a write picks out its own by id. `send` returns only after
  // the mailbox is drained, so the answer is there by then, even if other events queued behind it.
  let expecting: string | null = null;
  let answer: WriteOutcome | undefined;
  actor.on('outcome', ({ outcome }) => {
    if (outcome.writeId !== null && outcome.writeId === expecting) answer = outcome;
  });
  actor.start();

  let writes = 0;
  let sending = false;
  const view = (version: number, state: unknown): BoardView<z.output<S>> =>
    Object.freeze({ version, state: state as DeepReadonly<z.output<S>> });

  const board: Blackboard<z.output<S>> = {
    id: boardId,
    log,
    actor,
    read() {
      const { version, state } = actor.getSnapshot().context;
      return view(version, deepFreeze(state));
    },
    write(request) {
      // Read the request once, guarded: a hostile getter or Proxy is a refused write, not a throw.
      let fields: WriteRequest;
      try {
        const { key, value, agentId, expectedVersion } = request;
        fields = { key, value, agentId, ...(expectedVersion === undefined ? {} : { expectedVersion }) };
      } catch (error) {
        const { name, message } = describeError(error);
        const reason = `the write request could not be read: ${name}: ${message}`;
        return deepFreeze({
          ok: false as const,
          reason: 'invalid' as const,
          writeId: null,
          agentId: '',
          key: '',
          message: reason,
          issues: [{ path: '', message: reason }],
        });
      }
      const agentId = safeText(fields.agentId);
      const key = parseKeyPath(fields.key).key;
      const refused = (reason: 'closed' | 'reentrant', message: string): WriteResult =>
        Object.freeze({ ok: false, reason, writeId: null, agentId, key, message });
      if (sending) {
        return refused(
          'reentrant',
          `write to "${key}" by ${agentId} came while another write was in progress; retry`,
        );
      }
      if (actor.getSnapshot().status !== 'active')
        return refused('closed', `the blackboard "${boardId}" is closed`);
      // Short and flat: the id is in the log's event and the outcome of every write.
      const writeId = String(++writes);
      sending = true;
      expecting = writeId;
      answer = undefined;
      try {
        actor.send({ type: 'write', writeId, ...fields });
      } finally {
        sending = false;
        expecting = null;
        // The log reads entries lazily; the written value is the caller's and may change after this.
        settle(log, boardId);
      }
      const outcome = answer as WriteOutcome | undefined;
      if (outcome) return outcome;
      if (actor.getSnapshot().status !== 'active')
        return refused('closed', `the blackboard "${boardId}" is closed`);
      throw new Error(`agentcharts: the blackboard gave no answer to write ${writeId}`);
    },
    at(version) {
      const entry = log.at(version, boardId) as BoardEntry | undefined;
      const context = entry?.state.context;
      return context ? view(context.version, context.state) : undefined;
    },
    history: () => log.history(boardId) as readonly BoardEntry[],
    diff(fromVersion, toVersion) {
      const from = board.at(fromVersion);
      const to = board.at(toVersion);
      if (!from || !to) {
        throw new RangeError(`blackboard "${boardId}" has no version ${from ? toVersion : fromVersion}`);
      }
      return diffValues(from.state, to.state);
    },
    close() {
      if (actor.getSnapshot().status === 'active') actor.send({ type: 'close' });
      return board.read();
    },
  };
  return board;
}
