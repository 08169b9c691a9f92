import type { AnyActorRef } from 'xstate';
import type { z } from 'zod';
import type { WriteAccepted, WriteOutcome, WriteRejected } from './blackboard-outcome.js';
import { conflictMessage } from './blackboard-outcome.js';
import { cloneData, deepFreeze } from './frozen.js';
import type { Journal } from './journal.js';
import { commitsSince, pushCommit } from './journal.js';
import type { KeyPath } from './key-path.js';
import { getIn, parseKeyPath, peekIn, setIn } from './key-path.js';
import type { ReducerFn, ReducerName, WriteOp } from './reducers.js';
import { reduce } from './reducers.js';
import { hasChecks, parseAt, resolveChain } from './schema-path.js';
import { describeError, safeText } from './untrusted.js';

/** The code side of a blackboard: its schema and custom reducers. Kept out of context. */
export interface BlackboardPolicy {
  /** The state's shape, an object schema; null for a free-form board (any JSON under any key). */
  schema: z.ZodType | null;
  /** Reducer per dotted key; a key not listed is `set`, which needs an expected version. */
  reducers: Readonly<Record<string, ReducerName | 'custom'>>;
  /** The functions of the keys whose reducer is `custom`. */
  custom: Readonly<Record<string, ReducerFn>>;
}

export const FREE_FORM: BlackboardPolicy = Object.freeze({ schema: null, reducers: {}, custom: {} });

export interface WriteEvent {
  type: 'write';
  /** Echoed in the outcome; the blackboard handle sets one per write. */
  writeId?: string;
  key: KeyPath;
  value: unknown;
  agentId: string;
  /** The version the writer read. Required unless the key declares a reducer. */
  expectedVersion?: number;
  /** An actor to answer with `{ type: 'blackboard.outcome', outcome, version, state }`. */
  replyTo?: AnyActorRef;
}

/** The versioned part of the blackboard's context. */
export interface BoardState {
  version: number;
  state: Readonly<Record<string, unknown>>;
  journal: Journal;
}

// Distributes over the union, so each reason keeps its own fields.
type Rejection = WriteRejected extends infer R
  ? R extends WriteRejected
    ? Omit<R, 'writeId' | 'agentId' | 'key' | 'ok'>
    : never
  : never;

/**
 * One write, one event: check the key, the version and the value, then build the next version.
 * Only the containers on the written path are new; everything else is shared with the previous
 * version. Pure, and it never throws: any failure is an outcome.
 */
export function applyWrite(
  board: BoardState,
  event: WriteEvent,
  policy: BlackboardPolicy,
  at: number,
): { board?: BoardState; outcome: WriteOutcome } {
  const parsedKey = parseKeyPath(event.key);
  const base = {
    writeId: typeof event.writeId === 'string' ? event.writeId : null,
    agentId: safeText(event.agentId),
    key: parsedKey.key,
  };
  // Object.assign, not a spread: a frozen spread of unfrozen objects is a slow, large object in V8.
  const reject = (rejection: Rejection) => ({
    outcome: deepFreeze(Object.assign({}, base, { ok: false }, rejection) as WriteRejected),
  });
  try {
    // A board restored from a persisted (JSON) snapshot is not frozen yet; this is O(1) once it is.
    deepFreeze(board.state);
    deepFreeze(board.journal);
    const result = decide(board, event, policy, at, parsedKey, base);
    return 'rejection' in result
      ? reject(result.rejection)
      : { board: result.board, outcome: result.accepted };
  } catch (error) {
    // A bug or a hostile schema must not stop the board: the write is refused, the board goes on.
    const { name, message } = describeError(error);
    return reject({ reason: 'invalid', message: `write failed: ${name}: ${message}`, issues: [] });
  }
}

