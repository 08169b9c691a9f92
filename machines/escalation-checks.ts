import type { ValidationIssue } from './agent-result.js';
import { type EscalationContext, type EscalationEvent, pendingContent } from './escalation-context.js';
import { type EscalationInput, EscalationInputSchema } from './escalation-options.js';
import { cloneData } from './frozen.js';
import { describeError, toPlainData } from './untrusted.js';

// What enters the escalation statechart from outside — its input, decisions, a human's edit — is
// checked here, as plain functions the machine's guards and actions call.

/** A human's edited output: valid (optionally normalised, e.g. zod's parsed data) or the issues. */
export type EditVerdict =
  | { valid: true; output?: unknown }
  | { valid: false; reason: string; issues: ValidationIssue[] };

/** Checks an edit synchronously, e.g. against the agent's output schema. */
export type EditValidator = (output: unknown) => EditVerdict;

/** Serialised size cap for an edited output. */
export const MAX_EDIT_BYTES = 1024 * 1024;

const MAX_ISSUES = 20;

export type CheckedEdit =
  | { valid: true; output: unknown }
  | { valid: false; reason: string; issues: ValidationIssue[] };

const invalid = (reason: string): CheckedEdit => ({
  valid: false,
  reason,
  issues: [{ path: '(root)', message: reason }],
});

const isThenable = (v: unknown): boolean =>
  typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';

/**
 * JSON data the run's shared state will take: the blackboard's key rules (no `__proto__`,
 * `constructor` or `prototype` anywhere), so an edit that a write would refuse is refused here,
 * while the human can still fix it, not after "OK".
 */
function storable(what: string, output: unknown): { ok: true; value: unknown } | CheckedEdit {
  const plain = toPlainData(output, MAX_EDIT_BYTES);
  if (!plain.ok) return invalid(`${what} ${plain.reason}`);
  const data = cloneData(plain.value);
  if (data.ok) return { ok: true, value: data.value };
  const path = data.path || '(root)';
  const reason =
    data.reason === 'forbiddenKey'
      ? `${what} contains the forbidden key "${data.segment}" at ${path}`
      : `${what} is not JSON data: ${data.message} at ${path}`;
  return { valid: false, reason, issues: [{ path, message: reason }] };
}

/** Untrusted on both sides: the human's output and the validator (which may throw or be async). */
export function checkEdit(validate: EditValidator, output: unknown): CheckedEdit {
  const plain = storable('the edited output', output);
  if (!('ok' in plain)) return plain;
  let verdict: EditVerdict;
  try {
    verdict = validate(plain.value);
  } catch (error) {
    return invalid(`validateEdit threw: ${describeError(error).message}`);
  }
  if (isThenable(verdict)) return invalid('validateEdit must return its verdict synchronously');
  if (!verdict || typeof verdict !== 'object') return invalid('validateEdit returned no verdict');
  if (!verdict.valid) {
    const issues = Array.isArray(verdict.issues) ? verdict.issues.slice(0, MAX_ISSUES) : [];
    return { valid: false, reason: String(verdict.reason ?? 'invalid'), issues };
  }
  if (verdict.output === undefined) return { valid: true, output: plain.value };
  const normalised = storable('the validated edit', verdict.output);
  return 'ok' in normalised ? { valid: true, output: normalised.value } : normalised;
}

export const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.trim().length > 0;

export type Decision = Extract<EscalationEvent, { type: 'review.approve' | 'review.edit' | 'review.reject' }>;

export const isDecision = (e: EscalationEvent): e is Decision =>
  e.type === 'review.approve' || e.type === 'review.edit' || e.type === 'review.reject';

/** Why a decision event is malformed, or null. */
export function malformed(event: EscalationEvent): string | null {
  if (!isDecision(event)) return null;
  if (!nonEmpty(event.by)) return 'a decision needs `by`: who decides, as a non-empty string';
  if (event.at !== undefined && !Number.isFinite(event.at)) return '`at` must be a finite number (ms)';
  if (event.type === 'review.reject' && !nonEmpty(event.reason))
    return 'a rejection needs a reason, as a non-empty string';
  return null;
}

/**
 * The context a review opens with. Throws a TypeError naming the field on bad input (the actor then
 * ends in XState's error status, and an invoking parent gets `xstate.error.actor.*`).
 */
export function initialContext(input: EscalationInput, openedAt: number): EscalationContext {
  const parsed = EscalationInputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new TypeError(`escalation input: ${issue.path.join('.') || 'input'} ${issue.message}`);
  }
  const config = parsed.data;
  // A JSON copy: the review shares nothing with the caller's objects, and persists as it is.
  const plain = config.output == null ? null : toPlainData(config.output, Number.POSITIVE_INFINITY);
  if (plain && !plain.ok) throw new TypeError(`escalation input: output ${plain.reason}`);
  return {
    reviewId: config.reviewId,
    runId: config.runId,
    stepId: config.stepId,
    visit: config.visit,
    agentId: config.agentId,
    trigger: config.trigger,
    output: plain ? plain.value : null,
    confidence: config.confidence,
    reason: config.reason,
    placeholder: pendingContent(config.confidence, config.trigger),
    timeoutMs: config.timeoutMs,
    onTimeout: config.onTimeout,
    notify: config.notify,
    openedAt,
    expiresAt: config.timeoutMs === null ? null : openedAt + config.timeoutMs,
    notifyAttempt: 0,
    notifyAttemptEndsAt: null,
    nextNotifyAt: null,
    notifiedAt: null,
    notifyFailures: [],
    refusals: [],
    decided: null,
  };
}
