import type { AnyActorRef } from 'xstate';
import { and, assign, enqueueActions, setup } from 'xstate';
import type { AttemptBody } from './agent-attempt.js';
import { attemptBody, endAttempt, endsAttemptOnStop, resumeAttempt, startAttempt } from './agent-attempt.js';
import type {
  AgentContext,
  AgentEvent,
  AgentImplementation,
  AgentMachineInput,
  AgentSpec,
  CheckedOutput,
} from './agent-context.js';
import {
  buildResult,
  closeAttempt,
  closeWithOutput,
  finalReason,
  keyOf,
  lastAttempt,
  lastEndedAt,
} from './agent-context.js';
import type { AgentResult, AgentStatus, AttemptOutcome } from './agent-result.js';
import { now } from './clock.js';
import { persistsFrozenAsIs } from './persisted.js';
import { backoffDelay } from './retry.js';
import { describeError } from './untrusted.js';

export type {
  AgentCall,
  AgentContext,
  AgentEvent,
  AgentImplementation,
  AgentLimits,
  AgentMachineInput,
  AgentSpec,
  CheckedOutput,
  PreviousAttempt,
  Verdict,
} from './agent-context.js';

/**
 * One guarded agent call as a statechart:
 *
 *   running.attempting ──(valid, done)──▶ succeeded
 *        ↑          ↓ (invalid, not done, threw, timed out)
 *   running.backingOff ← running.deciding → timedOut | maxIterations | invalidOutput | failed | deadlineExceeded
 *
 * plus `cancelled` from anywhere in `running`. Every final state produces an AgentResult.
 * Only plain data lives in context; the user's function and schema stay in the machine's closure.
 * Entering `attempting` starts the attempt (machines/agent-attempt.ts): the call and its validation
 * under one abort signal and one timer. Its result comes back as an event with the verdict, so the
 * event routes on it directly, closing the attempt in one assign (a successful call is one
 * transition from `attempting` to `succeeded`).
 */

const timedOut = (outcome: 'timedOut' | 'deadline') => ({
  type: 'recordTimeout' as const,
  params: { outcome },
});

const outputOf = (event: { type: string }) => (event as unknown as { output: CheckedOutput }).output;
const attemptOf = (event: { type: string }) => (event as { attempt?: unknown }).attempt;

const specs = new WeakMap<object, AgentSpec>();

/** The spec an agent statechart was built from, so tools (the checklist, tracing) can read its limits. */
export const agentSpecOf = (logic: unknown): AgentSpec | undefined =>
  typeof logic === 'object' && logic !== null ? specs.get(logic) : undefined;

