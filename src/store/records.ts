import { deepFreeze } from '../../machines/frozen.js';
import type { LogEntry } from '../log/state-log.js';
import type { Bases, PatchOp } from './codec.js';
import { applyPatch, emptyBases } from './codec.js';
import { prefix, StoreError } from './errors.js';
import { KeptEntries } from './kept-entries.js';
import { fillShared, holdsRefs, markRefs, resolveShared, withOwnState } from './shared-ref.js';
import type { ActiveStatus, RunMeta, StoredRun, StoredSnapshot, TerminalStatus } from './store.js';
import { isActiveStatus, isTerminalStatus, STORE_FORMAT } from './store.js';
import { resolveStrings } from './strings.js';

/**
 * The stored format, shared by every store: one record per line (or per key), each
 *
 *   {"v":1,"sum":"<fnv-1a 32 of BODY, 8 hex>","rec":BODY}
 *
 * The version lets a newer agentcharts refuse data it cannot read instead of misreading it; the
 * checksum catches a damaged or hand-edited record (it is not a signature: anyone can recompute it).
 * A run is a sequence of records numbered from 1 (`n`): `meta`, then `commit`s, then maybe `finished`.
 * The number and the run id inside each record catch dropped, reordered or misplaced records.
 *
 * Format 2 stores what changed (codec.ts): entries as patches on their actor's previous state (`d`),
 * the snapshot as a patch on the previous one (`sd`), long strings once per run. Format 3 adds the
 * shared state once per record (shared-ref.ts) and long lists kept shared when read back. Records
 * of formats 1 (every entry and snapshot whole) and 2 are still read.
 */

/** Format versions this agentcharts reads. */
const READABLE_FORMATS: readonly number[] = [1, 2, STORE_FORMAT];

export type RunRecord =
  | { t: 'meta'; n: 1; runId: string; workflowId: string; input: unknown; startedAt: number }
  | {
      t: 'commit';
      n: number;
      runId: string;
      at: number;
      entries?: readonly LogEntry[];
      snapshot?: unknown;
      actors?: Readonly<Record<string, unknown>>;
      status?: ActiveStatus;
    }
  | {
      t: 'finished';
      n: number;
      runId: string;
      at: number;
      status: TerminalStatus;
      result: unknown;
      entries?: readonly LogEntry[];
    };

export interface BreakerRecord {
  t: 'breaker';
  key: string;
  at: number;
  snapshot: unknown;
}

/** FNV-1a, 32 bits, over UTF-16 code units: cheap, and enough to notice a changed byte. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');

/** One line of the stored format (without the newline). Throws a TypeError for non-JSON data. */
export function encodeRecord(record: RunRecord | BreakerRecord): string {
  return frame(JSON.stringify(record));
}

/** A record's JSON body framed with the format version and its checksum. */
export const frame = (body: string): string =>
  `{"v":${STORE_FORMAT},"sum":"${hex8(fnv1a32(body))}","rec":${body}}`;

export type Decoded =
  | { ok: true; record: Record<string, unknown> }
  | { ok: false; code: 'corrupt' | 'wrongVersion'; reason: string };

const LINE = /^\{"v":(\d+),"sum":"([0-9a-f]{8})","rec":([\s\S]*)\}$/;

/**
 * Parse and verify one line; the record is frozen. With `bases` (reading a run in order), interned
 * strings of format 2 are resolved against the run's earlier records.
 */
