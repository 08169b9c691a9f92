import { enqueueActions, setup } from 'xstate';
import type { WriteOutcome } from './blackboard-outcome.js';
import type { BlackboardPolicy, BoardState, WriteEvent } from './blackboard-write.js';
import { applyWrite, FREE_FORM } from './blackboard-write.js';
import { now } from './clock.js';
import { cloneData, deepFreeze } from './frozen.js';
import { emptyJournal } from './journal.js';
import { isPlainObject } from './key-path.js';

/**
 * The shared state of a run as an actor. Every write is an event, and the actor's mailbox handles
 * one at a time: that is the lock. A write names the version it read; a stale one is refused with
 * the commits it missed, never applied over them. Keys with a reducer merge concurrent writes in
 * mailbox order instead.
 *
 *   open ──close──▶ closed (final; output { version, state })
 *    └─ write: accepted (version + 1) or rejected (unchanged); the outcome is emitted and kept
 *       in `lastOutcome`, so every decision is in the snapshot and hence in the state log.
 *
 * Context is plain JSON; the state is deeply frozen and shares unchanged subtrees across versions.
 */

export interface BlackboardContext extends BoardState {
  /** The answer to the last write event, accepted or not. */
  lastOutcome: WriteOutcome | null;
}

export type BlackboardEvent = WriteEvent | { type: 'close' };

export interface BlackboardInput {
  /** The state at version 0; already validated by whoever defines the board. Frozen subtrees are kept. */
  initial?: Readonly<Record<string, unknown>>;
  /** How many recent commits a conflict can list (at least this many are kept). Default 256. */
  journalWindow?: number;
}

export interface BlackboardOutput {
  version: number;
  state: Readonly<Record<string, unknown>>;
}

export type BlackboardEmitted = { type: 'outcome'; outcome: WriteOutcome };

export const DEFAULT_JOURNAL_WINDOW = 256;

function initialState(initial: unknown): Readonly<Record<string, unknown>> {
  if (initial === undefined) return Object.freeze({});
  const data = cloneData(initial, { reuseFrozen: true });
  if (!data.ok || !isPlainObject(data.value))
    throw new TypeError('blackboard: initial state must be a JSON object');
  return deepFreeze(data.value);
}

/** The blackboard statechart with a schema and reducers; without a policy, a free-form board. */
export function createBlackboardMachine(policy: BlackboardPolicy = FREE_FORM) {
  return setup({
    types: {
      context: {} as BlackboardContext,
      events: {} as BlackboardEvent,
      input: {} as BlackboardInput,
      output: {} as BlackboardOutput,
      emitted: {} as BlackboardEmitted,
    },
    actions: {
      applyWrite: enqueueActions(({ context, event, system, enqueue }) => {
        if (event.type !== 'write') return;
        const { board, outcome } = applyWrite(context, event, policy, now(system));
        enqueue.assign(board ? { ...board, lastOutcome: outcome } : { lastOutcome: outcome });
        enqueue.emit({ type: 'outcome', outcome });
        // A writing machine (the workflow) learns the outcome, and the committed state, by event.
        if (event.replyTo) {
          const next = board ?? context;
          enqueue.sendTo(event.replyTo, {
            type: 'blackboard.outcome',
            outcome,
            version: next.version,
            state: next.state,
          });
        }
      }),
    },
  }).createMachine({
    id: 'blackboard',
    context: ({ input }) => ({
      version: 0,
      state: initialState(input?.initial),
      journal: emptyJournal(input?.journalWindow ?? DEFAULT_JOURNAL_WINDOW),
      lastOutcome: null,
    }),
    initial: 'open',
    states: {
      open: {
        on: {
          write: { actions: 'applyWrite' },
          close: 'closed',
        },
      },
      closed: { type: 'final' },
    },
    output: ({ context }) => ({ version: context.version, state: context.state }),
  });
}

/** A free-form blackboard: any JSON under any (non-forbidden) key, versioned and conflict-checked. */
export const blackboardMachine = createBlackboardMachine();

export type BlackboardMachine = ReturnType<typeof createBlackboardMachine>;
