import { enqueueActions, fromPromise, type SnapshotFrom, setup } from 'xstate';
import { now } from './clock.js';
import {
  type CheckedEdit,
  checkEdit,
  type EditValidator,
  initialContext,
  isDecision,
  malformed,
  nonEmpty,
} from './escalation-checks.js';
import type {
  DecisionRecord,
  EscalationContext,
  EscalationEmitted,
  EscalationEvent,
  EscalationNotice,
  EscalationOutcome,
  HumanDecision,
  Refusal,
} from './escalation-context.js';
import {
  appendBounded,
  buildOutcome,
  MAX_NOTIFY_FAILURES,
  MAX_REFUSALS,
  noticeOf,
} from './escalation-context.js';
import type { EscalationInput, NotifyPolicyOptions } from './escalation-options.js';
import { backoffDelay } from './retry.js';
import { capText, describeError, MAX_NAME } from './untrusted.js';

export type { EditValidator, EditVerdict } from './escalation-checks.js';
export { MAX_EDIT_BYTES } from './escalation-checks.js';

export type {
  DecisionRecord,
  EscalationContext,
  EscalationDecision,
  EscalationEmitted,
  EscalationEvent,
  EscalationNotice,
  EscalationOutcome,
  HumanDecision,
  NotifyFailure,
  Refusal,
  Resolution,
  ReviewStatus,
} from './escalation-context.js';
export type {
  EscalationConfig,
  EscalationInput,
  EscalationTrigger,
  NotifyPolicy,
  NotifyPolicyOptions,
  TimeoutPolicy,
} from './escalation-options.js';

/**
 * A human in the loop, as a statechart:
 *
 *   open (parallel) ─┬─ review: notifying (call the hook; retry with backoff; give up) → awaitingReview
 *                    └─ expiry: armed (after timeoutMs from opening) | unarmed
 *   open ── review.approve → approved · review.edit [valid] → edited · review.reject → rejected
 *        ── expiry → expired (output resolution: the step's `onTimeout` policy)
 *
 * Decisions are taken in `open`, so a human may decide while the hook is still being called. A hook
 * that keeps failing is recorded in `notifyFailures` and the review still waits: it is never lost.
 * A refused decision (invalid edit, nothing to approve, no `by`) leaves the review open and is
 * recorded in `refusals`. Context is plain JSON; the hook is the `notify` actor, provided by name.
 *
 * After restoring a persisted snapshot, send `restore`: XState does not restore pending `after`
 * timers, so the review timer is re-armed from the absolute `expiresAt` (expiring at once when past
 * it), and the notify timers from their absolute ends. A restored in-flight hook call runs again; a
 * review whose hook gave up before the restart is notified again (a fresh round of attempts); one
 * whose hook succeeded is not.
 */

export interface EscalationImplementation {
  /** Default: any JSON data up to MAX_EDIT_BYTES is accepted. */
  validateEdit?: EditValidator;
  /** How the hook is retried when the input does not say (e.g. the runtime's `escalationRetry`). */
  notify?: NotifyPolicyOptions;
}

