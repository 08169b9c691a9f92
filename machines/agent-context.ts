import type {
  AgentResult,
  AgentStatus,
  AttemptOutcome,
  AttemptRecord,
  ValidationIssue,
} from './agent-result.js';
import { FALLBACK_CONTENT } from './agent-result.js';
import type { AttemptMeta } from './attempt-meta.js';
import { withItem } from './lists.js';
import type { Quality, QualityThresholds } from './quality.js';
import { classifyQuality } from './quality.js';
import type { RetryPolicy } from './retry.js';
import type { PlainData } from './untrusted.js';

// The agent statechart's plain-data side: its context, events and the pure functions over them.

export interface AgentLimits {
  maxIterations: number;
  attemptTimeoutMs: number;
  /** Bound on the whole call; null = only maxIterations × attemptTimeoutMs + backoff. */
  deadlineMs: number | null;
}

/** The plain-data description of an agent that its statechart runs with. */
export interface AgentSpec {
  id: string;
  limits: AgentLimits;
  retry: RetryPolicy;
  quality: QualityThresholds;
  maxOutputBytes: number;
}

/** What the previous attempt left, so the agent can do better on the next one. */
export interface PreviousAttempt {
  attempt: number;
  outcome: AttemptOutcome;
  /** The previous output (validated for `notDone`, as returned for `invalid`), when it was plain data. */
  output?: unknown;
  issues?: ValidationIssue[];
  reason?: string;
}

export interface AgentCall {
  input: unknown;
  attempt: number;
  idempotencyKey: string;
  previous: PreviousAttempt | null;
  signal: AbortSignal;
}

export type Verdict =
  | { valid: true; output: unknown; confidence: number; done: boolean }
  | { valid: false; reason: string; issues: ValidationIssue[] };

/** The parts of an agent that are code, not data. */
export interface AgentImplementation {
  /** The user's function. Untrusted: may throw anything, hang, or return anything. */
  run(call: AgentCall): unknown;
  /**
   * Schema, confidence and termination check on a plain-data output. `meta` is what the run
   * reported beside it (`withAttemptMeta`), already read and reduced to plain data.
   */
  validate(output: unknown, meta?: AttemptMeta): Promise<Verdict> | Verdict;
}

export interface AgentMachineInput {
  input: unknown;
  /** Stable across restarts; part of every idempotency key. Defaults to a random UUID. */
  runId?: string;
  /** The workflow step this call serves; defaults to the agent id. */
  stepId?: string;
  /** Which execution of the step (a step in a loop runs more than once); part of the key. */
  visit?: number;
}

/**
 * Kept under 20 fields: XState copies context with `Object.assign({}, …)` on every assign, and V8
 * turns such a copy with 20 or more properties into a dictionary (slower, and larger per run).
 * Static parts of the spec that nothing reads from a snapshot (the output byte cap) stay in the
 * machine's closure.
 */
export interface AgentContext {
  agentId: string;
  stepId: string;
  visit: number | null;
  runId: string;
  input: unknown;
  limits: AgentLimits;
  retry: RetryPolicy;
  quality: QualityThresholds;
  startedAt: number;
  /** Absolute times, so timers can be re-armed after a restore. */
  deadlineAt: number | null;
  attempt: number;
  attemptStartedAt: number;
  attemptEndsAt: number;
  inFlight: boolean;
  attempts: AttemptRecord[];
  previous: PreviousAttempt | null;
  candidate: { content: unknown; confidence: number; quality: Quality } | null;
  final: { status: AgentStatus; reason: string; endedAt: number } | null;
}

export type AgentEvent =
  | { type: 'cancel'; reason?: string }
  /** Send after restoring a persisted snapshot: re-arms the timer of the current state. */
  | { type: 'restore' }
  | AttemptEvent
  | { type: 'agent.backoffDone'; attempt: number };

/** How an attempt ends, told to the agent with the attempt's number (machines/agent-attempt.ts). */
export type AttemptEvent =
  | { type: 'agent.output'; attempt: number; output: CheckedOutput }
  /** `error` is what the agent threw, as thrown: untrusted, described when the attempt is recorded. */
  | { type: 'agent.threw'; attempt: number; error: unknown }
  /** `deadline`: the timer was clipped to the deadline (absent in logs of earlier versions). */
  | { type: 'agent.attemptTimer'; attempt: number; deadline?: boolean };

export const MAX_ISSUES = 20;

export type AttemptFields = Omit<
  AttemptRecord,
  'attempt' | 'idempotencyKey' | 'startedAt' | 'endedAt' | 'durationMs'
>;

/**
 * The in-flight attempt's record, closed at `at` with `outcome`. Callers add the outcome's own
 * fields after it, so every record keeps one key order (attempt, …, outcome, reason, …).
 */
export function attemptRecord(context: AgentContext, at: number, outcome: AttemptOutcome): AttemptRecord {
  return {
    attempt: context.attempt,
    idempotencyKey: keyOf(context, context.attempt),
    startedAt: context.attemptStartedAt,
    endedAt: at,
    durationMs: at - context.attemptStartedAt,
    outcome,
  };
}

/** Close the in-flight attempt in the history. */
export function closeAttempt(
  context: AgentContext,
  at: number,
  fields: AttemptFields,
): Partial<AgentContext> {
  const record = Object.assign(attemptRecord(context, at, fields.outcome), fields);
  return { attempts: withItem(context.attempts, record), inFlight: false };
}

