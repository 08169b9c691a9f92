import * as restate from '@restatedev/restate-sdk';
import { initialContext } from '../../machines/escalation-checks.js';
import type { DecisionRecord, EscalationContext } from '../../machines/escalation-context.js';
import { buildOutcome, noticeOf } from '../../machines/escalation-context.js';
import { reviewEnding } from '../../machines/step-endings.js';
import type { RunAwaitingReview } from '../run-result.js';
import { awaitedReview } from '../run-result.js';
import { REVIEW_OBJECT, REVIEWS_KEY, REVIEWS_OBJECT } from './names.js';
import type { ReviewObject } from './review-object.js';
import type { PendingEntry, ReviewsObject } from './reviews-object.js';
import type { RunScope, Settled, Slot, StepEnd } from './run-scope.js';
import { ended, guarded } from './run-scope.js';

/** Bound on one call of the escalation hook. */
const NOTIFY_TIMEOUT_MS = 10_000;

/**
 * The group's reviews: each opens (state for `decide`, an entry in the cluster's index, the
 * escalation hook, journaled), the run's first pause settles `run.result`, then all are awaited
 * together — each a durable promise bounded by a durable timer (the review timeout, or what is left
 * of the workflow's deadline) that fires even if no worker is up when it is due.
 */
export async function reviewGroup(
  scope: RunScope,
  slots: Slot[],
): Promise<{ end: StepEnd | null; reviewedAt: number }> {
  const { ctx, runId, workflow, view, save, deadlineAt, startedAt, onEscalation, deadlineOutcome } = scope;
  let reviewedAt = 0;
  const end = await (async (): Promise<StepEnd | null> => {
    // Human review: every review of the group opens, then they are awaited together.
    const reviewing = slots.filter((s) => s.review);
    if (reviewing.length > 0) {
      const openedAt = await ctx.date.now();
      const contexts = reviewing.map((s) =>
        initialContext(
          {
            reviewId: s.review!.reviewId,
            runId,
            stepId: s.b.id,
            visit: s.visit,
            agentId: s.b.agentId,
            trigger: s.review!.trigger,
            output: s.review!.output,
            confidence: s.review!.confidence,
            reason: s.review!.reason,
            timeoutMs: s.b.review!.timeoutMs,
            onTimeout: s.b.review!.onTimeout,
          },
          openedAt,
        ),
      );
      for (const c of contexts) {
        ctx.set(`review:${c.reviewId}`, c);
        // Where a decision finds the run: the client looks the run up by review id, never parses it.
        await ctx.objectClient<ReviewObject>({ name: REVIEW_OBJECT }, c.reviewId).open(runId);
        // Awaited: once `run.result` says awaitingReview, `reviews.list()` has the review.
        await ctx.objectClient<ReviewsObject>({ name: REVIEWS_OBJECT }, REVIEWS_KEY).add({
          reviewId: c.reviewId,
          runId,
          stepId: c.stepId,
          visit: c.visit,
          agentId: c.agentId,
          output: c.output,
          confidence: c.confidence,
          reason: c.reason,
          trigger: c.trigger,
          placeholder: c.placeholder,
          openedAt: c.openedAt,
          expiresAt: c.expiresAt,
          status: 'awaitingReview',
          notifyFailures: [],
        } satisfies PendingEntry);
      }
      // The hook (log, alert, ticket), each call journaled; a failure is recorded and the review waits.
      for (const c of contexts) {
        const notice = noticeOf({ ...c, notifyAttempt: 1 });
        const told = await ctx.run(`notify ${c.reviewId}`, () =>
          guarded(async () => {
            await onEscalation(notice, { signal: AbortSignal.timeout(NOTIFY_TIMEOUT_MS) });
            return Date.now();
          }),
        );
        Object.assign(
          c,
          told.ok
            ? { notifiedAt: told.value, notifyAttempt: 1 }
            : { notifyAttempt: 1, notifyFailures: [{ attempt: 1, at: openedAt, reason: told.message }] },
        );
        ctx.set(`review:${c.reviewId}`, c);
      }
      for (const c of contexts) {
        view.reviews.push({
          reviewId: c.reviewId,
          stepId: c.stepId,
          visit: c.visit,
          agentId: c.agentId,
          trigger: c.trigger,
          confidence: c.confidence,
          escalationReason: c.reason,
          openedAt: c.openedAt,
        });
      }
      view.status = 'awaitingReview';
      save();
      if (!scope.pausedOnce) {
        scope.pausedOnce = true;
        const paused: RunAwaitingReview = {
          status: 'awaitingReview',
          runId,
          workflowId: workflow.id,
          output: contexts[0]!.placeholder,
          reviews: contexts.map(awaitedReview),
          steps: [...view.steps],
          startedAt,
          endedAt: openedAt,
          durationMs: openedAt - startedAt,
        };
        const settled = ctx.promise<Settled>('settled');
        if ((await settled.peek()) === undefined) await settled.resolve({ kind: 'paused', result: paused });
      }
      // Each wait is a durable promise, bounded by a durable timer (the review timeout, or what is
      // left of the workflow's deadline): it fires even if no worker is up when it is due.
      const waits = contexts.map((c) => {
        const limits = [c.expiresAt, deadlineAt].filter((t): t is number => t !== null);
        const promise = ctx.promise<DecisionRecord>(`review:${c.reviewId}`).get();
        if (limits.length === 0) return promise.map((value) => ({ value: value ?? null }));
        const waitMs = Math.max(0, Math.min(...limits) - openedAt);
        return promise
          .orTimeout(waitMs)
          .map((value, failure) => ({ value: failure ? null : (value ?? null) }));
      });
      const decided = await restate.RestatePromise.all(waits);
      const closedAt = await ctx.date.now();
      reviewedAt = closedAt;
      view.status = 'running';
      for (const [i, s] of reviewing.entries()) {
        const c: EscalationContext = contexts[i]!;
        const record0 = decided[i]!.value;
        if (!record0 && c.expiresAt === null) return { outcome: deadlineOutcome() };
        if (!record0 && deadlineAt !== null && c.expiresAt !== null && deadlineAt < c.expiresAt)
          return { outcome: deadlineOutcome() };
        const decidedRecord: DecisionRecord = record0 ?? {
          decision: 'expired',
          by: null,
          at: c.expiresAt ?? closedAt,
          decidedAt: closedAt,
          reason: `no decision within ${c.timeoutMs} ms; the step's policy on timeout is "${c.onTimeout}"`,
          requestId: null,
        };
        const closed = { ...c, decided: decidedRecord };
        ctx.set(`review:${c.reviewId}`, closed);
        await ctx.objectClient<ReviewsObject>({ name: REVIEWS_OBJECT }, REVIEWS_KEY).remove(c.reviewId);
        const o = buildOutcome(closed);
        const reviewed = { reviewId: o.reviewId, decision: o.decision, by: o.by, decidedAt: o.decidedAt };
        Object.assign(view.reviews.find((r) => r.reviewId === c.reviewId) ?? {}, {
          decision: o.decision,
          by: o.by,
          decidedAt: o.decidedAt,
          reason: o.reason,
        });
        if (o.resolution === 'output') {
          s.output = o.output;
          s.reviewed = reviewed;
          continue;
        }
        const step = { stepId: s.b.id, agentId: s.b.agentId };
        return ended(
          s,
          closedAt,
          reviewEnding(step, s.result, s.review?.confidence ?? 0, o as typeof o & { content: string }),
        );
      }
    }

    return null;
  })();
  return { end, reviewedAt };
}
