import type { Quality } from './quality.js';
import { capText, MAX_NAME } from './untrusted.js';

/** Every way out of a guarded agent call. Each is a final state of the agent statechart. */
export type AgentStatus =
  | 'succeeded'
  | 'timedOut'
  | 'maxIterations'
  | 'invalidOutput'
  | 'failed'
  | 'deadlineExceeded'
  | 'cancelled';

export type FallbackStatus = Exclude<AgentStatus, 'succeeded'>;

/** Explicit content a consumer gets instead of an output, in the seed's wording. */
export const FALLBACK_CONTENT: Readonly<Record<FallbackStatus, string>> = Object.freeze({
  timedOut: '[Timeout — escalating to human review]',
  maxIterations: '[Max iterations reached — escalating]',
  invalidOutput: '[Invalid output — escalating to human review]',
  failed: '[Agent failed — escalating to human review]',
  deadlineExceeded: '[Deadline exceeded — escalating to human review]',
  cancelled: '[Cancelled — no output]',
});

/** How one attempt ended. `notDone`: valid output that the agent's `isDone` check rejected. */
export type AttemptOutcome =
  | 'valid'
  | 'notDone'
  | 'invalid'
  | 'threw'
  | 'timedOut'
  | 'deadline'
  | 'cancelled';

export interface ValidationIssue {
  path: string;
  message: string;
}

/** Schema issues (zod's) as plain records: a dotted path, `(root)` for the value itself. */
export const toValidationIssues = (
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
): ValidationIssue[] =>
  issues.map((i) => ({
    // Keys come from the agent's output, messages may quote it: both are untrusted text.
    path: capText(i.path.map(String).join('.'), MAX_NAME) || '(root)',
    message: capText(i.message),
  }));

/** Token counts of one attempt, as plain JSON; a count that was not reported is absent. */
export interface TokenUsage {
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
  reasoningTokens?: number;
  cachedInputTokens?: number;
}

export interface AttemptRecord {
  /** 1-based. */
  attempt: number;
  idempotencyKey: string;
  startedAt: number;
  endedAt: number;
  durationMs: number;
  outcome: AttemptOutcome;
  /** Why the attempt did not produce a usable output (absent for `valid`). */
  reason?: string;
  /** Schema issues, for `invalid`. */
  issues?: ValidationIssue[];
  /** The thrown value, normalised (a thrown string or object is not an Error). */
  error?: { name: string; message: string };
  confidence?: number;
  /** Serialised size of the output in bytes, when one was returned. */
  bytes?: number;
  /** Tokens the attempt spent, when its `run` reported them (`withAttemptMeta`). */
  usage?: TokenUsage;
}

interface ResultBase {
  agentId: string;
  /** A sentence saying why the call ended this way. */
  reason: string;
  attempts: AttemptRecord[];
  startedAt: number;
  endedAt: number;
  durationMs: number;
}

export interface AgentSuccess<T = unknown> extends ResultBase {
  status: 'succeeded';
  fallback: false;
  /** The validated output. */
  content: T;
  confidence: number;
  quality: Quality;
}

export interface AgentFallback<T = unknown> extends ResultBase {
  status: FallbackStatus;
  fallback: true;
  /** Explicit fallback text, never a silent empty value. */
  content: string;
  confidence: 0;
  quality: 'LOW';
  /** The last output that did validate (e.g. when `isDone` never passed), for a reviewer to use. */
  candidate?: { content: T; confidence: number; quality: Quality };
}

/** The typed output of every final state of the agent statechart. */
export type AgentResult<T = unknown> = AgentSuccess<T> | AgentFallback<T>;

export const isAgentFallback = <T>(r: AgentResult<T>): r is AgentFallback<T> => r.fallback === true;
