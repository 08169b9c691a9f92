import type { Context } from '@restatedev/restate-sdk';
import { agentAttemptOf } from '../../machines/agent.js';
import type { AgentCall, AgentContext, AgentImplementation } from '../../machines/agent-context.js';
import { buildResult, closeAttempt, finalReason, keyOf, lastAttempt } from '../../machines/agent-context.js';
import type { AgentResult, AgentStatus } from '../../machines/agent-result.js';
import type { AttemptMeta } from '../../machines/attempt-meta.js';
import { classifyQuality } from '../../machines/quality.js';
import { backoffDelay } from '../../machines/retry.js';
import type { PlainData } from '../../machines/untrusted.js';
import { describeError } from '../../machines/untrusted.js';
import type { AnyAgent } from '../agent.js';
import { agentActor } from '../agent.js';

/**
 * One guarded agent call on Restate: the agent statechart's attempt loop with each attempt journaled
 * (`ctx.run`, keyed by its idempotency key) and each backoff a durable timer (`ctx.sleep`). The
 * transitions are the statechart's own (machines/agent.ts), over the same pure helpers, so the
 * AgentResult has the same shape, statuses, reasons and attempt records.
 */

export interface AgentCallInput {
  input: unknown;
  runId: string;
  stepId: string;
  visit: number;
  /** When the step started (journaled by the run): the agent's own deadline counts from here. */
  startedAt: number;
  /** The workflow's deadline (absolute ms): no attempt is started or allowed to run past it. */
  workflowDeadlineAt: number | null;
}

/** What one journaled attempt produced: the statechart's attempt output, or a timer. */
type AttemptRecordRaw = {
  startedAt: number;
  endedAt: number;
} & (
  | { kind: 'output'; checked: Checked }
  | { kind: 'threw'; error: { name: string; message: string } }
  | { kind: 'timer' }
);

type Checked =
  | (PlainData & { ok: false; meta?: AttemptMeta })
  | (PlainData & {
      ok: true;
      verdict: import('../../machines/agent-context.js').Verdict;
      meta?: AttemptMeta;
    });

/**
 * The agent statechart's attempt body (call + plain-data check + validation), so validation,
 * confidence and isDone are exactly the in-process ones.
 */
function attemptBody(
  agent: AnyAgent,
): (input: Omit<AgentCall, 'signal'>, signal: AbortSignal) => Promise<Checked> {
  const body = agentAttemptOf(agentActor(agent))!;
  return (input, signal) => body({ ...input, signal });
}

const usageOf = (meta: AttemptMeta | undefined) => (meta?.usage ? { usage: meta.usage } : {});

