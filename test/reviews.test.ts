import { describe, expect, it, vi } from 'vitest';
import { type AnyActorRef, assign, createActor, createMachine, sendTo, setup as setupMachine } from 'xstate';
import { z } from 'zod';
import {
  type EscalationInput,
  type EscalationMachine,
  type EscalationOutcome,
  escalationMachine,
} from '../machines/escalation.js';
import { isOptionsError } from '../src/errors.js';
import { isReviewError, type ReviewError } from '../src/review/errors.js';
import type { EscalationHook } from '../src/review/hook.js';
import { isEscalationSnapshot } from '../src/review/records.js';
import { type CreateReviewsOptions, createReviews, type Reviews } from '../src/review/reviews.js';
import { schemaValidator } from '../src/review/validate.js';
import { settle, testClock } from './helpers/clock.js';

const Draft = z.object({ content: z.string().min(1), confidence: z.number().min(0).max(1) });
const DRAFT = { content: 'a draft', confidence: 0.62 };

const INPUT: EscalationInput = {
  reviewId: 'rev-1',
  runId: 'run-1',
  stepId: 'write',
  agentId: 'writer',
  output: DRAFT,
  confidence: 0.62,
  reason: 'confidence 0.62 is below the review threshold 0.7',
  trigger: 'lowConfidence',
};

function setup(options: CreateReviewsOptions = {}) {
  const clock = testClock();
  const lines: string[] = [];
  const reviews = createReviews({ clock, write: (line) => lines.push(line), ...options });
  return { clock, reviews, lines };
}

async function reviewError(promise: Promise<unknown>): Promise<ReviewError> {
  try {
    await promise;
  } catch (error) {
    expect(isReviewError(error)).toBe(true);
    return error as ReviewError;
  }
  throw new Error('expected a ReviewError');
}

describe('list and get', () => {
  it('lists pending reviews as plain, frozen records with run, step, agent, output, confidence and reason', async () => {
    const { clock, reviews } = setup();
    clock.set(1_000);
    reviews.open({ ...INPUT, timeoutMs: 60_000 }, { validateEdit: schemaValidator(Draft) });
    const [review] = reviews.list();
    expect(review).toEqual({
      reviewId: 'rev-1',
      runId: 'run-1',
      stepId: 'write',
      visit: 1,
      agentId: 'writer',
      output: DRAFT,
      confidence: 0.62,
      reason: INPUT.reason,
      trigger: 'lowConfidence',
      placeholder: '[Pending human review — confidence 62%]',
      openedAt: 1_000,
      expiresAt: 61_000,
      status: 'notifying',
      notifyFailures: [],
    });
    expect(Object.isFrozen(review)).toBe(true);
    expect(Object.isFrozen(review!.output)).toBe(true);
    expect(Object.isFrozen(reviews.list())).toBe(true);
    await settle();
    expect(reviews.list()[0]?.status).toBe('awaitingReview');
    expect(reviews.get('rev-1')).toBe(reviews.list()[0]);
  });

  it('lists oldest first, and only reviews still open', async () => {
    const { clock, reviews } = setup();
    clock.set(500);
    reviews.open({ ...INPUT, reviewId: 'b' });
    reviews.open({ ...INPUT, reviewId: 'c', timeoutMs: 1_000 });
    // Tracked later but opened earlier (e.g. restored from a store).
    const earlier = testClock();
    earlier.set(100);
    reviews.track(
      createActor(escalationMachine, { clock: earlier, input: { ...INPUT, reviewId: 'a' } }).start(),
    );
    expect(reviews.list().map((r) => r.reviewId)).toEqual(['a', 'b', 'c']);
    await clock.advance(1_000);
    expect(reviews.list().map((r) => r.reviewId)).toEqual(['a', 'b']);
    expect(reviews.get('c')).toMatchObject({ status: 'expired', outcome: { decision: 'expired' } });
    expect(reviews.get('nope')).toBeUndefined();
  });
});