function decide(
  board: BoardState,
  event: WriteEvent,
  policy: BlackboardPolicy,
  at: number,
  parsedKey: ReturnType<typeof parseKeyPath>,
  base: { writeId: string | null; agentId: string; key: string },
): { rejection: Rejection } | { board: BoardState; accepted: WriteAccepted } {
  const { agentId, writeId } = base;
  const invalid = (path: string, message: string) => ({
    rejection: { reason: 'invalid' as const, message, issues: [{ path, message }] },
  });
  if (!parsedKey.ok) {
    if (parsedKey.reason === 'forbiddenKey') {
      return {
        rejection: {
          reason: 'forbiddenKey',
          message: parsedKey.message,
          segment: parsedKey.segment,
          path: parsedKey.key,
        },
      };
    }
    return invalid('', parsedKey.message);
  }
  const { path, key } = parsedKey;
  if (agentId.length === 0 || typeof event.agentId !== 'string')
    return invalid('', 'agentId must be a non-empty string');
  const expected = event.expectedVersion;
  if (expected !== undefined && !(Number.isInteger(expected) && expected >= 0)) {
    return invalid('', `expectedVersion must be a version number, received ${String(expected)}`);
  }

  const schemas = policy.schema ? resolveChain(policy.schema, path) : { ok: true as const, schemas: [] };
  if (!schemas.ok) {
    if (schemas.reason === 'unknownKey') {
      return { rejection: { reason: 'unknownKey', message: schemas.message, path: schemas.at } };
    }
    return invalid(schemas.at, schemas.message);
  }

  const declared = Object.hasOwn(policy.reducers, key) ? policy.reducers[key] : undefined;
  const op: WriteOp = declared ?? 'set';
  if (expected === undefined && op === 'set') {
    const message =
      `write to "${key}" by ${agentId} has no expectedVersion and "${key}" declares no reducer: ` +
      `pass the version you read (current is ${board.version}) or declare a reducer for the key`;
    return { rejection: { reason: 'missingVersion', message, currentVersion: board.version } };
  }
  if (expected !== undefined && expected !== board.version) {
    const since = expected < board.version ? commitsSince(board.journal, expected) : [];
    const omitted = Math.max(0, board.version - expected - since.length);
    const conflict = { expectedVersion: expected, currentVersion: board.version, since, omitted };
    return { rejection: { reason: 'conflict', message: conflictMessage(agentId, key, conflict), conflict } };
  }

  const data = cloneData(event.value);
  if (!data.ok) {
    const where = data.path ? `${key}.${data.path}` : key;
    if (data.reason === 'forbiddenKey') {
      const message = `value written to "${key}" contains the forbidden key "${data.segment}" at ${where}`;
      return { rejection: { reason: 'forbiddenKey', message, segment: data.segment, path: where } };
    }
    return invalid(where, `value written to "${key}" is not JSON data: ${data.message} at ${where}`);
  }

  const nodeSchema = schemas.schemas[path.length];
  const custom = Object.hasOwn(policy.custom, key) ? policy.custom[key] : undefined;
  const step = reduce(op, peekIn(board.state, path), data.value, nodeSchema, path, custom);
  if (!step.ok) {
    if (step.reason === 'unknownKey') {
      return {
        rejection: {
          reason: 'unknownKey',
          message: `"${step.path}" is not a key of the state's schema`,
          path: step.path,
        },
      };
    }
    if (step.reason === 'reducerFailed') {
      const message = `the reducer of "${key}" threw ${step.error.name}: ${step.error.message}`;
      return { rejection: { reason: 'reducerFailed', message, error: step.error } };
    }
    return { rejection: { reason: 'invalid', message: summarise(key, step.issues), issues: step.issues } };
  }

  const set = setIn(board.state, path, step.next);
  if (!set.ok) return invalid(set.at, set.message);

  // Parse a whole subtree only where the written part alone cannot tell: refinements on a
  // container, a union or pipe above the key, a container the write had to create.
  const depth = validationDepth(schemas.schemas, path.length, set.createdAt, step.validateNode);
  if (depth >= 0) {
    const prefix = path.slice(0, depth);
    const checked = parseAt(schemas.schemas[depth]!, getIn(set.root, prefix), prefix);
    if (!checked.ok) {
      if (checked.unknownKey !== undefined) {
        const message = `"${checked.unknownKey}" is not a key of the state's schema`;
        return { rejection: { reason: 'unknownKey', message, path: checked.unknownKey } };
      }
      return {
        rejection: { reason: 'invalid', message: summarise(key, checked.issues), issues: checked.issues },
      };
    }
  }

  const version = board.version + 1;
  // A frozen literal: compact, and the same object is the outcome, the journal entry and the log's.
  const accepted: WriteAccepted = Object.freeze({ ok: true, writeId, agentId, key, version, op, at });
  return {
    accepted,
    board: { version, state: set.root as BoardState['state'], journal: pushCommit(board.journal, accepted) },
  };
}

/** The shallowest depth whose subtree must be parsed whole, or -1. */
function validationDepth(
  schemas: readonly (z.ZodType | undefined)[],
  keyDepth: number,
  createdAt: number,
  validateNode: boolean,
): number {
  for (let depth = 0; depth <= keyDepth; depth++) {
    const schema = schemas[depth];
    if (!schema) continue;
    if (depth === keyDepth) return validateNode ? depth : -1;
    if (hasChecks(schema) || !schemas[depth + 1] || depth === createdAt) return depth;
  }
  return -1;
}

function summarise(key: string, issues: readonly { path: string; message: string }[]): string {
  const first = issues[0];
  const more = issues.length > 1 ? ` (+${issues.length - 1} more)` : '';
  return `value written to "${key}" does not match the schema${first ? `: ${first.path || key}: ${first.message}` : ''}${more}`;
}
