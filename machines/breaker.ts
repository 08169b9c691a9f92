import { type AnyActorRef, assign, emit, enqueueActions, type SnapshotFrom, setup } from 'xstate';
import type { AgentResult } from './agent-result.js';
import {
  type BreakerConfig,
  type BreakerOptions,
  BreakerOptionsSchema,
  cooldownFor,
} from './breaker-options.js';
import { now } from './clock.js';
import { BREAKER_OPEN_CONTENT, type BreakerOpen } from './edge-result.js';
import { applyGate, type Verdict, verdictOf } from './gate.js';

/**
 * The circuit breaker on one edge (or agent): closed → open → halfOpen. Long-lived, shared by every
 * run in a runtime, and it handles one event at a time, so concurrent runs see consistent counts.
 *
 * Protocol: send `request` (a caller-chosen unique `requestId`); the call is allowed when, right
 * after the send, `isGranted(snapshot, requestId)` holds (or, with `replyTo`, the breaker answers
 * `breaker.granted` / `breaker.rejected`). The caller then reports exactly one of `success`,
 * `failure`, `outcome` (an AgentResult, classified by the gate) or `release` (neutral), carrying the
 * `epoch` it was granted in. Reports from an older epoch are stale and ignored: a late failure from
 * before the breaker last changed state says nothing about the agent now.
 *
 * After restoring a persisted snapshot, send `restore`: XState does not restore pending `after`
 * timers, so `open` re-arms its cooldown from the absolute `probeAt`, and a half-open probe held by
 * the previous process is freed.
 */

export type BreakerStateValue = 'closed' | 'open' | 'halfOpen';

export interface BreakerContext {
  key: string;
  config: BreakerConfig;
  /** Bumped on every state change; a report carrying an older epoch is stale. */
  epoch: number;
  /** Consecutive failures since the last success. */
  failures: number;
  /** Probe successes in the current halfOpen. */
  successes: number;
  /** Consecutive opens since the last close (drives cooldown growth). */
  opens: number;
  /** requestId of the one half-open probe in flight. */
  probe: string | null;
  openedAt: number | null;
  /** Absolute end of the cooldown (the breaker's clock); the `after` delay is derived from it. */
  probeAt: number | null;
  lastFailure: string | null;
}

export interface BreakerInput {
  key: string;
  options?: BreakerOptions;
}

interface Ticket {
  requestId: string;
  epoch: number;
}

export type BreakerEvent =
  | { type: 'request'; requestId: string; replyTo?: AnyActorRef }
  | ({ type: 'success' } & Ticket)
  | ({ type: 'failure'; reason: string } & Ticket)
  | ({ type: 'outcome'; result: AgentResult } & Ticket)
  | ({ type: 'release' } & Ticket)
  /** After restoring a snapshot. `options` (already parsed) replace the persisted ones. */
  | { type: 'restore'; options?: BreakerConfig }
  /**
   * Internal: raised when the clock is past probeAt but the timer has not fired (late, or not re-armed
   * after a restore). Guards cannot read the clock, so the action that can raises this with the time.
   */
  | { type: 'breaker.cooldownElapsed'; at: number; request?: RequestEvent };

type RequestEvent = Extract<BreakerEvent, { type: 'request' }>;

/** Typed events for tracing and users: `actor.on('opened', …)`. */
export type BreakerEmitted =
  | {
      type: 'opened';
      key: string;
      at: number;
      probeAt: number;
      cooldownMs: number;
      failures: number;
      opens: number;
      reason: string;
    }
  | { type: 'halfOpened'; key: string; at: number }
  | { type: 'closed'; key: string; at: number }
  | {
      type: 'rejected';
      key: string;
      at: number;
      requestId: string;
      state: 'open' | 'halfOpen';
      probeAt: number | null;
      reason: string;
    };

/** Answers to a `request` that carried `replyTo`. */
export type BreakerReply =
  | { type: 'breaker.granted'; key: string; requestId: string; epoch: number; probe: boolean }
  | { type: 'breaker.rejected'; key: string; requestId: string; rejection: BreakerOpen };

function verdict(context: BreakerContext, event: BreakerEvent): Verdict | null {
  switch (event.type) {
    case 'success':
      return 'success';
    case 'failure':
      return 'failure';
    case 'release':
      return 'neutral';
    case 'outcome':
      return verdictOf(event.result, context.config);
    default:
      return null;
  }
}

function failureReason(context: BreakerContext, event: BreakerEvent): string {
  if (event.type === 'failure') return event.reason;
  if (event.type === 'outcome') {
    const gate = applyGate(event.result, context.config);
    return gate.passed ? 'passed' : gate.fallback.reason;
  }
  return 'failure';
}

const isCurrent = (context: BreakerContext, event: BreakerEvent): boolean =>
  'epoch' in event && event.epoch === context.epoch;