describe('decisions', () => {
  it('approve resumes with the original output; who and when are recorded', async () => {
    const { clock, reviews } = setup();
    const { done } = reviews.open(INPUT);
    clock.set(4_000);
    const outcome = await reviews.approve('rev-1', { by: 'alice' });
    expect(outcome).toMatchObject({
      decision: 'approved',
      resolution: 'output',
      output: DRAFT,
      by: 'alice',
      decidedAt: 4_000,
    });
    expect(await done).toEqual(outcome);
    expect(reviews.list()).toEqual([]);
    expect(reviews.get('rev-1')).toMatchObject({ reviewId: 'rev-1', status: 'approved', outcome });
  });

  it('edit validates against the schema: invalid → clear error and the review stays pending', async () => {
    const { reviews } = setup();
    reviews.open(INPUT, { validateEdit: schemaValidator(Draft) });
    const error = await reviewError(reviews.edit('rev-1', { content: '', confidence: 2 }, { by: 'carol' }));
    expect(error.code).toBe('invalidEdit');
    expect(error.reviewId).toBe('rev-1');
    expect(error.message).toBe(
      'review "rev-1": the edit is invalid: schema: content: Too small: expected string to have >=1 characters (+1 more) (the review stays pending)',
    );
    expect(error.issues).toEqual([
      { path: 'content', message: 'Too small: expected string to have >=1 characters' },
      { path: 'confidence', message: 'Too big: expected number to be <=1' },
    ]);
    expect(reviews.list().map((r) => r.reviewId)).toEqual(['rev-1']);

    const outcome = await reviews.edit(
      'rev-1',
      { content: 'better', confidence: 0.9, extra: 1 },
      { by: 'carol' },
    );
    // The schema's parsed data: unknown keys stripped, as for an agent output.
    expect(outcome).toMatchObject({
      decision: 'edited',
      output: { content: 'better', confidence: 0.9 },
      by: 'carol',
    });
    expect(reviews.list()).toEqual([]);
  });

  it('reject resumes with explicit content and the reason', async () => {
    const { reviews } = setup();
    reviews.open(INPUT);
    const outcome = await reviews.reject('rev-1', 'off topic', { by: 'dave', at: 123 });
    expect(outcome).toMatchObject({
      decision: 'rejected',
      resolution: 'rejected',
      content: '[Rejected in human review]',
      reason: 'off topic',
      by: 'dave',
      at: 123,
    });
  });

  it('malformed decisions are refused and the review stays pending', async () => {
    const { reviews } = setup();
    reviews.open(INPUT);
    const noBy = await reviewError(reviews.approve('rev-1', {} as never));
    expect(noBy.code).toBe('invalidDecision');
    expect(noBy.message).toBe('review "rev-1": a decision needs `by`: who decides, as a non-empty string');
    const noOptions = await reviewError(reviews.approve('rev-1', undefined as never));
    expect(noOptions.code).toBe('invalidDecision');
    const noReason = await reviewError(reviews.reject('rev-1', '', { by: 'dave' }));
    expect(noReason.message).toBe('review "rev-1": a rejection needs a reason, as a non-empty string');
    expect(reviews.list()).toHaveLength(1);
  });

  it('a review without output cannot be approved', async () => {
    const { reviews } = setup();
    reviews.open({ ...INPUT, trigger: 'breakerOpen', output: null, confidence: 0 });
    const error = await reviewError(reviews.approve('rev-1', { by: 'alice' }));
    expect(error.code).toBe('nothingToApprove');
    expect(error.message).toBe(
      'review "rev-1": review "rev-1" has no output to approve (breakerOpen): edit it with an output, or reject it (the review stays pending)',
    );
    await expect(reviews.reject('rev-1', 'agent down', { by: 'alice' })).resolves.toMatchObject({
      decision: 'rejected',
    });
  });

  it('an unknown id is a clear error', async () => {
    const { reviews } = setup();
    const error = await reviewError(reviews.approve('missing', { by: 'alice' }));
    expect(error.code).toBe('unknownReview');
    expect(error.message).toBe(
      'no pending review "missing" (unknown id, or stopped with its run before a decision)',
    );
    expect((await reviewError(reviews.approve(undefined as never, { by: 'a' }))).code).toBe('unknownReview');
  });

  it('deciding twice is a clear error naming the decision that won', async () => {
    const { clock, reviews } = setup();
    reviews.open(INPUT);
    clock.set(2_000);
    const first = await reviews.approve('rev-1', { by: 'alice' });
    const error = await reviewError(reviews.reject('rev-1', 'too late', { by: 'bob' }));
    expect(error.code).toBe('alreadyDecided');
    expect(error.message).toBe('review "rev-1" was already approved by alice at 2000');
    expect(error.outcome).toEqual(first);
  });

  it('deciding on an expired review says it expired', async () => {
    const { clock, reviews } = setup();
    reviews.open({ ...INPUT, timeoutMs: 1_000, onTimeout: 'reject' });
    await clock.advance(1_000);
    const error = await reviewError(reviews.approve('rev-1', { by: 'alice' }));
    expect(error.code).toBe('alreadyDecided');
    expect(error.message).toBe(
      'review "rev-1" was already expired at 1000 (no decision within 1000 ms; the step\'s policy on timeout is "reject")',
    );
    expect(error.outcome).toMatchObject({ resolution: 'rejected' });
  });
});