/**
 * What an attempt produced: its output as plain data with the verdict on it, or why it was not
 * plain data; either with what the run reported beside it (`withAttemptMeta`).
 */
export type CheckedOutput =
  | (PlainData & { ok: false; meta?: AttemptMeta })
  | (PlainData & { ok: true; verdict: Verdict; meta?: AttemptMeta });

/**
 * Close the in-flight attempt with what it produced, in one step: the record, the
 * candidate (a valid output) and what the next attempt is told (`previous`). Built field by field:
 * this runs once per attempt of every agent call.
 */
export function closeWithOutput(
  context: AgentContext,
  out: CheckedOutput,
  at: number,
  quality: QualityThresholds,
): Partial<AgentContext> {
  let record: AttemptRecord;
  let previous: PreviousAttempt | null;
  let candidate = context.candidate;
  if (!out.ok) {
    record = attemptRecord(context, at, 'invalid');
    record.reason = out.reason;
    if (out.bytes !== undefined) record.bytes = out.bytes;
    previous = { attempt: context.attempt, outcome: 'invalid', reason: out.reason };
  } else if (!out.verdict.valid) {
    const v = out.verdict;
    const issues = v.issues.slice(0, MAX_ISSUES);
    record = attemptRecord(context, at, 'invalid');
    record.reason = v.reason;
    record.issues = issues;
    record.bytes = out.bytes;
    previous = { attempt: context.attempt, outcome: 'invalid', output: out.value, issues, reason: v.reason };
  } else {
    const v = out.verdict;
    record = attemptRecord(context, at, v.done ? 'valid' : 'notDone');
    record.confidence = v.confidence;
    if (!v.done) record.reason = 'isDone returned false';
    record.bytes = out.bytes;
    candidate = {
      content: v.output,
      confidence: v.confidence,
      quality: classifyQuality(v.confidence, quality),
    };
    previous = v.done ? context.previous : { attempt: context.attempt, outcome: 'notDone', output: v.output };
  }
  if (out.meta?.usage) record.usage = out.meta.usage;
  return { attempts: withItem(context.attempts, record), inFlight: false, candidate, previous };
}

// Joined, not a template: a template makes a chain of string pieces, twice the bytes of the flat
// string an agent in flight keeps (in its call, its attempt record and its span).
export const keyOf = (c: Pick<AgentContext, 'runId' | 'stepId' | 'visit'>, attempt: number) =>
  (c.visit === null
    ? [c.runId, ':', c.stepId, ':', attempt]
    : [c.runId, ':', c.stepId, '.', c.visit, ':', attempt]
  ).join('');

export const lastAttempt = (c: AgentContext): AttemptRecord | undefined => c.attempts[c.attempts.length - 1];

// Guards get no clock; the last attempt's end time, recorded by the transition that closed it, stands in.
export const lastEndedAt = (c: AgentContext): number => lastAttempt(c)?.endedAt ?? c.startedAt;

export function finalReason(status: AgentStatus, c: AgentContext, cancelReason?: string): string {
  const of = `attempt ${c.attempt} of ${c.limits.maxIterations}`;
  switch (status) {
    case 'succeeded':
      return `validated on ${of}`;
    case 'timedOut':
      return `${of} timed out after ${c.limits.attemptTimeoutMs} ms`;
    case 'maxIterations':
      return `isDone was not satisfied within ${c.limits.maxIterations} iterations`;
    case 'invalidOutput':
      return `${of} returned invalid output: ${lastAttempt(c)?.reason ?? 'unknown'}`;
    case 'failed':
      return `${of} threw: ${lastAttempt(c)?.reason ?? 'unknown'}`;
    case 'deadlineExceeded':
      return c.inFlight || lastAttempt(c)?.outcome === 'deadline'
        ? `the ${c.limits.deadlineMs} ms deadline passed during ${of}`
        : `the ${c.limits.deadlineMs} ms deadline would pass before attempt ${c.attempt + 1} could start`;
    case 'cancelled':
      return `cancelled${c.attempt > 0 ? ` during ${of}` : ''}${cancelReason ? `: ${cancelReason}` : ''}`;
  }
}

// Built as literals in one key order (no spreads): this runs once per agent call.
export function buildResult(c: AgentContext): AgentResult {
  const final = c.final ?? {
    status: 'failed' as const,
    reason: 'ended without a final state',
    endedAt: c.startedAt,
  };
  const durationMs = final.endedAt - c.startedAt;
  if (final.status === 'succeeded' && c.candidate) {
    return {
      agentId: c.agentId,
      reason: final.reason,
      attempts: c.attempts,
      startedAt: c.startedAt,
      endedAt: final.endedAt,
      durationMs,
      status: 'succeeded',
      fallback: false,
      content: c.candidate.content,
      confidence: c.candidate.confidence,
      quality: c.candidate.quality,
    };
  }
  const status = final.status === 'succeeded' ? 'failed' : final.status;
  const result: AgentResult = {
    agentId: c.agentId,
    reason: final.reason,
    attempts: c.attempts,
    startedAt: c.startedAt,
    endedAt: final.endedAt,
    durationMs,
    status,
    fallback: true,
    content: FALLBACK_CONTENT[status],
    confidence: 0,
    quality: 'LOW',
  };
  if (c.candidate) result.candidate = c.candidate;
  return result;
}