const isProbe = (context: BreakerContext, event: BreakerEvent): boolean =>
  isCurrent(context, event) &&
  context.probe !== null &&
  'requestId' in event &&
  event.requestId === context.probe;

/** The fail-fast result for a request refused in `state`. */
export function rejectionOf(context: BreakerContext, state: 'open' | 'halfOpen', at: number): BreakerOpen {
  const probeAt = state === 'open' ? context.probeAt : null;
  const reason =
    state === 'open'
      ? `breaker "${context.key}" is open after ${context.failures} consecutive failure(s)` +
        `${context.lastFailure ? ` (last: ${context.lastFailure})` : ''}; next probe at ${probeAt}`
      : `breaker "${context.key}" is half-open and its one probe is in flight`;
  return {
    status: 'breakerOpen',
    fallback: true,
    breaker: context.key,
    content: BREAKER_OPEN_CONTENT,
    confidence: 0,
    quality: 'LOW',
    state,
    at,
    probeAt,
    reason,
  };
}

function rejectionEvents(
  context: BreakerContext,
  event: RequestEvent,
  state: 'open' | 'halfOpen',
  at: number,
): { emitted: BreakerEmitted; reply: BreakerReply } {
  const rejection = rejectionOf(context, state, at);
  return {
    emitted: {
      type: 'rejected',
      key: context.key,
      at,
      requestId: event.requestId,
      state,
      probeAt: rejection.probeAt,
      reason: rejection.reason,
    },
    reply: { type: 'breaker.rejected', key: context.key, requestId: event.requestId, rejection },
  };
}