/** Builds the statechart for one agent: the same chart for every agent, its own implementations. */
export function createAgentMachine(spec: AgentSpec, impl: AgentImplementation) {
  const body = attemptBody(spec, impl);
  /** The context fields of attempt `attempt`, starting at `at`. */
  const beginAttempt = (attempt: number, at: number) => ({
    attempt,
    attemptStartedAt: at,
    attemptEndsAt: at + spec.limits.attemptTimeoutMs,
    inFlight: true,
  });
  const machine = setup({
    types: {
      context: {} as AgentContext,
      events: {} as AgentEvent,
      input: {} as AgentMachineInput,
      output: {} as AgentResult,
    },
    delays: {
      backoff: ({ context }) => backoffDelay(context.retry, context.attempt, keyOf(context, context.attempt)),
    },
    guards: {
      forThisAttempt: ({ context, event }) => attemptOf(event) === context.attempt,
      attemptsLeft: ({ context }) => context.attempt < context.limits.maxIterations,
      lastOutcome: ({ context }, params: { outcome: AttemptOutcome }) =>
        lastAttempt(context)?.outcome === params.outcome,
      // On the attempt's output: the verdict came with it.
      validAndDone: ({ context, event }) => {
        if (attemptOf(event) !== context.attempt) return false;
        const out = outputOf(event);
        return out.ok && out.verdict.valid && out.verdict.done;
      },
      // The timer is clipped to the deadline, so when it fires the deadline is the cause if it clipped.
      // The timer says so (its end moves by a wait for the store); events of earlier versions do not.
      deadlineCutAttempt: ({ context, event }) =>
        (event as { deadline?: boolean }).deadline ??
        (context.deadlineAt !== null && context.attemptEndsAt > context.deadlineAt),
      deadlinePassed: ({ context }) =>
        context.deadlineAt !== null && lastEndedAt(context) >= context.deadlineAt,
      backoffMissesDeadline: ({ context }) =>
        context.deadlineAt !== null &&
        lastEndedAt(context) +
          backoffDelay(context.retry, context.attempt, keyOf(context, context.attempt)) >=
          context.deadlineAt,
    },
    actions: {
      // On entering `attempting`: the call and the attempt's timer (machines/agent-attempt.ts).
      startAttempt: ({ context, self, system }) => startAttempt(self, system, context, body),
      // On leaving it, whatever the way out: the timer is cleared, the signal aborted if no result came.
      endAttempt: ({ self }) => endAttempt(self),
      // On the transitions back into `attempting` (the first attempt begins in the initial context).
      beginAttempt: assign(({ context, system }) => beginAttempt(context.attempt + 1, now(system))),
      recordOutput: assign(({ context, event, system }) =>
        closeWithOutput(context, outputOf(event), now(system), spec.quality),
      ),
      // The one transition into `succeeded`: the attempt closes and the call ends in one assign.
      succeed: assign(({ context, event, system }) => {
        const at = now(system);
        const closed = closeWithOutput(context, outputOf(event), at, spec.quality);
        closed.final = { status: 'succeeded', reason: finalReason('succeeded', context), endedAt: at };
        return closed;
      }),
      recordThrew: assign(({ context, event, system }) => {
        const error = describeError((event as unknown as { error: unknown }).error);
        const reason = `${error.name}: ${error.message}`;
        const closed = closeAttempt(context, now(system), { outcome: 'threw', reason, error });
        closed.previous = { attempt: context.attempt, outcome: 'threw', reason };
        return closed;
      }),
      recordTimeout: assign(({ context, system }, params: { outcome: 'timedOut' | 'deadline' }) =>
        closeAttempt(context, now(system), {
          outcome: params.outcome,
          reason:
            params.outcome === 'timedOut'
              ? `no result within ${context.limits.attemptTimeoutMs} ms`
              : `the ${context.limits.deadlineMs} ms deadline passed`,
        }),
      ),
      finish: assign(({ context, event, system }, params: { status: AgentStatus }) => {
        const at = now(system);
        const cancelReason = event.type === 'cancel' ? event.reason : undefined;
        const closed: Partial<AgentContext> =
          context.inFlight && params.status === 'cancelled'
            ? closeAttempt(context, at, { outcome: 'cancelled', reason: cancelReason ?? 'cancelled' })
            : {};
        closed.final = {
          status: params.status,
          reason: finalReason(params.status, context, cancelReason),
          endedAt: at,
        };
        return closed;
      }),
    },
  }).createMachine({
    id: 'agent',
    context: ({ input, self }) => {
      const at = now(self.system);
      return {
        agentId: spec.id,
        stepId: input.stepId ?? spec.id,
        visit: input.visit ?? null,
        // A session id repeats across actor systems; idempotency keys must not.
        runId: input.runId ?? globalThis.crypto.randomUUID(),
        input: input.input,
        limits: spec.limits,
        retry: spec.retry,
        quality: spec.quality,
        startedAt: at,
        deadlineAt: spec.limits.deadlineMs === null ? null : at + spec.limits.deadlineMs,
        // The first attempt begins with the call; the transitions back into `attempting` begin the next.
        ...beginAttempt(1, at),
        attempts: [],
        previous: null,
        candidate: null,
        final: null,
      };
    },
    initial: 'running',
    states: {
      running: {
        on: {
          cancel: { target: 'cancelled' },
          // After a restore (XState does not restore pending timers): re-arm this state's timer
          // from the absolute times in context. An in-flight attempt runs again, with the same key
          // (a restored actor starts it by itself; this only starts it if it does not run yet).
          restore: {
            actions: enqueueActions(({ context, enqueue, self, system }) => {
              const snapshot = self.getSnapshot();
              if (snapshot.matches({ running: 'attempting' })) {
                resumeAttempt(self, system, context, body);
              } else if (snapshot.matches({ running: 'backingOff' })) {
                const endsAt =
                  lastEndedAt(context) +
                  backoffDelay(context.retry, context.attempt, keyOf(context, context.attempt));
                enqueue.raise(
                  { type: 'agent.backoffDone', attempt: context.attempt },
                  { delay: Math.max(0, endsAt - now(system)) },
                );
              }
            }),
          },
        },
        initial: 'attempting',
        states: {
          attempting: {
            entry: 'startAttempt',
            exit: 'endAttempt',
            // Each carries its attempt's number: a late event of an earlier attempt changes nothing.
            on: {
              // The verdict came with the attempt's output: a valid, done output ends the call here.
              'agent.output': [
                { guard: 'validAndDone', target: '#agent.succeeded', actions: 'succeed' },
                { guard: 'forThisAttempt', target: 'deciding', actions: 'recordOutput' },
              ],
              'agent.threw': { guard: 'forThisAttempt', target: 'deciding', actions: 'recordThrew' },
              'agent.attemptTimer': [
                {
                  guard: and(['forThisAttempt', 'deadlineCutAttempt']),
                  target: '#agent.deadlineExceeded',
                  actions: timedOut('deadline'),
                },
                { guard: 'forThisAttempt', target: 'deciding', actions: timedOut('timedOut') },
              ],
            },
          },
          // Transient: picks the next attempt or the way out named by the last attempt's outcome.
          deciding: {
            always: [
              { guard: and(['attemptsLeft', 'deadlinePassed']), target: '#agent.deadlineExceeded' },
              {
                guard: and([
                  'attemptsLeft',
                  { type: 'lastOutcome', params: { outcome: 'notDone' as AttemptOutcome } },
                ]),
                target: 'attempting',
                actions: 'beginAttempt',
              },
              { guard: and(['attemptsLeft', 'backoffMissesDeadline']), target: '#agent.deadlineExceeded' },
              { guard: 'attemptsLeft', target: 'backingOff' },
              { guard: { type: 'lastOutcome', params: { outcome: 'timedOut' } }, target: '#agent.timedOut' },
              { guard: { type: 'lastOutcome', params: { outcome: 'threw' } }, target: '#agent.failed' },
              {
                guard: { type: 'lastOutcome', params: { outcome: 'invalid' } },
                target: '#agent.invalidOutput',
              },
              { target: '#agent.maxIterations' },
            ],
          },
          backingOff: {
            after: { backoff: { target: 'attempting', actions: 'beginAttempt' } },
            on: {
              'agent.backoffDone': {
                guard: 'forThisAttempt',
                target: 'attempting',
                actions: 'beginAttempt',
              },
            },
          },
        },
      },
      // Entered only by `succeed`, which already closed the attempt and set `final`.
      succeeded: { type: 'final' },
      timedOut: { type: 'final', entry: { type: 'finish', params: { status: 'timedOut' } } },
      maxIterations: { type: 'final', entry: { type: 'finish', params: { status: 'maxIterations' } } },
      invalidOutput: { type: 'final', entry: { type: 'finish', params: { status: 'invalidOutput' } } },
      failed: { type: 'final', entry: { type: 'finish', params: { status: 'failed' } } },
      deadlineExceeded: { type: 'final', entry: { type: 'finish', params: { status: 'deadlineExceeded' } } },
      cancelled: { type: 'final', entry: { type: 'finish', params: { status: 'cancelled' } } },
    },
    output: ({ context }) => buildResult(context),
  });
  // A restored actor in `attempting` calls its attempt again by itself, as the promise actor that
  // used to run it did when XState restored it (before any `restore` event): deferred to its start.
  const restoreSnapshot = machine.restoreSnapshot;
  machine.restoreSnapshot = (snapshot, scope) => {
    const restored = restoreSnapshot(snapshot, scope);
    scope.defer(() => {
      const self = scope.self as AnyActorRef;
      const current = self.getSnapshot() as typeof restored;
      if (current.status === 'active' && current.matches({ running: 'attempting' }))
        resumeAttempt(self, scope.system, current.context, body);
    });
    return restored;
  };
  endsAttemptOnStop(machine);
  persistsFrozenAsIs(machine);
  specs.set(machine, spec);
  bodies.set(machine, body);
  return machine;
}

const bodies = new WeakMap<object, AttemptBody>();

/**
 * An agent statechart's attempt body: the call, the plain-data check and validation, exactly as the
 * statechart runs them (Restate journals each attempt with it).
 */
export const agentAttemptOf = (logic: unknown): AttemptBody | undefined =>
  typeof logic === 'object' && logic !== null ? bodies.get(logic) : undefined;

export type AgentMachine = ReturnType<typeof createAgentMachine>;