export function decodeRecord(line: string, bases?: Bases): Decoded {
  const match = LINE.exec(line);
  if (!match) {
    // Not our layout: maybe another version's, which deserves its own message.
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return { ok: false, code: 'corrupt', reason: 'not a JSON record' };
    }
    const v = (parsed as { v?: unknown } | null)?.v;
    if (typeof v === 'number' && !READABLE_FORMATS.includes(v)) return wrongVersion(v);
    return { ok: false, code: 'corrupt', reason: 'not a record of the agentcharts store format' };
  }
  const version = Number(match[1]);
  if (!READABLE_FORMATS.includes(version)) return wrongVersion(version);
  const body = match[3]!;
  if (hex8(fnv1a32(body)) !== match[2]) {
    return {
      ok: false,
      code: 'corrupt',
      reason: 'checksum mismatch (the record was changed after it was written)',
    };
  }
  let record: unknown;
  const found = { shared: false };
  try {
    record =
      version >= 2 && bases ? JSON.parse(body, resolveStrings(bases, version, found)) : JSON.parse(body);
  } catch (error) {
    const why =
      error instanceof SyntaxError ? 'the record body is not JSON' : String((error as Error).message);
    return { ok: false, code: 'corrupt', reason: why };
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    return { ok: false, code: 'corrupt', reason: 'the record body is not an object' };
  }
  const frozen = deepFreeze(record as Record<string, unknown>);
  if (found.shared) markRefs(frozen);
  return { ok: true, record: frozen };
}

const wrongVersion = (v: number): Decoded => ({
  ok: false,
  code: 'wrongVersion',
  reason:
    `written in store format version ${v}; this agentcharts reads versions ${READABLE_FORMATS.slice(0, -1).join(', ')} and ${READABLE_FORMATS.at(-1)} ` +
    '(the stored format changed: read it with the agentcharts that wrote it)',
});

/** Where a run stands: what the next write must continue from, and (when read) its content. */
export interface RunState {
  readonly runId: string;
  /** Number of the last record; 0 before `meta`. */
  n: number;
  /** `seq` of the last log entry; 0 before any. */
  lastSeq: number;
  meta: RunMeta | null;
  snapshot: StoredSnapshot | null;
  actors: Record<string, unknown>;
  entries: LogEntry[];
  result: unknown;
  /** What the run's next record is encoded against or decoded with (format 2). */
  bases: Bases;
  /** The log entries read, their earlier states kept compact. */
  kept: KeptEntries;
}

export const emptyRunState = (runId: string): RunState => ({
  runId,
  n: 0,
  lastSeq: 0,
  meta: null,
  snapshot: null,
  actors: {},
  entries: [],
  result: undefined,
  bases: emptyBases(),
  kept: new KeptEntries(),
});

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why these log entries cannot follow seq `lastSeq`, or undefined when they can. */
export function checkEntries(entries: unknown, lastSeq: number): string | undefined {
  if (entries === undefined) return undefined;
  if (!Array.isArray(entries)) return 'entries is not a list';
  let seq = lastSeq;
  for (const [i, e] of entries.entries()) {
    if (!isObject(e)) return `entry ${i} is not an object`;
    if (!Number.isInteger(e.seq) || (e.seq as number) <= seq) {
      return `log entry seq ${String(e.seq)} does not follow seq ${seq} (entries must go on in order)`;
    }
    if (typeof e.actorId !== 'string' || e.actorId.length === 0) return `log entry ${e.seq} has no actorId`;
    if (!Number.isInteger(e.version) || (e.version as number) < 0)
      return `log entry ${e.seq} has a bad version`;
    if (!isFiniteNumber(e.at)) return `log entry ${e.seq} has a bad time`;
    if (e.agentId !== undefined && typeof e.agentId !== 'string')
      return `log entry ${e.seq} has a bad agentId`;
    seq = e.seq as number;
  }
  return undefined;
}

/** Why a record with this type, number and run cannot come next in `state`'s run, or undefined. */
export function checkPlace(state: RunState, t: unknown, n: unknown, runId: unknown): string | undefined {
  if (runId !== state.runId) {
    return `the record belongs to run ${JSON.stringify(runId)} (was the data copied or renamed?)`;
  }
  if (state.n > 0 && t === 'meta') return 'the run exists already';
  if (n !== state.n + 1) {
    return `record number ${String(n)} where ${state.n + 1} was expected (a record is missing or out of order)`;
  }
  if (state.meta && isTerminalStatus(state.meta.status)) return 'the run is already finished';
  if (state.n === 0 && t !== 'meta') return 'the first record must be the meta record';
  return undefined;
}