describe('hostile arguments reject the promise, never throw', () => {
  const hostile = {
    toString() {
      throw new Error('no string for you');
    },
  };
  const trap = new Proxy(
    {},
    {
      get() {
        throw new Error('trap');
      },
    },
  );

  it('a review id whose toString throws, a bigint id, decision options whose getters throw', async () => {
    const { reviews } = setup();
    reviews.open(INPUT, { validateEdit: schemaValidator(Draft) });
    const calls: Array<[string, () => Promise<unknown>, string]> = [
      ['approve(hostile id)', () => reviews.approve(hostile as never, { by: 'a' }), 'unknownReview'],
      ['edit(bigint id)', () => reviews.edit(10n as never, DRAFT, { by: 'a' }), 'unknownReview'],
      ['reject(Proxy id)', () => reviews.reject(trap as never, 'no', { by: 'a' }), 'unknownReview'],
      ['approve(options Proxy)', () => reviews.approve('rev-1', trap as never), 'invalidDecision'],
      ['edit(options Proxy)', () => reviews.edit('rev-1', DRAFT, trap as never), 'invalidDecision'],
      [
        'reject(hostile reason)',
        () => reviews.reject('rev-1', hostile as never, { by: 'a' }),
        'invalidDecision',
      ],
    ];
    for (const [what, call, code] of calls) {
      let promise: Promise<unknown> | undefined;
      expect(() => {
        promise = call();
      }, what).not.toThrow();
      expect((await reviewError(promise!)).code, what).toBe(code);
    }
    // The review is still pending and takes a proper decision.
    expect(reviews.list().map((r) => r.reviewId)).toEqual(['rev-1']);
    expect(await reviews.approve('rev-1', { by: 'alice' })).toMatchObject({ decision: 'approved' });
  });

  it('an edit with a key the shared state refuses is refused before it is accepted', async () => {
    const { reviews } = setup();
    reviews.open(INPUT);
    for (const output of [
      JSON.parse('{"content":"x","confidence":0.9,"constructor":{"a":1}}'),
      JSON.parse('{"content":"x","confidence":0.9,"nested":{"__proto__":{"polluted":true}}}'),
      { content: 'x', confidence: 0.9, prototype: 1 },
    ]) {
      const error = await reviewError(reviews.edit('rev-1', output, { by: 'alice' }));
      expect(error.code).toBe('invalidEdit');
      expect(error.message).toMatch(/forbidden key "(constructor|__proto__|prototype)"/);
    }
    expect(reviews.list()).toHaveLength(1);
  });
});