export const breakerMachine = setup({
  types: {
    context: {} as BreakerContext,
    events: {} as BreakerEvent,
    input: {} as BreakerInput,
    emitted: {} as BreakerEmitted,
  },
  guards: {
    cooldownElapsed: ({ context, event }) =>
      event.type === 'breaker.cooldownElapsed' && context.probeAt !== null && event.at >= context.probeAt,
    probeFree: ({ context }) => context.probe === null,
    closedFailureTrips: ({ context, event }) =>
      isCurrent(context, event) &&
      verdict(context, event) === 'failure' &&
      context.failures + 1 >= context.config.failureThreshold,
    closedFailure: ({ context, event }) => isCurrent(context, event) && verdict(context, event) === 'failure',
    closedSuccess: ({ context, event }) => isCurrent(context, event) && verdict(context, event) === 'success',
    probeFailure: ({ context, event }) => isProbe(context, event) && verdict(context, event) === 'failure',
    probeSuccessCloses: ({ context, event }) =>
      isProbe(context, event) &&
      verdict(context, event) === 'success' &&
      context.successes + 1 >= context.config.successThreshold,
    probeSuccess: ({ context, event }) => isProbe(context, event) && verdict(context, event) === 'success',
    probeReleased: ({ context, event }) => isProbe(context, event) && verdict(context, event) === 'neutral',
  },
  delays: {
    // Derived from the absolute probeAt, so a re-armed timer (after restore) ends at the same time.
    cooldown: ({ context, system }) => Math.max(0, (context.probeAt ?? 0) - now(system)),
  },
  actions: {
    countFailure: assign(({ context, event }) => ({
      failures: context.failures + 1,
      lastFailure: failureReason(context, event),
    })),
    resetFailures: assign({ failures: 0 }),
    trip: assign(({ context, event, system }) => {
      const at = now(system);
      const opens = context.opens + 1;
      return {
        epoch: context.epoch + 1,
        failures: context.failures + 1,
        lastFailure: failureReason(context, event),
        opens,
        successes: 0,
        probe: null,
        openedAt: at,
        probeAt: at + cooldownFor(context.config, opens),
      };
    }),
    emitOpened: emit(({ context }) => ({
      type: 'opened' as const,
      key: context.key,
      at: context.openedAt!,
      probeAt: context.probeAt!,
      cooldownMs: context.probeAt! - context.openedAt!,
      failures: context.failures,
      opens: context.opens,
      reason: context.lastFailure ?? 'failure',
    })),
    startProbing: assign(({ context }) => ({ epoch: context.epoch + 1, successes: 0, probe: null })),
    emitHalfOpened: emit(({ context, system }) => ({
      type: 'halfOpened' as const,
      key: context.key,
      at: now(system),
    })),
    reset: assign(({ context }) => ({
      epoch: context.epoch + 1,
      failures: 0,
      successes: 0,
      opens: 0,
      probe: null,
      openedAt: null,
      probeAt: null,
    })),
    emitClosed: emit(({ context, system }) => ({
      type: 'closed' as const,
      key: context.key,
      at: now(system),
    })),
    takeProbe: assign(({ event }) => ({ probe: event.type === 'request' ? event.requestId : null })),
    probeSucceeded: assign(({ context }) => ({ successes: context.successes + 1, failures: 0, probe: null })),
    freeProbe: assign({ probe: null }),
    replaceOptions: assign(({ context, event }) =>
      event.type === 'restore' && event.options ? { config: event.options } : { config: context.config },
    ),
    grant: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'request' || !event.replyTo) return;
      enqueue.sendTo(event.replyTo, {
        type: 'breaker.granted',
        key: context.key,
        requestId: event.requestId,
        epoch: context.epoch,
        probe: context.probe === event.requestId,
      } satisfies BreakerReply);
    }),
    // Open: past probeAt, go halfOpen and replay the request there; otherwise fail fast.
    requestWhileOpen: enqueueActions(({ context, event, enqueue, system }) => {
      if (event.type !== 'request') return;
      const at = now(system);
      if (context.probeAt !== null && at >= context.probeAt) {
        enqueue.raise({ type: 'breaker.cooldownElapsed', at, request: event });
        return;
      }
      const { emitted, reply } = rejectionEvents(context, event, 'open', at);
      enqueue.emit(emitted);
      if (event.replyTo) enqueue.sendTo(event.replyTo, reply);
    }),
    rejectProbeBusy: enqueueActions(({ context, event, enqueue, system }) => {
      if (event.type !== 'request') return;
      const { emitted, reply } = rejectionEvents(context, event, 'halfOpen', now(system));
      enqueue.emit(emitted);
      if (event.replyTo) enqueue.sendTo(event.replyTo, reply);
    }),
    raiseIfCooledDown: enqueueActions(({ context, enqueue, system }) => {
      const at = now(system);
      if (context.probeAt !== null && at >= context.probeAt)
        enqueue.raise({ type: 'breaker.cooldownElapsed', at });
    }),
    replayRequest: enqueueActions(({ event, enqueue }) => {
      if (event.type === 'breaker.cooldownElapsed' && event.request) enqueue.raise(event.request);
    }),
  },
}).createMachine({
  id: 'breaker',
  context: ({ input }) => ({
    key: input.key,
    config: BreakerOptionsSchema.parse(input.options ?? {}),
    epoch: 0,
    failures: 0,
    successes: 0,
    opens: 0,
    probe: null,
    openedAt: null,
    probeAt: null,
    lastFailure: null,
  }),
  initial: 'closed',
  on: {
    restore: { actions: 'replaceOptions' },
  },
  states: {
    closed: {
      on: {
        request: { actions: 'grant' },
        success: { guard: 'closedSuccess', actions: 'resetFailures' },
        outcome: [
          { guard: 'closedFailureTrips', target: 'open', actions: ['trip', 'emitOpened'] },
          { guard: 'closedFailure', actions: 'countFailure' },
          { guard: 'closedSuccess', actions: 'resetFailures' },
        ],
        failure: [
          { guard: 'closedFailureTrips', target: 'open', actions: ['trip', 'emitOpened'] },
          { guard: 'closedFailure', actions: 'countFailure' },
        ],
      },
    },
    open: {
      after: {
        cooldown: { target: 'halfOpen', actions: ['startProbing', 'emitHalfOpened'] },
      },
      on: {
        request: { actions: 'requestWhileOpen' },
        // A late timer (or none, after a restore) must not keep a cooled-down breaker open.
        'breaker.cooldownElapsed': {
          guard: 'cooldownElapsed',
          target: 'halfOpen',
          actions: ['startProbing', 'emitHalfOpened', 'replayRequest'],
        },
        // Re-entering recomputes the `after` delay from the absolute probeAt.
        restore: { target: 'open', reenter: true, actions: ['replaceOptions', 'raiseIfCooledDown'] },
      },
    },
    halfOpen: {
      on: {
        request: [{ guard: 'probeFree', actions: ['takeProbe', 'grant'] }, { actions: 'rejectProbeBusy' }],
        success: [
          { guard: 'probeSuccessCloses', target: 'closed', actions: ['reset', 'emitClosed'] },
          { guard: 'probeSuccess', actions: 'probeSucceeded' },
        ],
        outcome: [
          { guard: 'probeSuccessCloses', target: 'closed', actions: ['reset', 'emitClosed'] },
          { guard: 'probeSuccess', actions: 'probeSucceeded' },
          { guard: 'probeFailure', target: 'open', actions: ['trip', 'emitOpened'] },
          { guard: 'probeReleased', actions: 'freeProbe' },
        ],
        failure: { guard: 'probeFailure', target: 'open', actions: ['trip', 'emitOpened'] },
        release: { guard: 'probeReleased', actions: 'freeProbe' },
        // The previous process's probe will never report.
        restore: { actions: ['replaceOptions', 'freeProbe'] },
      },
    },
  },
});

export type BreakerMachine = typeof breakerMachine;
export type BreakerSnapshot = SnapshotFrom<BreakerMachine>;

/** Whether `requestId` may call the agent, read right after sending its `request`. */
export function isGranted(snapshot: BreakerSnapshot, requestId: string): boolean {
  if (snapshot.value === 'closed') return true;
  return snapshot.value === 'halfOpen' && snapshot.context.probe === requestId;
}