/** Why a record's own fields are wrong (whatever comes before it), or undefined. */
export function checkFields(record: Record<string, unknown>): string | undefined {
  switch (record.t) {
    case 'meta':
      if (typeof record.workflowId !== 'string' || record.workflowId.length === 0)
        return 'workflowId must be a non-empty string';
      if (!isFiniteNumber(record.startedAt)) return 'startedAt must be a finite number';
      return undefined;
    case 'commit':
      if (!isFiniteNumber(record.at)) return 'at must be a finite number';
      if (record.status !== undefined && !isActiveStatus(record.status))
        return `status ${JSON.stringify(record.status)} is not running or awaitingReview`;
      if (record.actors !== undefined && !isObject(record.actors)) return 'actors must be an object';
      return undefined;
    case 'finished':
      if (!isFiniteNumber(record.at)) return 'at must be a finite number';
      if (!isTerminalStatus(record.status))
        return `status ${JSON.stringify(record.status)} is not a terminal status`;
      return undefined;
    default:
      return `unknown record type ${JSON.stringify(record.t)}`;
  }
}

/** Why `record` cannot come next in `state`'s run, or undefined when it can. */
export function checkRecord(state: RunState, record: Record<string, unknown>): string | undefined {
  return (
    checkPlace(state, record.t, record.n, record.runId) ??
    checkFields(record) ??
    checkEntries(record.entries, state.lastSeq)
  );
}

/** A stored entry made whole: its state patch (`d`) applied to its actor's previous state. */
function materialise(state: RunState, stored: LogEntry & { d?: readonly PatchOp[] }): LogEntry {
  const { bases } = state;
  let full: unknown;
  let rest: Omit<LogEntry, 'state'>;
  if (stored.d !== undefined) {
    const base = bases.actors.get(stored.actorId);
    if (base === undefined || !Array.isArray(stored.d)) {
      throw new TypeError(`log entry ${stored.seq} is a change with no earlier state of "${stored.actorId}"`);
    }
    const { d, ...others } = stored;
    full = applyPatch(base, d);
    rest = others;
  } else if (!('state' in (stored as object))) {
    throw new TypeError(`log entry ${(stored as LogEntry).seq} has no state`);
  } else {
    const { state: whole, ...others } = stored;
    full = whole;
    rest = others;
  }
  bases.actors.set(stored.actorId, full);
  return state.kept.entry(rest, full);
}

/** Apply a checked record. Throws a TypeError when a change cannot be applied (a corrupt record). */
export function applyRecord(state: RunState, held: Record<string, unknown>): void {
  // References to the shared state are to the snapshot's (shared-ref.ts): the snapshot first.
  const refs = holdsRefs(held);
  let snapshot: unknown;
  if (held.sd !== undefined) {
    if (state.bases.snapshot === undefined || !Array.isArray(held.sd)) {
      throw new TypeError('a snapshot change with no earlier snapshot');
    }
    snapshot = applyPatch(state.bases.snapshot, held.sd as PatchOp[], refs ? fillShared : undefined);
  } else snapshot = refs && held.snapshot !== undefined ? withOwnState(held.snapshot) : held.snapshot;
  const record = refs ? resolveShared(held, snapshot ?? state.bases.snapshot) : held;
  const entries = record.entries as LogEntry[] | undefined;
  // Whole first: a record that cannot be applied leaves the state as it was.
  const whole = entries?.map((e) => materialise(state, e));
  state.n = record.n as number;
  if (whole && whole.length > 0) {
    state.lastSeq = whole[whole.length - 1]!.seq;
    for (const e of whole) state.entries.push(e);
  }
  if (record.t === 'meta') {
    const { runId, workflowId, input, startedAt } = record as RunRecord & { t: 'meta' };
    state.meta = { runId, workflowId, input, startedAt, status: 'running', updatedAt: startedAt };
    return;
  }
  const at = record.at as number;
  const meta = { ...state.meta!, updatedAt: at };
  if (record.t === 'commit') {
    if (record.status !== undefined) meta.status = record.status as ActiveStatus;
    if (snapshot !== undefined) {
      state.snapshot = { value: snapshot, seq: state.lastSeq, at };
      state.bases.snapshot = snapshot;
    }
    if (record.actors) {
      for (const [key, value] of Object.entries(record.actors)) {
        if (value === null) delete state.actors[key];
        else state.actors[key] = value;
      }
    }
  } else {
    meta.status = record.status as TerminalStatus;
    meta.endedAt = at;
    state.result = record.result;
  }
  state.meta = meta;
}