describe('concurrent decisions on one review', () => {
  const attempts = {
    approve: (r: ReturnType<typeof createReviews>) => r.approve('rev-1', { by: 'alice' }),
    reject: (r: ReturnType<typeof createReviews>) => r.reject('rev-1', 'no', { by: 'bob' }),
    edit: (r: ReturnType<typeof createReviews>) =>
      r.edit('rev-1', { content: 'mine', confidence: 1 }, { by: 'carol' }),
  };
  const orders = [
    ['approve', 'reject', 'edit'],
    ['reject', 'edit', 'approve'],
    ['edit', 'approve', 'reject'],
  ] as const;

  for (const order of orders) {
    it(`exactly one wins (${order.join(', ')})`, async () => {
      const { reviews } = setup();
      reviews.open(INPUT, { validateEdit: schemaValidator(Draft) });
      const results = await Promise.allSettled(order.map((name) => attempts[name](reviews)));
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(results[0]!.status).toBe('fulfilled');
      expect(lost.map((r) => (r as PromiseRejectedResult).reason.code)).toEqual([
        'alreadyDecided',
        'alreadyDecided',
      ]);
      const winner = (won[0] as PromiseFulfilledResult<{ decision: string }>).value;
      for (const r of lost) expect((r as PromiseRejectedResult).reason.outcome).toEqual(winner);
      expect(reviews.get('rev-1')?.status).toBe(winner.decision);
    });
  }

  it('an invalid edit racing a valid approve does not block it', async () => {
    const { reviews } = setup();
    reviews.open(INPUT, { validateEdit: schemaValidator(Draft) });
    const [edit, approve] = await Promise.allSettled([
      reviews.edit('rev-1', { nope: true }, { by: 'carol' }),
      reviews.approve('rev-1', { by: 'alice' }),
    ]);
    expect(edit).toMatchObject({ status: 'rejected', reason: { code: 'invalidEdit' } });
    expect(approve).toMatchObject({ status: 'fulfilled', value: { decision: 'approved' } });
  });

  it('a decision made from inside the hook (while the actor is starting) still gets its answer', async () => {
    let pending: Promise<unknown> | undefined;
    const { reviews } = setup({
      onEscalation: (notice) => {
        pending = reviews.approve(notice.reviewId, { by: 'auto-approver' });
      },
    });
    const { done } = reviews.open(INPUT);
    await expect(pending).resolves.toMatchObject({ decision: 'approved', by: 'auto-approver' });
    await expect(done).resolves.toMatchObject({ decision: 'approved', notified: false });
  });

  it('of two decisions queued mid-transition, the first wins and the second hears so', async () => {
    const pending: Array<Promise<unknown>> = [];
    const { reviews } = setup({
      onEscalation: (notice) => {
        pending.push(reviews.reject(notice.reviewId, 'spam', { by: 'filter' }));
        pending.push(reviews.approve(notice.reviewId, { by: 'auto-approver' }));
      },
    });
    reviews.open(INPUT);
    const [first, second] = await Promise.allSettled(pending);
    expect(first).toMatchObject({ status: 'fulfilled', value: { decision: 'rejected', by: 'filter' } });
    expect(second).toMatchObject({
      status: 'rejected',
      reason: { code: 'alreadyDecided', message: 'review "rev-1" was already rejected by filter at 0' },
    });
  });
});

describe('the onEscalation hook', () => {
  it('by default writes exactly one structured JSON line per review', async () => {
    const { clock, reviews, lines } = setup();
    clock.set(1_000);
    reviews.open({ ...INPUT, timeoutMs: 60_000 });
    await settle();
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    expect(JSON.parse(lines[0]!)).toEqual({
      level: 'warn',
      event: 'agentcharts.escalation',
      reviewId: 'rev-1',
      runId: 'run-1',
      stepId: 'write',
      agentId: 'writer',
      trigger: 'lowConfidence',
      confidence: 0.62,
      reason: INPUT.reason,
      placeholder: '[Pending human review — confidence 62%]',
      openedAt: 1_000,
      expiresAt: 61_000,
      attempt: 1,
    });
  });

  it('writes to console.warn when no writer is given', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      createReviews({ clock: testClock() }).open(INPUT);
      await settle();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(JSON.parse(warn.mock.calls[0]![0] as string)).toMatchObject({ event: 'agentcharts.escalation' });
    } finally {
      warn.mockRestore();
    }
  });

  it('a throwing hook is retried and its failures show on the review', async () => {
    let calls = 0;
    const { clock, reviews } = setup({
      onEscalation: () => {
        calls++;
        throw new Error('pager down');
      },
      notify: { maxAttempts: 2, initialDelayMs: 100 },
    });
    reviews.open(INPUT);
    await clock.advance(100);
    await settle();
    expect(calls).toBe(2);
    expect(reviews.list()[0]).toMatchObject({
      status: 'awaitingReview',
      notifyFailures: [
        { attempt: 1, at: 0, reason: 'the hook threw Error: pager down' },
        { attempt: 2, at: 100, reason: 'the hook threw Error: pager down' },
      ],
    });
    await expect(reviews.approve('rev-1', { by: 'alice' })).resolves.toMatchObject({ notified: false });
  });

  it('a hanging hook is bounded (10 s per call by default) and cannot hang the review', async () => {
    const signals: AbortSignal[] = [];
    const hook: EscalationHook = (_notice, { signal }) => {
      signals.push(signal);
      return new Promise(() => {});
    };
    const { clock, reviews } = setup({ onEscalation: hook });
    reviews.open(INPUT);
    await clock.advance(9_999);
    expect(signals[0]!.aborted).toBe(false);
    await clock.advance(1);
    expect(signals[0]!.aborted).toBe(true);
    // 3 calls of 10 s, with waits of 1 s and 2 s between them.
    await clock.advance(1_000);
    expect(signals).toHaveLength(2);
    await clock.advance(10_000);
    await clock.advance(1_999);
    expect(signals).toHaveLength(2);
    expect(reviews.list()[0]).toMatchObject({ status: 'notifying' });
    await clock.advance(1);
    expect(signals).toHaveLength(3);
    await clock.advance(10_000);
    expect(reviews.list()[0]).toMatchObject({ status: 'awaitingReview' });
    expect(reviews.list()[0]?.notifyFailures.map((f) => f.at)).toEqual([10_000, 21_000, 33_000]);
  });
});

