import { and, assign, enqueueActions, fromPromise, setup } from 'xstate';
import type {
  AgentCall,
  AgentContext,
  AgentEvent,
  AgentImplementation,
  AgentMachineInput,
  AgentSpec,
  CheckedOutput,
  Verdict,
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
import type { AttemptMeta } from './attempt-meta.js';
import { splitAttemptMeta } from './attempt-meta.js';
import { beforeCallOf } from './before-call.js';
import { now } from './clock.js';
import { backoffDelay } from './retry.js';
import { adoptUntrusted } from './thenable.js';
import { describeError, toPlainData } from './untrusted.js';

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
 * Only plain data lives in context; the user's function and schema are behind the `run` actor,
 * referenced by name. It validates too, so one actor (one abort signal) covers an attempt, and its
 * result carries the verdict: the attempt's done event routes on it directly, closing the attempt
 * in one assign (a successful call is one transition from `attempting` to `succeeded`).
 */

/** What the `run` actor resolves with: the attempt's plain output and its verdict, or why it was not plain. */
type Checked = CheckedOutput;

/** The verdict on a plain output; a validator that throws or rejects made it invalid. */
function validateSafely(
  impl: AgentImplementation,
  value: unknown,
  meta: AttemptMeta,
): Verdict | Promise<Verdict> {
  try {
    const verdict = impl.validate(value, meta);
    return verdict instanceof Promise ? verdict.catch(validationThrew) : verdict;
  } catch (error) {
    return validationThrew(error);
  }
}

// E.g. an async refinement that throws: the output did not validate.
function validationThrew(error: unknown): Verdict {
  const { name, message } = describeError(error);
  const reason = `validation threw ${name}: ${message}`;
  return { valid: false, reason, issues: [{ path: '(root)', message: reason }] };
}

const timedOut = (outcome: 'timedOut' | 'deadline') => ({
  type: 'recordTimeout' as const,
  params: { outcome },
});

const outputOf = (event: { type: string }) => (event as unknown as { output: Checked }).output;

const specs = new WeakMap<object, AgentSpec>();

/** The spec an agent statechart was built from, so tools (the checklist, tracing) can read its limits. */
export const agentSpecOf = (logic: unknown): AgentSpec | undefined =>
  typeof logic === 'object' && logic !== null ? specs.get(logic) : undefined;

/** Builds the statechart for one agent: the same chart for every agent, its own implementations. */
export function createAgentMachine(spec: AgentSpec, impl: AgentImplementation) {
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
    actors: {
      // One actor per attempt: the call, then validation, both inside the attempt's time bound.
      run: fromPromise<Checked, Omit<AgentCall, 'signal'>>(async ({ input, signal, system }) => {
        const wait = beforeCallOf(system);
        if (wait) await wait();
        // Cancelled while it waited: the call is not made.
        if (signal.aborted) return { ok: false, reason: 'cancelled before the call' } as Checked;
        // Never `await` what the agent returned: a self-resolving thenable would starve the timers.
        const adopted = await adoptUntrusted(impl.run({ ...input, signal }));
        if (!adopted.ok) return adopted;
        const { output, meta } = splitAttemptMeta(adopted.value);
        const plain = toPlainData(output, spec.maxOutputBytes);
        if (!plain.ok) return { ...plain, meta };
        const verdict = validateSafely(impl, plain.value, meta);
        return {
          ok: true,
          value: plain.value,
          bytes: plain.bytes,
          verdict: verdict instanceof Promise ? await verdict : verdict,
          meta,
        };
      }),
    },
    delays: {
      // Clipped to the deadline so that one timer per state covers both bounds.
      attemptTimer: ({ context, system }) =>
        Math.max(
          0,
          Math.min(context.attemptEndsAt, context.deadlineAt ?? Number.POSITIVE_INFINITY) - now(system),
        ),
      backoff: ({ context }) => backoffDelay(context.retry, context.attempt, keyOf(context, context.attempt)),
    },
    guards: {
      timerForThisAttempt: ({ context, event }) =>
        'attempt' in event && (event as { attempt: number }).attempt === context.attempt,
      attemptsLeft: ({ context }) => context.attempt < context.limits.maxIterations,
      lastOutcome: ({ context }, params: { outcome: AttemptOutcome }) =>
        lastAttempt(context)?.outcome === params.outcome,
      // On the attempt's done event: the verdict came with the output.
      validAndDone: ({ event }) => {
        const out = outputOf(event);
        return out.ok && out.verdict.valid && out.verdict.done;
      },
      // The timer is clipped to the deadline, so when it fires the deadline is the cause if it clipped.
      deadlineCutAttempt: ({ context }) =>
        context.deadlineAt !== null && context.attemptEndsAt > context.deadlineAt,
      deadlinePassed: ({ context }) =>
        context.deadlineAt !== null && lastEndedAt(context) >= context.deadlineAt,
      backoffMissesDeadline: ({ context }) =>
        context.deadlineAt !== null &&
        lastEndedAt(context) +
          backoffDelay(context.retry, context.attempt, keyOf(context, context.attempt)) >=
          context.deadlineAt,
    },
    actions: {
      // On the transitions into `attempting` (the first attempt begins in the initial context).
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
          // from the absolute times in context. An in-flight attempt runs again, with the same key.
          restore: {
            actions: enqueueActions(({ context, enqueue, self, system }) => {
              const snapshot = self.getSnapshot();
              const at = now(system);
              if (snapshot.matches({ running: 'attempting' })) {
                const endsAt = Math.min(
                  context.attemptEndsAt,
                  context.deadlineAt ?? Number.POSITIVE_INFINITY,
                );
                enqueue.raise(
                  { type: 'agent.attemptTimer', attempt: context.attempt },
                  { delay: Math.max(0, endsAt - at) },
                );
              } else if (snapshot.matches({ running: 'backingOff' })) {
                const endsAt =
                  lastEndedAt(context) +
                  backoffDelay(context.retry, context.attempt, keyOf(context, context.attempt));
                enqueue.raise(
                  { type: 'agent.backoffDone', attempt: context.attempt },
                  { delay: Math.max(0, endsAt - at) },
                );
              }
            }),
          },
        },
        initial: 'attempting',
        states: {
          attempting: {
            invoke: {
              id: 'run',
              src: 'run',
              input: ({ context }) => ({
                input: context.input,
                attempt: context.attempt,
                idempotencyKey: keyOf(context, context.attempt),
                previous: context.previous,
              }),
              // The verdict came with the attempt's result: a valid, done output ends the call here.
              onDone: [
                { guard: 'validAndDone', target: '#agent.succeeded', actions: 'succeed' },
                { target: 'deciding', actions: 'recordOutput' },
              ],
              onError: { target: 'deciding', actions: 'recordThrew' },
            },
            after: {
              attemptTimer: [
                {
                  guard: 'deadlineCutAttempt',
                  target: '#agent.deadlineExceeded',
                  actions: timedOut('deadline'),
                },
                { target: 'deciding', actions: timedOut('timedOut') },
              ],
            },
            // Re-armed after a restore; the attempt number keeps a stale timer from ending a later attempt.
            on: {
              'agent.attemptTimer': [
                {
                  guard: and(['timerForThisAttempt', 'deadlineCutAttempt']),
                  target: '#agent.deadlineExceeded',
                  actions: timedOut('deadline'),
                },
                { guard: 'timerForThisAttempt', target: 'deciding', actions: timedOut('timedOut') },
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
                guard: 'timerForThisAttempt',
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
  specs.set(machine, spec);
  return machine;
}

export type AgentMachine = ReturnType<typeof createAgentMachine>;