export async function callAgent(ctx: Context, agent: AnyAgent, call: AgentCallInput): Promise<AgentResult> {
  const spec = agent.spec;
  const body = attemptBody(agent);
  const startedAt = call.startedAt;
  const own = spec.limits.deadlineMs === null ? null : startedAt + spec.limits.deadlineMs;
  const deadlineAt =
    own === null
      ? call.workflowDeadlineAt
      : Math.min(own, call.workflowDeadlineAt ?? Number.POSITIVE_INFINITY);
  let c: AgentContext = {
    agentId: spec.id,
    stepId: call.stepId,
    visit: call.visit,
    runId: call.runId,
    input: call.input,
    limits: spec.limits,
    retry: spec.retry,
    quality: spec.quality,
    startedAt,
    deadlineAt,
    attempt: 0,
    attemptStartedAt: startedAt,
    attemptEndsAt: startedAt,
    inFlight: false,
    attempts: [],
    previous: null,
    candidate: null,
    final: null,
  };
  const finish = (status: AgentStatus, at: number): AgentResult => {
    c = { ...c, final: { status, reason: finalReason(status, c), endedAt: at } };
    return buildResult(c);
  };
  const lastEnd = () => lastAttempt(c)?.endedAt ?? c.startedAt;

  for (;;) {
    const attempt = c.attempt + 1;
    const key = keyOf(c, attempt);
    const previous = c.previous;
    const input = c.input;
    const timeoutMs = spec.limits.attemptTimeoutMs;
    const deadline = c.deadlineAt;
    // The attempt, its validation and its time bound in one journaled step: after a crash a finished
    // attempt is read back from the journal; an unfinished one runs again with the same key.
    const raw = await ctx.run<AttemptRecordRaw>(`attempt ${key}`, async () => {
      const at = Date.now();
      const endsAt = Math.min(at + timeoutMs, deadline ?? Number.POSITIVE_INFINITY);
      const controller = new AbortController();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<'timer'>((resolve) => {
        timer = setTimeout(
          () => {
            controller.abort(new Error(`attempt ${attempt} timed out`));
            resolve('timer');
          },
          Math.max(0, endsAt - at),
        );
      });
      try {
        const out = await Promise.race([
          body({ input, attempt, idempotencyKey: key, previous }, controller.signal),
          timedOut,
        ]);
        if (out === 'timer') return { kind: 'timer', startedAt: at, endedAt: endsAt };
        return { kind: 'output', checked: out, startedAt: at, endedAt: Date.now() };
      } catch (error) {
        return { kind: 'threw', error: describeError(error), startedAt: at, endedAt: Date.now() };
      } finally {
        clearTimeout(timer);
      }
    });
    c = {
      ...c,
      attempt,
      attemptStartedAt: raw.startedAt,
      attemptEndsAt: raw.startedAt + timeoutMs,
      inFlight: true,
    };

    if (raw.kind === 'timer') {
      const deadlineCut = c.deadlineAt !== null && c.attemptEndsAt > c.deadlineAt;
      const outcome = deadlineCut ? 'deadline' : 'timedOut';
      c = {
        ...c,
        ...closeAttempt(c, raw.endedAt, {
          outcome,
          reason:
            outcome === 'timedOut'
              ? `no result within ${c.limits.attemptTimeoutMs} ms`
              : `the ${c.limits.deadlineMs ?? 'workflow'} ms deadline passed`,
        }),
      };
      if (deadlineCut) return finish('deadlineExceeded', raw.endedAt);
    } else if (raw.kind === 'threw') {
      const reason = `${raw.error.name}: ${raw.error.message}`;
      c = {
        ...c,
        ...closeAttempt(c, raw.endedAt, { outcome: 'threw', reason, error: raw.error }),
        previous: { attempt, outcome: 'threw', reason },
      };
    } else if (!raw.checked.ok) {
      const out = raw.checked as Checked & { ok: false; reason: string; bytes?: number };
      c = {
        ...c,
        ...closeAttempt(c, raw.endedAt, {
          outcome: 'invalid',
          reason: out.reason,
          ...(out.bytes === undefined ? {} : { bytes: out.bytes }),
          ...usageOf(out.meta),
        }),
        previous: { attempt, outcome: 'invalid', reason: out.reason },
      };
    } else {
      const out = raw.checked as Checked & { ok: true; value: unknown; bytes: number };
      const v = out.verdict;
      const sized = { bytes: out.bytes, ...usageOf(out.meta) };
      if (!v.valid) {
        const issues = v.issues.slice(0, 20);
        c = {
          ...c,
          ...closeAttempt(c, raw.endedAt, { outcome: 'invalid', reason: v.reason, issues, ...sized }),
          previous: { attempt, outcome: 'invalid', output: out.value, issues, reason: v.reason },
        };
      } else {
        const candidate = {
          content: v.output,
          confidence: v.confidence,
          quality: classifyQuality(v.confidence, c.quality),
        };
        c = {
          ...c,
          ...closeAttempt(c, raw.endedAt, {
            outcome: v.done ? 'valid' : 'notDone',
            confidence: v.confidence,
            ...(v.done ? {} : { reason: 'isDone returned false' }),
            ...sized,
          }),
          candidate,
          previous: v.done ? c.previous : { attempt, outcome: 'notDone', output: v.output },
        };
        if (v.done) return finish('succeeded', raw.endedAt);
      }
    }

    // deciding: the statechart's transient state, guard for guard.
    const attemptsLeft = c.attempt < c.limits.maxIterations;
    const last = lastAttempt(c)!;
    if (attemptsLeft && c.deadlineAt !== null && lastEnd() >= c.deadlineAt)
      return finish('deadlineExceeded', lastEnd());
    if (attemptsLeft && last.outcome === 'notDone') continue;
    const delay = backoffDelay(c.retry, c.attempt, keyOf(c, c.attempt));
    if (attemptsLeft && c.deadlineAt !== null && lastEnd() + delay >= c.deadlineAt)
      return finish('deadlineExceeded', lastEnd());
    if (attemptsLeft) {
      // backingOff: a durable timer, kept by the server even if this worker dies meanwhile.
      if (delay > 0) await ctx.sleep(delay, `backoff ${keyOf(c, c.attempt)}`);
      continue;
    }
    const status: AgentStatus =
      last.outcome === 'timedOut'
        ? 'timedOut'
        : last.outcome === 'threw'
          ? 'failed'
          : last.outcome === 'invalid'
            ? 'invalidOutput'
            : 'maxIterations';
    return finish(status, lastEnd());
  }
}

export type { AgentImplementation };