describe('track', () => {
  it('tracks an escalation actor created elsewhere, until it is decided', async () => {
    const { reviews } = setup();
    const actor = createActor(escalationMachine, { clock: testClock(), input: INPUT }).start();
    const untrack = reviews.track(actor);
    expect(reviews.track(actor)).toBeTypeOf('function'); // idempotent
    expect(reviews.list().map((r) => r.reviewId)).toEqual(['rev-1']);
    await reviews.approve('rev-1', { by: 'alice' });
    expect(actor.getSnapshot().output).toMatchObject({ decision: 'approved', by: 'alice' });
    untrack();
    expect(reviews.get('rev-1')?.status).toBe('approved');
  });

  it('sees a decision sent straight to the actor', () => {
    const { reviews } = setup();
    const actor = createActor(escalationMachine, { input: INPUT }).start();
    reviews.track(actor);
    actor.send({ type: 'review.reject', reason: 'no', by: 'bob' });
    expect(reviews.list()).toEqual([]);
    expect(reviews.get('rev-1')).toMatchObject({ status: 'rejected', outcome: { by: 'bob' } });
  });

  it('forgets a review whose actor is stopped (its run was cancelled)', async () => {
    const { reviews } = setup();
    const { actor, done } = reviews.open(INPUT);
    actor.stop();
    expect(reviews.list()).toEqual([]);
    expect((await reviewError(reviews.approve('rev-1', { by: 'alice' }))).code).toBe('unknownReview');
    expect((await reviewError(done)).code).toBe('unknownReview');
  });

  it('untrack by id or ref stops listing it', () => {
    const { reviews } = setup();
    const a = reviews.open(INPUT);
    reviews.open({ ...INPUT, reviewId: 'rev-2' });
    reviews.untrack('rev-2');
    reviews.untrack(a.actor);
    expect(reviews.list()).toEqual([]);
  });

  it('refuses what is not an escalation actor, and a second actor for the same review', () => {
    const { reviews } = setup();
    const other = createActor(createMachine({ context: { x: 1 } })).start();
    expect(() => reviews.track(other)).toThrow('reviews.track: expected an escalation actor, received');
    reviews.track(createActor(escalationMachine, { input: INPUT }).start());
    expect(() => reviews.track(createActor(escalationMachine, { input: INPUT }).start())).toThrow(
      'reviews.track: review "rev-1" is already tracked by another actor',
    );
  });

  it('remembers only the newest closed reviews', async () => {
    const { reviews } = setup({ remember: 1 });
    reviews.open(INPUT);
    reviews.open({ ...INPUT, reviewId: 'rev-2' });
    await reviews.approve('rev-1', { by: 'a' });
    await reviews.approve('rev-2', { by: 'a' });
    expect(reviews.get('rev-1')).toBeUndefined();
    expect((await reviewError(reviews.approve('rev-1', { by: 'a' }))).code).toBe('unknownReview');
    expect((await reviewError(reviews.approve('rev-2', { by: 'a' }))).code).toBe('alreadyDecided');
  });
});

