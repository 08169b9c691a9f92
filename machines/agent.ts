import { and, assign, enqueueActions, fromPromise, setup } from 'xstate';
import type {
  AgentCall,
  AgentContext,
  AgentEvent,
  AgentImplementation,
  AgentMachineInput,
  AgentSpec,
  Verdict,
} from './agent-context.js';
import {
  buildResult,
  closeAttempt,
  finalReason,
  keyOf,
  lastAttempt,
  lastEndedAt,
  MAX_ISSUES,
} from './agent-context.js';
import type { AgentResult, AgentStatus, AttemptOutcome } from './agent-result.js';
import type { AttemptMeta } from './attempt-meta.js';
import { splitAttemptMeta } from './attempt-meta.js';
import { beforeCallOf } from './before-call.js';
import { now } from './clock.js';
import { classifyQuality } from './quality.js';
import { backoffDelay } from './retry.js';
import { adoptUntrusted } from './thenable.js';
import type { PlainData } from './untrusted.js';
import { describeError, toPlainData } from './untrusted.js';

export type {
  AgentCall,
  AgentContext,
  AgentEvent,
  AgentImplementation,
  AgentLimits,
  AgentMachineInput,
  AgentSpec,
  PreviousAttempt,
  Verdict,
} from './agent-context.js';

/**
 * One guarded agent call as a statechart:
 *
 *   running.attempting → running.validating → succeeded
 *        ↑                      ↓ (invalid, not done, threw, timed out)
 *   running.backingOff ← running.deciding → timedOut | maxIterations | invalidOutput | failed | deadlineExceeded
 *
 * plus `cancelled` from anywhere in `running`. Every final state produces an AgentResult.
 * Only plain data lives in context; the user's function and schema are behind the `run` actor,
 * referenced by name. It validates too, so one actor (one abort signal) covers an attempt.
 */

/**
 * The attempt's output as plain data, with its verdict when it was plain data at all, and what the
 * run reported beside it (`withAttemptMeta`: usage, confidence), split off before anything else.
 */
type Checked =
  | (PlainData & { ok: false; meta?: AttemptMeta })
  | (PlainData & { ok: true; verdict: Verdict; meta?: AttemptMeta });

async function validateSafely(
  impl: AgentImplementation,
  value: unknown,
  meta: AttemptMeta,
): Promise<Verdict> {
  try {
    return await impl.validate(value, meta);
  } catch (error) {
    // E.g. an async refinement that throws: the output did not validate.
    const { name, message } = describeError(error);
    const reason = `validation threw ${name}: ${message}`;
    return { valid: false, reason, issues: [{ path: '(root)', message: reason }] };
  }
}

const timedOut = (outcome: 'timedOut' | 'deadline') => ({
  type: 'recordTimeout' as const,
  params: { outcome },
});

/** The attempt record's `usage` field, when the run reported any. */
const usageOf = (meta: AttemptMeta | undefined) => (meta?.usage ? { usage: meta.usage } : {});

const specs = new WeakMap<object, AgentSpec>();

/** The spec an agent statechart was built from, so tools (the checklist, tracing) can read its limits. */
export const agentSpecOf = (logic: unknown): AgentSpec | undefined =>
  typeof logic === 'object' && logic !== null ? specs.get(logic) : undefined;