/** Builds the statechart with its edit validator; the hook is the `notify` actor, provided by name. */
export function createEscalationMachine(impl: EscalationImplementation = {}) {
  const validate: EditValidator = impl.validateEdit ?? (() => ({ valid: true }));
  // Guard and actions of one transition see the same event object: validate each edit once.
  const verdicts = new WeakMap<object, CheckedEdit>();
  const verdictOf = (event: EscalationEvent): CheckedEdit => {
    let checked = verdicts.get(event);
    if (!checked) {
      checked = checkEdit(validate, event.type === 'review.edit' ? event.output : undefined);
      verdicts.set(event, checked);
    }
    return checked;
  };

  return setup({
    types: {
      context: {} as EscalationContext,
      events: {} as EscalationEvent,
      input: {} as EscalationInput,
      output: {} as EscalationOutcome,
      emitted: {} as EscalationEmitted,
    },
    actors: {
      // Provided by whoever runs the machine (the runtime's `onEscalation` hook). Default: nobody to tell.
      notify: fromPromise<void, EscalationNotice>(async () => {}),
    },
    delays: {
      // All derived from absolute times in context, so a re-armed timer ends when the first would have.
      reviewTimeout: ({ context, system }) => Math.max(0, (context.expiresAt ?? 0) - now(system)),
      notifyTimeout: ({ context, system }) => Math.max(0, (context.notifyAttemptEndsAt ?? 0) - now(system)),
      notifyBackoff: ({ context, system }) => Math.max(0, (context.nextNotifyAt ?? 0) - now(system)),
    },
    guards: {
      hasTimeout: ({ context }) => context.expiresAt !== null,
      notifyAttemptsLeft: ({ context }) => context.notifyAttempt < context.notify.maxAttempts,
      neverNotified: ({ context }) => context.notifiedAt === null,
      decisionMalformed: ({ event }) => malformed(event) !== null,
      nothingToApprove: ({ context }) => context.output === null,
      editIsValid: ({ event }) => event.type === 'review.edit' && verdictOf(event).valid,
    },
    actions: {
      emitEscalated: enqueueActions(({ context, enqueue }) => {
        enqueue.emit({
          type: 'escalated',
          reviewId: context.reviewId,
          runId: context.runId,
          stepId: context.stepId,
          agentId: context.agentId,
          trigger: context.trigger,
          confidence: context.confidence,
          reason: context.reason,
          openedAt: context.openedAt,
          expiresAt: context.expiresAt,
        });
      }),
      beginNotify: enqueueActions(({ context, enqueue, system }) => {
        enqueue.assign({
          notifyAttempt: context.notifyAttempt + 1,
          notifyAttemptEndsAt: now(system) + context.notify.attemptTimeoutMs,
          nextNotifyAt: null,
        });
      }),
      // A fresh round of attempts: the hook gave up before a restart and nobody has been told yet.
      renotify: enqueueActions(({ enqueue }) => {
        enqueue.assign({ notifyAttempt: 0, notifyAttemptEndsAt: null, nextNotifyAt: null });
      }),
      recordNotified: enqueueActions(({ context, enqueue, system }) => {
        const at = now(system);
        enqueue.assign({ notifiedAt: at, notifyAttemptEndsAt: null });
        enqueue.emit({ type: 'notified', reviewId: context.reviewId, attempt: context.notifyAttempt, at });
      }),
      recordNotifyFailure: enqueueActions(
        ({ context, event, enqueue, system }, params: { cause: 'threw' | 'timedOut' }) => {
          let reason = `the hook did not settle within ${context.notify.attemptTimeoutMs} ms`;
          if (params.cause === 'threw') {
            const error = describeError((event as unknown as { error: unknown }).error);
            reason = `the hook threw ${error.name}: ${error.message}`;
          }
          const failure = { attempt: context.notifyAttempt, at: now(system), reason };
          enqueue.assign({
            notifyFailures: appendBounded(context.notifyFailures, failure, MAX_NOTIFY_FAILURES),
            notifyAttemptEndsAt: null,
          });
        },
      ),
      // Retry after a backoff, or give up: either way the failure is announced and the review waits.
      notifyFailed: enqueueActions(({ context, enqueue, system }, params: { retry: boolean }) => {
        const at = now(system);
        const delay = backoffDelay({ ...context.notify, jitter: 0 }, context.notifyAttempt, context.reviewId);
        const nextAttemptAt = params.retry ? at + delay : null;
        if (params.retry) enqueue.assign({ nextNotifyAt: nextAttemptAt });
        enqueue.emit({
          type: 'notifyFailed',
          reviewId: context.reviewId,
          attempt: context.notifyAttempt,
          at,
          reason: context.notifyFailures[context.notifyFailures.length - 1]?.reason ?? 'failed',
          willRetry: params.retry,
          nextAttemptAt,
        });
      }),
      // One action for every refusal, so each is recorded (and emitted) the same way.
      refuse: enqueueActions(({ context, event, enqueue, system }, params: { kind: Refusal['kind'] }) => {
        if (!isDecision(event)) return;
        let reason = malformed(event) ?? 'malformed decision';
        let issues: Refusal['issues'] = [];
        if (params.kind === 'nothingToApprove') {
          reason = `review "${context.reviewId}" has no output to approve (${context.trigger}): edit it with an output, or reject it`;
        } else if (params.kind === 'invalidEdit') {
          const checked = verdictOf(event);
          if (checked.valid) return;
          ({ reason, issues } = checked);
        }
        const refusal: Refusal = {
          kind: params.kind,
          requestId: event.requestId ?? null,
          by: nonEmpty(event.by) ? capText(event.by, MAX_NAME) : null,
          at: now(system),
          reason,
          issues,
        };
        enqueue.assign({ refusals: appendBounded(context.refusals, refusal, MAX_REFUSALS) });
        const { requestId: _, ...emitted } = refusal;
        enqueue.emit({ type: 'refused', reviewId: context.reviewId, ...emitted });
      }),
      decide: enqueueActions(({ context, event, enqueue, system }, params: { decision: HumanDecision }) => {
        if (!isDecision(event)) return;
        const decidedAt = now(system);
        const at = event.at ?? decidedAt;
        const edited = params.decision === 'edited' ? verdictOf(event) : null;
        // Who decided and why come from outside: kept bounded and free of control characters.
        const by = capText(event.by, MAX_NAME);
        const record: DecisionRecord = {
          decision: params.decision,
          by,
          at,
          decidedAt,
          reason: event.type === 'review.reject' ? capText(event.reason) : `${params.decision} by ${by}`,
          requestId: event.requestId ?? null,
          ...(edited?.valid ? { editedOutput: edited.output } : {}),
        };
        enqueue.assign({ decided: record, notifyAttemptEndsAt: null, nextNotifyAt: null });
        enqueue.emit({
          type: 'decided',
          reviewId: context.reviewId,
          decision: params.decision,
          by,
          at,
          decidedAt,
        });
      }),
      expire: enqueueActions(({ context, enqueue, system }) => {
        const decidedAt = now(system);
        const at = context.expiresAt ?? decidedAt;
        enqueue.assign({
          decided: {
            decision: 'expired',
            by: null,
            at,
            decidedAt,
            reason: `no decision within ${context.timeoutMs} ms; the step's policy on timeout is "${context.onTimeout}"`,
            requestId: null,
          },
          notifyAttemptEndsAt: null,
          nextNotifyAt: null,
        });
        enqueue.emit({
          type: 'expired',
          reviewId: context.reviewId,
          at,
          decidedAt,
          onTimeout: context.onTimeout,
        });
      }),
      // A pending timer is not restored with a snapshot; when already past expiresAt, expire now.
      expireIfDue: enqueueActions(({ context, enqueue, system }) => {
        if (context.expiresAt !== null && now(system) >= context.expiresAt)
          enqueue.raise({ type: 'escalation.expire' });
      }),
    },
  }).createMachine({
    id: 'escalation',
    context: ({ input, self }) =>
      initialContext(
        impl.notify !== undefined && input?.notify === undefined ? { ...input, notify: impl.notify } : input,
        now(self.system),
      ),
    initial: 'open',
    states: {
      open: {
        type: 'parallel',
        entry: 'emitEscalated',
        on: {
          'review.approve': [
            { guard: 'decisionMalformed', actions: { type: 'refuse', params: { kind: 'invalidDecision' } } },
            { guard: 'nothingToApprove', actions: { type: 'refuse', params: { kind: 'nothingToApprove' } } },
            { target: 'approved', actions: { type: 'decide', params: { decision: 'approved' } } },
          ],
          'review.edit': [
            { guard: 'decisionMalformed', actions: { type: 'refuse', params: { kind: 'invalidDecision' } } },
            {
              guard: 'editIsValid',
              target: 'edited',
              actions: { type: 'decide', params: { decision: 'edited' } },
            },
            { actions: { type: 'refuse', params: { kind: 'invalidEdit' } } },
          ],
          'review.reject': [
            { guard: 'decisionMalformed', actions: { type: 'refuse', params: { kind: 'invalidDecision' } } },
            { target: 'rejected', actions: { type: 'decide', params: { decision: 'rejected' } } },
          ],
        },
        states: {
          review: {
            initial: 'notifying',
            states: {
              notifying: {
                initial: 'calling',
                states: {
                  calling: {
                    entry: 'beginNotify',
                    invoke: {
                      id: 'notify',
                      src: 'notify',
                      input: ({ context }) => noticeOf(context),
                      onDone: { target: '#escalation.open.review.awaitingReview', actions: 'recordNotified' },
                      onError: {
                        target: 'failed',
                        actions: { type: 'recordNotifyFailure', params: { cause: 'threw' } },
                      },
                    },
                    // The timer sits in a child state so `restore` can re-arm it without calling the hook again.
                    initial: 'waiting',
                    states: {
                      waiting: {
                        after: {
                          notifyTimeout: {
                            target: '#escalation.open.review.notifying.failed',
                            actions: { type: 'recordNotifyFailure', params: { cause: 'timedOut' } },
                          },
                        },
                        on: { restore: { target: 'waiting', reenter: true } },
                      },
                    },
                  },
                  // Transient: retry after a backoff, or give up notifying (the review still waits).
                  failed: {
                    always: [
                      {
                        guard: 'notifyAttemptsLeft',
                        target: 'backingOff',
                        actions: { type: 'notifyFailed', params: { retry: true } },
                      },
                      {
                        target: '#escalation.open.review.awaitingReview',
                        actions: { type: 'notifyFailed', params: { retry: false } },
                      },
                    ],
                  },
                  backingOff: {
                    after: { notifyBackoff: 'calling' },
                    on: { restore: { target: 'backingOff', reenter: true } },
                  },
                },
              },
              // Restored after the hook gave up: nobody was told, so tell them now. A review whose
              // hook succeeded (notifiedAt is persisted) is not notified again.
              awaitingReview: {
                on: { restore: { guard: 'neverNotified', target: 'notifying', actions: 'renotify' } },
              },
            },
          },
          expiry: {
            initial: 'checking',
            states: {
              // A null timeout arms no timer at all (a huge one would keep the process alive).
              checking: { always: [{ guard: 'hasTimeout', target: 'armed' }, { target: 'unarmed' }] },
              unarmed: {},
              armed: {
                after: { reviewTimeout: '#escalation.expired' },
                on: {
                  restore: { target: 'armed', reenter: true, actions: 'expireIfDue' },
                  'escalation.expire': '#escalation.expired',
                },
              },
            },
          },
        },
      },
      approved: { type: 'final' },
      edited: { type: 'final' },
      rejected: { type: 'final' },
      expired: { type: 'final', entry: 'expire' },
    },
    output: ({ context }) => buildOutcome(context),
  });
}

/** The statechart with the default implementations: no hook, any JSON edit accepted. */
export const escalationMachine = createEscalationMachine();

export type EscalationMachine = ReturnType<typeof createEscalationMachine>;
export type EscalationSnapshot = SnapshotFrom<EscalationMachine>;
