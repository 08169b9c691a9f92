import * as restate from '@restatedev/restate-sdk';
import type { ValidationIssue } from '../../machines/agent-result.js';
import { checkEdit, malformed } from '../../machines/escalation-checks.js';
import type {
  DecisionRecord,
  EscalationContext,
  EscalationOutcome,
} from '../../machines/escalation-context.js';
import { buildOutcome } from '../../machines/escalation-context.js';
import type { ReviewErrorCode } from '../review/errors.js';
import { schemaValidator } from '../review/validate.js';
import type { Workflow } from '../workflow/define.js';

/**
 * A human decision on a review, taken by the run's shared `decide` handler on whichever worker the
 * server picks: checked with the escalation statechart's own checks (malformed decision, nothing to
 * approve, an edit against the agent's output schema), then written to the review's durable promise.
 */

export interface ReviewDecisionRequest {
  reviewId: string;
  type: 'review.approve' | 'review.edit' | 'review.reject';
  by: string;
  at?: number;
  output?: unknown;
  reason?: string;
}

export type ReviewDecisionResult =
  | { ok: true; outcome: EscalationOutcome }
  | {
      ok: false;
      code: ReviewErrorCode;
      message: string;
      issues?: ValidationIssue[];
      outcome?: EscalationOutcome;
      /** For refusals: the statechart's refusal kind and reason, so the client words it the same. */
      refusal?: { kind: 'invalidEdit' | 'nothingToApprove' | 'invalidDecision'; reason: string };
    };

export async function decideReview(
  ctx: restate.WorkflowSharedContext,
  req: ReviewDecisionRequest,
  workflow: Workflow | undefined,
): Promise<ReviewDecisionResult> {
  const c = await ctx.get<EscalationContext>(`review:${req.reviewId}`);
  if (!c) return { ok: false, code: 'unknownReview', message: '' };
  if (c.decided) return { ok: false, code: 'alreadyDecided', message: '', outcome: buildOutcome(c) };
  const promise = ctx.promise<DecisionRecord>(`review:${req.reviewId}`);
  const earlier = await promise.peek();
  if (earlier)
    return {
      ok: false,
      code: 'alreadyDecided',
      message: '',
      outcome: buildOutcome({ ...c, decided: earlier }),
    };

  const refuse = (
    kind: 'invalidEdit' | 'nothingToApprove' | 'invalidDecision',
    reason: string,
    issues: ValidationIssue[] = [],
  ) => ({ ok: false, code: kind, message: '', issues, refusal: { kind, reason } }) as const;
  const event = { ...req } as Parameters<typeof malformed>[0];
  const bad = malformed(event);
  if (bad) return refuse('invalidDecision', bad);
  if (req.type === 'review.approve' && c.output === null) {
    return refuse(
      'nothingToApprove',
      `review "${c.reviewId}" has no output to approve (${c.trigger}): edit it with an output, or reject it`,
    );
  }
  let editedOutput: unknown;
  if (req.type === 'review.edit') {
    const agent = workflow?.agents.get(c.agentId);
    if (!agent)
      return refuse('invalidEdit', `this worker does not know agent "${c.agentId}" to check the edit`);
    const checked = checkEdit(schemaValidator(agent.output), req.output);
    if (!checked.valid) return refuse('invalidEdit', checked.reason, checked.issues);
    editedOutput = checked.output;
  }
  const decidedAt = await ctx.date.now();
  const decision =
    req.type === 'review.approve' ? 'approved' : req.type === 'review.edit' ? 'edited' : 'rejected';
  const record: DecisionRecord = {
    decision,
    by: req.by,
    at: req.at ?? decidedAt,
    decidedAt,
    reason: req.type === 'review.reject' ? req.reason! : `${decision} by ${req.by}`,
    requestId: null,
    ...(req.type === 'review.edit' ? { editedOutput } : {}),
  };
  try {
    await promise.resolve(record);
  } catch (error) {
    // Another decision completed the promise first (decisions on one review may run concurrently):
    // it won, as in-process, where the review actor takes one event at a time.
    if (!(error instanceof restate.TerminalError)) throw error;
    const winner = await promise.peek();
    return {
      ok: false,
      code: 'alreadyDecided',
      message: '',
      outcome: buildOutcome({ ...c, decided: winner ?? record }),
    };
  }
  return { ok: true, outcome: buildOutcome({ ...c, decided: record }) };
}