/** Where a record is, for messages: a file and line, or a database and record number. */
export type Locate = (line: number) => string;

/**
 * Reads a run record by record (a stream: no run is ever held as one string). The first bad record
 * stops the read with a StoreError naming the run and the record: a damaged run is never half-loaded.
 */
export interface RunReader {
  /** The next line (1-based numbers follow the calls). Throws StoreError for a bad record. */
  line(text: string): void;
  /** All lines read: the run, or StoreError `notFound` when it has no records. */
  end(torn: boolean): RunState;
}

export function readRun(runId: string, locate: Locate): RunReader {
  const state = emptyRunState(runId);
  let count = 0;
  const refuse = (code: 'corrupt' | 'wrongVersion', problem: string): never => {
    const location = locate(count);
    const what = code === 'corrupt' ? 'corrupt record' : 'record of another format version';
    throw new StoreError(code, runId, `${prefix(runId)}${what} at ${location}: ${problem}`, {
      location,
      line: count,
    });
  };
  return {
    line(text) {
      count++;
      const decoded = decodeRecord(text, state.bases);
      if (!decoded.ok) refuse(decoded.code, decoded.reason);
      const record = (decoded as { record: Record<string, unknown> }).record;
      const problem = checkRecord(state, record);
      if (problem !== undefined) refuse('corrupt', problem);
      try {
        applyRecord(state, record);
      } catch (error) {
        refuse('corrupt', error instanceof Error ? error.message : String(error));
      }
    },
    end(torn) {
      if (!state.meta) {
        const why = torn ? 'its first write was cut off by a crash' : 'no records';
        throw new StoreError('notFound', runId, `${prefix(runId)}not found (${why})`, {
          location: locate(1),
        });
      }
      return state;
    },
  };
}

/** Read a run from its stored lines (all in hand): see `readRun`. */
export function foldState(runId: string, lines: readonly string[], torn: boolean, locate: Locate): RunState {
  const reader = readRun(runId, locate);
  for (const line of lines) reader.line(line);
  return reader.end(torn);
}

export function toStoredRun(state: RunState, torn: boolean): StoredRun {
  return Object.freeze({
    meta: Object.freeze({ ...state.meta! }),
    snapshot: state.snapshot ? Object.freeze({ ...state.snapshot }) : null,
    actors: Object.freeze({ ...state.actors }),
    entries: Object.freeze(state.entries.slice()),
    result: state.result,
    tornTail: torn,
  });
}

/** A breaker record from a line; a string says why it is not one. */
export function decodeBreaker(
  line: string,
): { code: 'corrupt' | 'wrongVersion'; reason: string } | BreakerRecord {
  const decoded = decodeRecord(line);
  if (!decoded.ok) return { code: decoded.code, reason: decoded.reason };
  const r = decoded.record;
  if (r.t !== 'breaker' || typeof r.key !== 'string' || !isFiniteNumber(r.at) || !('snapshot' in r)) {
    return { code: 'corrupt', reason: 'not a breaker record' };
  }
  return r as unknown as BreakerRecord;
}