describe('persisted reviews come back after a restart', () => {
  it('a new registry lists the restored review, which expires on time and takes decisions', async () => {
    const first = setup();
    first.clock.set(1_000);
    const { actor } = first.reviews.open({ ...INPUT, timeoutMs: 60_000 });
    await settle();
    first.clock.set(20_000);
    const saved = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
    actor.stop();

    const second = setup();
    second.clock.set(30_000);
    second.reviews.open(INPUT, { snapshot: saved });
    expect(second.reviews.list()).toMatchObject([
      { reviewId: 'rev-1', status: 'awaitingReview', openedAt: 1_000, expiresAt: 61_000, output: DRAFT },
    ]);
    second.clock.set(60_999);
    expect(second.reviews.list()).toHaveLength(1);
    second.clock.set(61_000);
    expect(second.reviews.get('rev-1')).toMatchObject({ status: 'expired' });

    const third = setup();
    third.clock.set(30_000);
    third.reviews.open(INPUT, { snapshot: saved });
    await expect(third.reviews.approve('rev-1', { by: 'frank' })).resolves.toMatchObject({
      decision: 'approved',
      by: 'frank',
      openedAt: 1_000,
      decidedAt: 30_000,
    });
  });
});

describe('listeners', () => {
  it('announce pending and decided reviews; a throwing listener goes to onListenerError', async () => {
    const errors: unknown[] = [];
    const { reviews } = setup({
      onListenerError: (error, event) => errors.push([String(error), event.type]),
    });
    const seen: string[] = [];
    reviews.on('pending', (e) => seen.push(`pending ${e.review.reviewId}`));
    reviews.on('decided', (e) => seen.push(`decided ${e.review.reviewId} ${e.review.status}`));
    const off = reviews.on('pending', () => {
      throw new Error('listener bug');
    });
    reviews.open(INPUT);
    off();
    reviews.open({ ...INPUT, reviewId: 'rev-2' });
    await reviews.approve('rev-1', { by: 'alice' });
    expect(seen).toEqual(['pending rev-1', 'pending rev-2', 'decided rev-1 approved']);
    expect(errors).toEqual([['Error: listener bug', 'pending']]);
  });
});

describe('options and logic', () => {
  const message = (options: unknown) => {
    try {
      createReviews(options as CreateReviewsOptions);
    } catch (error) {
      expect(isOptionsError(error)).toBe(true);
      return (error as Error).message;
    }
    throw new Error('expected an OptionsError');
  };

  it('are validated when the registry is created', () => {
    expect(message({ notify: { maxAttempts: 0 } })).toBe(
      'createReviews: notify.maxAttempts must be an integer from 1 to 100, received 0',
    );
    expect(message({ notify: { attemptTimeoutMs: -5 } })).toContain(
      'notify.attemptTimeoutMs must be an integer',
    );
    expect(message({ notify: { initialDelayMs: 5_000, maxDelayMs: 10 } })).toBe(
      'createReviews: notify.maxDelayMs must be at least initialDelayMs (5000), received 10',
    );
    expect(message({ onEscalation: 'log' })).toBe(
      'createReviews: onEscalation must be a function, received "log"',
    );
    expect(message({ clock: {} })).toContain(
      'clock must be a clock with now(), setTimeout() and clearTimeout()',
    );
    expect(message({ onEscalaton: () => {} })).toBe(
      'createReviews: onEscalaton is not a known option, received [Function onEscalaton]',
    );
  });

  it('exposes the resolved hook policy and reuses one machine per validator', () => {
    const reviews = createReviews({ notify: { maxAttempts: 5 } });
    expect(reviews.notifyPolicy).toEqual({
      maxAttempts: 5,
      attemptTimeoutMs: 10_000,
      initialDelayMs: 1_000,
      factor: 2,
      maxDelayMs: 30_000,
    });
    const validate = schemaValidator(Draft);
    expect(reviews.logic({ validateEdit: validate })).toBe(reviews.logic({ validateEdit: validate }));
    expect(reviews.logic()).toBe(reviews.logic());
  });

  it('open() passes the registry policy to the machine and throws on bad input', () => {
    const { reviews } = setup({ notify: { maxAttempts: 7 } });
    const { actor } = reviews.open(INPUT);
    expect(actor.getSnapshot().context.notify.maxAttempts).toBe(7);
    expect(() => reviews.open({ ...INPUT, reviewId: '' })).toThrow(
      'escalation input: reviewId must be a non-empty string',
    );
  });
});

