import type { ValidationIssue } from './agent-result.js';
import type { Commit } from './journal.js';
import type { WriteOp } from './reducers.js';

/**
 * The answer to every write: a discriminated union, never a throw. `ok` tells accepted from
 * rejected; `reason` says why a write was rejected. A rejected write changed nothing.
 */

interface OutcomeBase {
  /** Echoes the write's id, so a sender can match its answer. */
  writeId: string | null;
  agentId: string;
  /** The written key path, dotted. */
  key: string;
}

export interface WriteAccepted extends OutcomeBase {
  ok: true;
  /** The version this write created. */
  version: number;
  op: WriteOp;
  /** When it was committed, on the board's clock. */
  at: number;
}

interface RejectedBase extends OutcomeBase {
  ok: false;
  /** One sentence for a log or an error message. */
  message: string;
}

export interface ConflictDetail {
  expectedVersion: number;
  currentVersion: number;
  /** Who wrote what after `expectedVersion`, oldest first. */
  since: readonly Commit[];
  /** Commits after `expectedVersion` not listed (older than the journal window). */
  omitted: number;
}

/** The writer's `expectedVersion` is not the current version: it worked from a stale read. */
export interface WriteConflict extends RejectedBase {
  reason: 'conflict';
  conflict: ConflictDetail;
}

/** The value (or the write itself) does not fit the state's schema. */
export interface WriteInvalid extends RejectedBase {
  reason: 'invalid';
  issues: readonly ValidationIssue[];
}

/** `__proto__`, `constructor` or `prototype` in the key path or inside the value. */
export interface WriteForbiddenKey extends RejectedBase {
  reason: 'forbiddenKey';
  segment: string;
  path: string;
}

/** A key the state's schema does not declare (in the key path or inside the value). */
export interface WriteUnknownKey extends RejectedBase {
  reason: 'unknownKey';
  path: string;
}

/** No `expectedVersion`, and the key declares no reducer that would make that safe. */
export interface WriteMissingVersion extends RejectedBase {
  reason: 'missingVersion';
  currentVersion: number;
}

/** The key's custom reducer threw. */
export interface WriteReducerFailed extends RejectedBase {
  reason: 'reducerFailed';
  error: { name: string; message: string };
}

export type WriteRejected =
  | WriteConflict
  | WriteInvalid
  | WriteForbiddenKey
  | WriteUnknownKey
  | WriteMissingVersion
  | WriteReducerFailed;

/** What the blackboard machine answers to a write event. */
export type WriteOutcome = WriteAccepted | WriteRejected;

/** The blackboard was closed: it accepts no more writes. */
export interface WriteClosed extends RejectedBase {
  reason: 'closed';
}

/**
 * `write` was called while the blackboard was still handling another write (from a listener that
 * runs inside it). The write was not sent; call again once the current one has returned.
 */
export interface WriteReentrant extends RejectedBase {
  reason: 'reentrant';
}

/** What a blackboard handle's `write` returns. */
export type WriteResult = WriteOutcome | WriteClosed | WriteReentrant;

export type RejectionReason = Exclude<WriteResult, WriteAccepted>['reason'];

export const isWriteAccepted = (r: WriteResult): r is WriteAccepted => r.ok === true;
export const isWriteRejected = (r: WriteResult): r is Exclude<WriteResult, WriteAccepted> => r.ok === false;
export const isWriteConflict = (r: WriteResult): r is WriteConflict =>
  r.ok === false && r.reason === 'conflict';

export function conflictMessage(agentId: string, key: string, detail: ConflictDetail): string {
  const { expectedVersion, currentVersion, since, omitted } = detail;
  const count = since.length + omitted;
  const shown = since
    .slice(-5)
    .map((c) => `v${c.version} ${c.key} by ${c.agentId}`)
    .join(', ');
  const more =
    since.length > 5 ? `${since.length - 5 + omitted} earlier, ` : omitted > 0 ? `${omitted} earlier, ` : '';
  return (
    `stale write to "${key}" by ${agentId}: expected version ${expectedVersion}, current is ${currentVersion}` +
    (count > 0 ? ` (${count} write${count === 1 ? '' : 's'} since: ${more}${shown})` : '')
  );
}