/** Builds the statechart for one agent: the same chart for every agent, its own implementations. */
export function createAgentMachine(spec: AgentSpec, impl: AgentImplementation) {
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
        return plain.ok
          ? { ...plain, verdict: await validateSafely(impl, plain.value, meta), meta }
          : { ...plain, meta };
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
      outputIsPlain: ({ event }) => (event as unknown as { output: Checked }).output.ok,
      validAndDone: ({ context }) => context.pending?.verdict.valid === true && context.pending.verdict.done,
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
      beginAttempt: assign(({ context, system }) => {
        const at = now(system);
        return {
          attempt: context.attempt + 1,
          attemptStartedAt: at,
          attemptEndsAt: at + context.limits.attemptTimeoutMs,
          inFlight: true,
          pending: null,
        };
      }),
      holdOutput: assign(({ event }) => {
        const out = (event as unknown as { output: Checked & { ok: true } }).output;
        return {
          pending: {
            value: out.value,
            bytes: out.bytes,
            verdict: out.verdict,
            ...(out.meta === undefined ? {} : { meta: out.meta }),
          },
        };
      }),
      recordUnplain: assign(({ context, event, system }) => {
        const out = (event as unknown as { output: Checked & { ok: false } }).output;
        return {
          ...closeAttempt(context, now(system), {
            outcome: 'invalid',
            reason: out.reason,
            ...(out.bytes === undefined ? {} : { bytes: out.bytes }),
            ...usageOf(out.meta),
          }),
          previous: { attempt: context.attempt, outcome: 'invalid', reason: out.reason },
        };
      }),
      recordThrew: assign(({ context, event, system }) => {
        const error = describeError((event as unknown as { error: unknown }).error);
        const reason = `${error.name}: ${error.message}`;
        return {
          ...closeAttempt(context, now(system), { outcome: 'threw', reason, error }),
          previous: { attempt: context.attempt, outcome: 'threw', reason },
        };
      }),
      recordVerdict: assign(({ context, system }) => {
        const v = context.pending!.verdict;
        const bytes = context.pending?.bytes;
        const sized = { ...(bytes === undefined ? {} : { bytes }), ...usageOf(context.pending?.meta) };
        if (!v.valid) {
          const issues = v.issues.slice(0, MAX_ISSUES);
          return {
            ...closeAttempt(context, now(system), { outcome: 'invalid', reason: v.reason, issues, ...sized }),
            previous: {
              attempt: context.attempt,
              outcome: 'invalid',
              output: context.pending?.value,
              issues,
              reason: v.reason,
            },
          };
        }
        const candidate = {
          content: v.output,
          confidence: v.confidence,
          quality: classifyQuality(v.confidence, context.quality),
        };
        const outcome: AttemptOutcome = v.done ? 'valid' : 'notDone';
        return {
          ...closeAttempt(context, now(system), {
            outcome,
            confidence: v.confidence,
            ...(v.done ? {} : { reason: 'isDone returned false' }),
            ...sized,
          }),
          candidate,
          previous: v.done ? context.previous : { attempt: context.attempt, outcome, output: v.output },
        };
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
        const closed =
          context.inFlight && params.status === 'cancelled'
            ? closeAttempt(context, at, { outcome: 'cancelled', reason: cancelReason ?? 'cancelled' })
            : {};
        return {
          ...closed,
          final: {
            status: params.status,
            reason: finalReason(params.status, context, cancelReason),
            endedAt: at,
          },
        };
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
        maxOutputBytes: spec.maxOutputBytes,
        startedAt: at,
        deadlineAt: spec.limits.deadlineMs === null ? null : at + spec.limits.deadlineMs,
        attempt: 0,
        attemptStartedAt: at,
        attemptEndsAt: at,
        inFlight: false,
        attempts: [],
        pending: null,
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
            entry: 'beginAttempt',
            invoke: {
              id: 'run',
              src: 'run',
              input: ({ context }) => ({
                input: context.input,
                attempt: context.attempt,
                idempotencyKey: keyOf(context, context.attempt),
                previous: context.previous,
              }),
              onDone: [
                { guard: 'outputIsPlain', target: 'validating', actions: 'holdOutput' },
                { target: 'deciding', actions: 'recordUnplain' },
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
          // Transient: the verdict came with the attempt's result; this state routes on it.
          validating: {
            always: [
              { guard: 'validAndDone', target: '#agent.succeeded', actions: 'recordVerdict' },
              { target: 'deciding', actions: 'recordVerdict' },
            ],
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
            after: { backoff: 'attempting' },
            on: { 'agent.backoffDone': { guard: 'timerForThisAttempt', target: 'attempting' } },
          },
        },
      },
      succeeded: { type: 'final', entry: { type: 'finish', params: { status: 'succeeded' } } },
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