describe('inside a parent machine (how a workflow step uses it)', () => {
  /** A one-step "workflow": the step's output goes to review, and the run ends with what the human chose. */
  function stepMachine(escalation: EscalationMachine, reviews: Reviews) {
    return setupMachine({
      types: { context: {} as { result: EscalationOutcome | null } },
      actors: { escalation },
    }).createMachine({
      id: 'run',
      context: { result: null },
      initial: 'reviewing',
      on: { restore: { actions: sendTo('review', { type: 'restore' }) } },
      states: {
        reviewing: {
          invoke: {
            id: 'review',
            src: 'escalation',
            input: { ...INPUT, timeoutMs: 60_000, notify: reviews.notifyPolicy },
            onDone: { target: 'done', actions: assign({ result: ({ event }) => event.output }) },
          },
        },
        done: { type: 'final' },
      },
    });
  }

  /** What the runtime does: track every escalation child of a run (track is idempotent per actor). */
  function trackChildren(run: AnyActorRef, reviews: Reviews) {
    const scan = () => {
      const children = (run.getSnapshot() as { children: Record<string, AnyActorRef | undefined> }).children;
      for (const child of Object.values(children)) {
        if (child && isEscalationSnapshot(child.getSnapshot())) reviews.track(child);
      }
    };
    run.subscribe(scan);
    scan();
  }

  it('escalates, is edited, and the parent completes with the edited output', async () => {
    const { clock, reviews } = setup();
    const logic = reviews.logic({ validateEdit: schemaValidator(Draft) });
    const run = createActor(stepMachine(logic, reviews), { clock }).start();
    trackChildren(run, reviews);
    await settle();
    expect(reviews.list()).toMatchObject([{ reviewId: 'rev-1', runId: 'run-1', status: 'awaitingReview' }]);
    expect((await reviewError(reviews.edit('rev-1', { content: 7 }, { by: 'carol' }))).code).toBe(
      'invalidEdit',
    );
    expect(run.getSnapshot().value).toBe('reviewing');
    await reviews.edit('rev-1', { content: 'edited', confidence: 0.9 }, { by: 'carol' });
    expect(run.getSnapshot().status).toBe('done');
    expect(run.getSnapshot().context.result).toMatchObject({
      decision: 'edited',
      output: { content: 'edited', confidence: 0.9 },
      by: 'carol',
    });
  });

  it('a persisted run brings its pending review back, which expires at the same absolute time', async () => {
    const first = setup();
    const run = createActor(stepMachine(first.reviews.logic(), first.reviews), {
      clock: first.clock,
    }).start();
    await settle();
    first.clock.set(10_000);
    const saved = JSON.parse(JSON.stringify(run.getPersistedSnapshot()));
    run.stop();

    const second = setup();
    second.clock.set(30_000);
    const restored = createActor(stepMachine(second.reviews.logic(), second.reviews), {
      clock: second.clock,
      snapshot: saved,
    }).start();
    trackChildren(restored, second.reviews);
    restored.send({ type: 'restore' });
    expect(second.reviews.list()).toMatchObject([{ reviewId: 'rev-1', openedAt: 0, expiresAt: 60_000 }]);
    second.clock.set(59_999);
    expect(restored.getSnapshot().value).toBe('reviewing');
    second.clock.set(60_000);
    expect(restored.getSnapshot().context.result).toMatchObject({
      decision: 'expired',
      resolution: 'fallback',
    });
    expect(second.reviews.get('rev-1')?.status).toBe('expired');
  });
});
