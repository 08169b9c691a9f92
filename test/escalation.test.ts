import { describe, expect, it, vi } from 'vitest';
import { createActor, fromPromise } from 'xstate';
import { MAX_TIMER_MS } from '../machines/clock.js';
import {
  createEscalationMachine,
  type EditValidator,
  type EscalationEmitted,
  type EscalationInput,
  type EscalationMachine,
  type EscalationNotice,
  escalationMachine,
} from '../machines/escalation.js';
import {
  escalationStatus,
  pendingContent,
  REVIEW_EXPIRED_CONTENT,
  REVIEW_REJECTED_CONTENT,
} from '../machines/escalation-context.js';
import { type TestClock, testClock } from './helpers/clock.js';

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

type Hook = (notice: EscalationNotice, signal: AbortSignal) => unknown;

/** A hook script: each call takes the next step; the last repeats. */
function scriptedHook(steps: Array<'ok' | 'throw' | 'hang'>) {
  const calls: Array<{ notice: EscalationNotice; signal: AbortSignal }> = [];
  const hook: Hook = (notice, signal) => {
    calls.push({ notice, signal });
    const step = steps[Math.min(calls.length - 1, steps.length - 1)];
    if (step === 'throw') throw new Error(`hook down (${calls.length})`);
    if (step === 'hang') return new Promise(() => {});
    return undefined;
  };
  return { hook, calls };
}

function start(
  input: Partial<EscalationInput> = {},
  options: { hook?: Hook; validateEdit?: EditValidator; clock?: TestClock; at?: number } = {},
) {
  const clock = options.clock ?? testClock();
  if (options.at !== undefined) clock.set(options.at);
  const hook: Hook = options.hook ?? (() => undefined);
  const machine = createEscalationMachine(
    options.validateEdit ? { validateEdit: options.validateEdit } : {},
  ).provide({
    actors: {
      notify: fromPromise<void, EscalationNotice>(async ({ input: notice, signal }) => {
        await hook(notice, signal);
      }),
    },
  });
  const actor = createActor(machine, { clock, input: { ...INPUT, ...input } });
  const emitted: EscalationEmitted[] = [];
  actor.on('*', (e) => emitted.push(e));
  actor.start();
  return { actor, clock, emitted, machine };
}

const status = (actor: { getSnapshot(): Parameters<typeof escalationStatus>[0] }) =>
  escalationStatus(actor.getSnapshot());

describe('notifying → awaitingReview', () => {
  it('calls the hook once with the review, then waits for a human', async () => {
    const { hook, calls } = scriptedHook(['ok']);
    const { actor, clock, emitted } = start({ timeoutMs: 60_000 }, { hook, at: 1_000 });
    expect(status(actor)).toBe('notifying');
    await clock.advance(0);
    expect(status(actor)).toBe('awaitingReview');
    expect(calls.map((c) => c.notice)).toEqual([
      {
        reviewId: 'rev-1',
        runId: 'run-1',
        stepId: 'write',
        agentId: 'writer',
        trigger: 'lowConfidence',
        confidence: 0.62,
        reason: INPUT.reason,
        output: DRAFT,
        placeholder: '[Pending human review — confidence 62%]',
        openedAt: 1_000,
        expiresAt: 61_000,
        attempt: 1,
      },
    ]);
    expect(actor.getSnapshot().context).toMatchObject({ notifiedAt: 1_000, notifyFailures: [] });
    expect(emitted).toEqual([
      {
        type: 'escalated',
        reviewId: 'rev-1',
        runId: 'run-1',
        stepId: 'write',
        agentId: 'writer',
        trigger: 'lowConfidence',
        confidence: 0.62,
        reason: INPUT.reason,
        openedAt: 1_000,
        expiresAt: 61_000,
      },
      { type: 'notified', reviewId: 'rev-1', attempt: 1, at: 1_000 },
    ]);
  });

  it('gives the hook a copy: a hook that mutates the output cannot change the review', async () => {
    const { actor, clock } = start(
      {},
      {
        hook: (notice) => {
          (notice.output as { content: string }).content = 'tampered';
        },
      },
    );
    await clock.advance(0);
    expect(actor.getSnapshot().context.output).toEqual(DRAFT);
  });

  it('retries a failing hook with backoff, recording each failure, until it succeeds', async () => {
    const { hook, calls } = scriptedHook(['throw', 'throw', 'ok']);
    const { actor, clock, emitted } = start({}, { hook });
    await clock.advance(0);
    expect(actor.getSnapshot().context).toMatchObject({
      notifyAttempt: 1,
      nextNotifyAt: 1_000,
      notifyFailures: [{ attempt: 1, at: 0, reason: 'the hook threw Error: hook down (1)' }],
    });
    await clock.advance(999);
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    expect(calls).toHaveLength(2);
    // The second wait doubles (factor 2): the third call is at 1_000 + 2_000.
    await clock.advance(1_999);
    expect(calls).toHaveLength(2);
    await clock.advance(1);
    expect(calls.map((c) => c.notice.attempt)).toEqual([1, 2, 3]);
    expect(status(actor)).toBe('awaitingReview');
    expect(actor.getSnapshot().context.notifyFailures).toEqual([
      { attempt: 1, at: 0, reason: 'the hook threw Error: hook down (1)' },
      { attempt: 2, at: 1_000, reason: 'the hook threw Error: hook down (2)' },
    ]);
    expect(emitted.filter((e) => e.type !== 'escalated')).toEqual([
      {
        type: 'notifyFailed',
        reviewId: 'rev-1',
        attempt: 1,
        at: 0,
        reason: 'the hook threw Error: hook down (1)',
        willRetry: true,
        nextAttemptAt: 1_000,
      },
      {
        type: 'notifyFailed',
        reviewId: 'rev-1',
        attempt: 2,
        at: 1_000,
        reason: 'the hook threw Error: hook down (2)',
        willRetry: true,
        nextAttemptAt: 3_000,
      },
      { type: 'notified', reviewId: 'rev-1', attempt: 3, at: 3_000 },
    ]);
  });

  it('when every attempt fails, still waits for a human, with the failures recorded (never lost)', async () => {
    const { hook, calls } = scriptedHook(['throw']);
    const { actor, clock, emitted } = start({ notify: { maxAttempts: 2, initialDelayMs: 10 } }, { hook });
    await clock.advance(0);
    await clock.advance(10);
    expect(calls).toHaveLength(2);
    expect(status(actor)).toBe('awaitingReview');
    expect(actor.getSnapshot().context.notifyFailures).toHaveLength(2);
    expect(emitted.at(-1)).toEqual({
      type: 'notifyFailed',
      reviewId: 'rev-1',
      attempt: 2,
      at: 10,
      reason: 'the hook threw Error: hook down (2)',
      willRetry: false,
      nextAttemptAt: null,
    });
    await clock.advance(60_000);
    expect(calls).toHaveLength(2);
    actor.send({ type: 'review.approve', by: 'alice' });
    expect(actor.getSnapshot().output).toMatchObject({
      decision: 'approved',
      notified: false,
      notifyFailures: [
        { attempt: 1, at: 0, reason: 'the hook threw Error: hook down (1)' },
        { attempt: 2, at: 10, reason: 'the hook threw Error: hook down (2)' },
      ],
    });
  });

  it('bounds each hook call: a hanging hook is aborted after attemptTimeoutMs and retried', async () => {
    const { hook, calls } = scriptedHook(['hang']);
    const { actor, clock } = start(
      { notify: { maxAttempts: 2, attemptTimeoutMs: 5_000, initialDelayMs: 100 } },
      { hook },
    );
    await clock.advance(4_999);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.signal.aborted).toBe(false);
    await clock.advance(1);
    expect(calls[0]!.signal.aborted).toBe(true);
    expect(actor.getSnapshot().context.notifyFailures).toEqual([
      { attempt: 1, at: 5_000, reason: 'the hook did not settle within 5000 ms' },
    ]);
    await clock.advance(100);
    expect(calls).toHaveLength(2);
    await clock.advance(5_000);
    expect(status(actor)).toBe('awaitingReview');
    expect(actor.getSnapshot().context.notifyFailures.map((f) => f.at)).toEqual([5_000, 10_100]);
  });

  it('accepts a decision while the hook is still running, and aborts the hook', async () => {
    const { hook, calls } = scriptedHook(['hang']);
    const { actor, clock } = start({}, { hook });
    await clock.advance(0);
    expect(status(actor)).toBe('notifying');
    actor.send({ type: 'review.reject', reason: 'wrong topic', by: 'bob' });
    expect(actor.getSnapshot().status).toBe('done');
    expect(actor.getSnapshot().output).toMatchObject({ decision: 'rejected', by: 'bob', notified: false });
    expect(calls[0]!.signal.aborted).toBe(true);
  });
});

describe('decisions', () => {
  async function awaiting(input: Partial<EscalationInput> = {}, validateEdit?: EditValidator) {
    const s = start(input, { at: 1_000, ...(validateEdit ? { validateEdit } : {}) });
    await s.clock.advance(0);
    expect(status(s.actor)).toBe('awaitingReview');
    await s.clock.advance(4_000);
    return s;
  }

  it('approve → approved, with the original output, who and when', async () => {
    const { actor, emitted } = await awaiting();
    actor.send({ type: 'review.approve', by: 'alice' });
    const snapshot = actor.getSnapshot();
    expect(snapshot.value).toBe('approved');
    expect(snapshot.output).toEqual({
      reviewId: 'rev-1',
      runId: 'run-1',
      stepId: 'write',
      agentId: 'writer',
      trigger: 'lowConfidence',
      decision: 'approved',
      resolution: 'output',
      output: DRAFT,
      by: 'alice',
      reason: 'approved by alice',
      at: 5_000,
      openedAt: 1_000,
      decidedAt: 5_000,
      notified: true,
      notifyFailures: [],
    });
    // Who decided and when is in context, so the state log has it.
    expect(snapshot.context.decided).toEqual({
      decision: 'approved',
      by: 'alice',
      at: 5_000,
      decidedAt: 5_000,
      reason: 'approved by alice',
      requestId: null,
    });
    expect(emitted.at(-1)).toEqual({
      type: 'decided',
      reviewId: 'rev-1',
      decision: 'approved',
      by: 'alice',
      at: 5_000,
      decidedAt: 5_000,
    });
  });

  it("records the decider's own `at` beside the machine's decidedAt", async () => {
    const { actor } = await awaiting();
    actor.send({ type: 'review.approve', by: 'alice', at: 4_200, requestId: 'q1' });
    expect(actor.getSnapshot().context.decided).toMatchObject({
      at: 4_200,
      decidedAt: 5_000,
      requestId: 'q1',
    });
  });

  it('edit → edited, with the validated edit as output and the original kept in context', async () => {
    const { actor } = await awaiting();
    const edited = { content: 'a better draft', confidence: 0.95 };
    actor.send({ type: 'review.edit', output: edited, by: 'carol' });
    const snapshot = actor.getSnapshot();
    expect(snapshot.value).toBe('edited');
    expect(snapshot.output).toMatchObject({
      decision: 'edited',
      resolution: 'output',
      output: edited,
      by: 'carol',
      reason: 'edited by carol',
    });
    expect(snapshot.context.output).toEqual(DRAFT);
    // A JSON copy: the caller's object is not shared with the machine.
    edited.content = 'changed later';
    expect(actor.getSnapshot().output).toMatchObject({ output: { content: 'a better draft' } });
  });

  it('an invalid edit leaves the review open and records why; a valid one then wins', async () => {
    const validateEdit: EditValidator = (o) =>
      typeof (o as { content?: unknown }).content === 'string'
        ? { valid: true, output: { ...(o as object), normalised: true } }
        : {
            valid: false,
            reason: 'schema: content: expected string',
            issues: [{ path: 'content', message: 'expected string' }],
          };
    const { actor, emitted } = await awaiting({}, validateEdit);
    actor.send({ type: 'review.edit', output: { content: 42 }, by: 'carol', requestId: 'e1' });
    expect(status(actor)).toBe('awaitingReview');
    expect(actor.getSnapshot().context.refusals).toEqual([
      {
        kind: 'invalidEdit',
        requestId: 'e1',
        by: 'carol',
        at: 5_000,
        reason: 'schema: content: expected string',
        issues: [{ path: 'content', message: 'expected string' }],
      },
    ]);
    expect(emitted.at(-1)).toEqual({
      type: 'refused',
      reviewId: 'rev-1',
      kind: 'invalidEdit',
      by: 'carol',
      at: 5_000,
      reason: 'schema: content: expected string',
      issues: [{ path: 'content', message: 'expected string' }],
    });
    actor.send({ type: 'review.edit', output: { content: 'fixed' }, by: 'carol' });
    expect(actor.getSnapshot().output).toMatchObject({
      decision: 'edited',
      output: { content: 'fixed', normalised: true },
    });
  });

  it('validates each edit once, and survives a validator that throws or is async', async () => {
    const validateEdit = vi.fn<EditValidator>(() => ({ valid: true }));
    const { actor } = await awaiting({}, validateEdit);
    actor.send({ type: 'review.edit', output: { content: 'x' }, by: 'carol' });
    expect(validateEdit).toHaveBeenCalledTimes(1);

    const throwing = await awaiting({}, () => {
      throw new Error('validator bug');
    });
    throwing.actor.send({ type: 'review.edit', output: {}, by: 'carol' });
    expect(throwing.actor.getSnapshot().context.refusals[0]?.reason).toBe(
      'validateEdit threw: validator bug',
    );

    const asynchronous = await awaiting({}, (() => Promise.resolve({ valid: true })) as never);
    asynchronous.actor.send({ type: 'review.edit', output: {}, by: 'carol' });
    expect(asynchronous.actor.getSnapshot().context.refusals[0]?.reason).toBe(
      'validateEdit must return its verdict synchronously',
    );
    expect(status(asynchronous.actor)).toBe('awaitingReview');
  });

  it('refuses an edit that is not JSON data (even without a validator)', async () => {
    const { actor } = await awaiting();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    actor.send({ type: 'review.edit', output: cyclic, by: 'carol' });
    actor.send({ type: 'review.edit', output: undefined, by: 'carol' });
    expect(actor.getSnapshot().context.refusals.map((r) => r.reason)).toEqual([
      expect.stringMatching(/^the edited output output is not serialisable/),
      'the edited output returned undefined',
    ]);
    expect(status(actor)).toBe('awaitingReview');
  });

  it('reject → rejected, with explicit content instead of an output', async () => {
    const { actor } = await awaiting();
    actor.send({ type: 'review.reject', reason: 'cites a retracted paper', by: 'dave' });
    expect(actor.getSnapshot().output).toEqual({
      reviewId: 'rev-1',
      runId: 'run-1',
      stepId: 'write',
      agentId: 'writer',
      trigger: 'lowConfidence',
      decision: 'rejected',
      resolution: 'rejected',
      content: REVIEW_REJECTED_CONTENT,
      by: 'dave',
      reason: 'cites a retracted paper',
      at: 5_000,
      openedAt: 1_000,
      decidedAt: 5_000,
      notified: true,
      notifyFailures: [],
    });
  });

  it('refuses malformed decisions: no `by`, a blank reason, a bad `at`', async () => {
    const { actor } = await awaiting();
    actor.send({ type: 'review.approve' } as never);
    actor.send({ type: 'review.reject', reason: '  ', by: 'dave' });
    actor.send({ type: 'review.edit', output: {}, by: 'carol', at: Number.NaN });
    expect(status(actor)).toBe('awaitingReview');
    expect(actor.getSnapshot().context.refusals.map((r) => [r.kind, r.by, r.reason])).toEqual([
      ['invalidDecision', null, 'a decision needs `by`: who decides, as a non-empty string'],
      ['invalidDecision', 'dave', 'a rejection needs a reason, as a non-empty string'],
      ['invalidDecision', 'carol', '`at` must be a finite number (ms)'],
    ]);
  });

  it('refuses to approve a review with no output (a fallback); an edit supplies one', async () => {
    const { actor } = await awaiting({ trigger: 'fallback', output: null, confidence: 0 });
    expect(actor.getSnapshot().context.placeholder).toBe(
      '[Pending human review — agent fallback, no usable output]',
    );
    actor.send({ type: 'review.approve', by: 'alice' });
    expect(status(actor)).toBe('awaitingReview');
    expect(actor.getSnapshot().context.refusals[0]).toMatchObject({
      kind: 'nothingToApprove',
      reason: 'review "rev-1" has no output to approve (fallback): edit it with an output, or reject it',
    });
    actor.send({ type: 'review.edit', output: { content: 'written by hand', confidence: 1 }, by: 'alice' });
    expect(actor.getSnapshot().output).toMatchObject({ decision: 'edited', trigger: 'fallback' });
  });

  it('keeps only the newest refusals', async () => {
    const { actor } = await awaiting();
    for (let i = 0; i < 25; i++) actor.send({ type: 'review.reject', reason: '', by: `u${i}` });
    const refusals = actor.getSnapshot().context.refusals;
    expect(refusals).toHaveLength(20);
    expect(refusals[0]?.by).toBe('u5');
  });

  it('takes the first decision; the machine is final, so later ones change nothing', async () => {
    const { actor } = await awaiting();
    // XState warns about events sent to a stopped actor; the review handle never sends them.
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      actor.send({ type: 'review.approve', by: 'alice' });
      actor.send({ type: 'review.reject', reason: 'late', by: 'bob' });
      actor.send({ type: 'review.edit', output: {}, by: 'carol' });
      expect(warn).toHaveBeenCalledTimes(2);
    } finally {
      warn.mockRestore();
    }
    expect(actor.getSnapshot().output).toMatchObject({ decision: 'approved', by: 'alice' });
  });
});

describe('expiry', () => {
  it('expires exactly timeoutMs after opening, into the fallback policy (the default)', async () => {
    const { actor, clock, emitted } = start({ timeoutMs: 60_000 }, { at: 1_000 });
    await clock.advance(0);
    clock.set(60_999);
    expect(status(actor)).toBe('awaitingReview');
    clock.set(61_000);
    const snapshot = actor.getSnapshot();
    expect(snapshot.value).toBe('expired');
    expect(snapshot.output).toEqual({
      reviewId: 'rev-1',
      runId: 'run-1',
      stepId: 'write',
      agentId: 'writer',
      trigger: 'lowConfidence',
      decision: 'expired',
      resolution: 'fallback',
      content: REVIEW_EXPIRED_CONTENT,
      by: null,
      reason: 'no decision within 60000 ms; the step\'s policy on timeout is "fallback"',
      at: 61_000,
      openedAt: 1_000,
      decidedAt: 61_000,
      notified: true,
      notifyFailures: [],
    });
    expect(emitted.at(-1)).toEqual({
      type: 'expired',
      reviewId: 'rev-1',
      at: 61_000,
      decidedAt: 61_000,
      onTimeout: 'fallback',
    });
  });

  it('with onTimeout "reject", an expired review resolves as rejected', async () => {
    const { actor, clock } = start({ timeoutMs: 1_000, onTimeout: 'reject' });
    await clock.advance(1_000);
    expect(actor.getSnapshot().output).toMatchObject({ decision: 'expired', resolution: 'rejected' });
  });

  it('a decision one millisecond before the boundary wins', async () => {
    const { actor, clock } = start({ timeoutMs: 1_000 });
    clock.set(999);
    actor.send({ type: 'review.approve', by: 'alice' });
    clock.set(1_000);
    expect(actor.getSnapshot().output).toMatchObject({ decision: 'approved', decidedAt: 999 });
  });

  it('is measured from opening, so it also runs while the hook is still being called', async () => {
    const { hook, calls } = scriptedHook(['hang']);
    const { actor, clock } = start({ timeoutMs: 2_000 }, { hook });
    await clock.advance(2_000);
    expect(actor.getSnapshot().output).toMatchObject({ decision: 'expired', notified: false });
    expect(calls[0]!.signal.aborted).toBe(true);
  });

  it('without a timeout, waits indefinitely and arms no timer', async () => {
    const clock = testClock();
    const setTimeoutSpy = vi.spyOn(clock, 'setTimeout');
    const { actor } = start({}, { clock });
    await clock.advance(0);
    expect(actor.getSnapshot().value).toEqual({ open: { review: 'awaitingReview', expiry: 'unarmed' } });
    // Only the hook's attempt timer was ever armed.
    expect(setTimeoutSpy.mock.calls.map((c) => c[1])).toEqual([10_000]);
    clock.set(MAX_TIMER_MS * 2);
    expect(status(actor)).toBe('awaitingReview');
  });
});

describe('persist and restore', () => {
  async function persistedAt(at: number, input: Partial<EscalationInput> = { timeoutMs: 60_000 }) {
    const { actor, clock, machine } = start(input, { at: 1_000 });
    await clock.advance(0);
    clock.set(at);
    const saved = actor.getPersistedSnapshot();
    actor.stop();
    return { saved: JSON.parse(JSON.stringify(saved)), machine };
  }

  function restore(machine: EscalationMachine, saved: unknown, at: number, send = true) {
    const clock = testClock();
    clock.set(at);
    const actor = createActor(machine, { clock, snapshot: saved as never, input: INPUT }).start();
    if (send) actor.send({ type: 'restore' });
    return { actor, clock };
  }

  it('the persisted snapshot is plain JSON holding the pending review', async () => {
    const { saved } = await persistedAt(5_000);
    expect(saved).toMatchObject({
      status: 'active',
      value: { open: { review: 'awaitingReview', expiry: 'armed' } },
      context: { reviewId: 'rev-1', output: DRAFT, openedAt: 1_000, expiresAt: 61_000 },
    });
  });

  it('XState alone does not re-arm the review timer after a restore', async () => {
    const { saved, machine } = await persistedAt(5_000);
    const { actor, clock } = restore(machine, saved, 30_000, false);
    clock.set(200_000);
    expect(status(actor)).toBe('awaitingReview');
  });

  it('`restore` re-arms it: the restored review expires at the same absolute time', async () => {
    const { saved, machine } = await persistedAt(5_000);
    const { actor, clock } = restore(machine, saved, 30_000);
    clock.set(60_999);
    expect(status(actor)).toBe('awaitingReview');
    clock.set(61_000);
    expect(actor.getSnapshot().output).toMatchObject({ decision: 'expired', at: 61_000, openedAt: 1_000 });
  });

  it('a restored review still accepts decisions, recording who and when', async () => {
    const { saved, machine } = await persistedAt(5_000);
    const { actor } = restore(machine, saved, 30_000);
    actor.send({ type: 'review.edit', output: { content: 'fixed', confidence: 0.9 }, by: 'erin' });
    expect(actor.getSnapshot().output).toMatchObject({
      decision: 'edited',
      by: 'erin',
      decidedAt: 30_000,
      openedAt: 1_000,
      output: { content: 'fixed', confidence: 0.9 },
    });
  });

  it('restored after expiresAt, it expires at once (at the original time)', async () => {
    const { saved, machine } = await persistedAt(5_000);
    const { actor } = restore(machine, saved, 90_000);
    expect(actor.getSnapshot().output).toMatchObject({ decision: 'expired', at: 61_000, decidedAt: 90_000 });
  });

  it('re-arms the hook backoff from its absolute time', async () => {
    const calls: number[] = [];
    const failing = createEscalationMachine().provide({
      actors: {
        notify: fromPromise<void, EscalationNotice>(async ({ input }) => {
          calls.push(input.attempt);
          throw new Error('down');
        }),
      },
    });
    const clock = testClock();
    const actor = createActor(failing, { clock, input: { ...INPUT, notify: { initialDelayMs: 5_000 } } });
    actor.start();
    await clock.advance(0);
    expect(actor.getSnapshot().context.nextNotifyAt).toBe(5_000);
    clock.set(2_000);
    const saved = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
    actor.stop();

    const { actor: restored, clock: clock2 } = restore(failing, saved, 2_000);
    await clock2.advance(2_999);
    expect(calls).toEqual([1]);
    await clock2.advance(1);
    expect(calls).toEqual([1, 2]);
    expect(restored.getSnapshot().context.notifyAttempt).toBe(2);
  });

  it('re-arms the hook attempt timeout without calling the hook again from `restore`', async () => {
    let calls = 0;
    const hanging = createEscalationMachine().provide({
      actors: {
        notify: fromPromise<void, EscalationNotice>(async () => {
          calls++;
          await new Promise(() => {});
        }),
      },
    });
    const clock = testClock();
    const actor = createActor(hanging, {
      clock,
      input: { ...INPUT, notify: { attemptTimeoutMs: 5_000, maxAttempts: 1 } },
    }).start();
    clock.set(1_000);
    const saved = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
    actor.stop();
    const { actor: restored, clock: clock2 } = restore(hanging, saved, 1_000);
    // XState restarts the in-flight call once (at-least-once); `restore` adds no further call.
    expect(calls).toBe(2);
    await clock2.advance(3_999);
    expect(status(restored)).toBe('notifying');
    await clock2.advance(1);
    expect(status(restored)).toBe('awaitingReview');
    expect(restored.getSnapshot().context.notifyFailures).toEqual([
      { attempt: 1, at: 5_000, reason: 'the hook did not settle within 5000 ms' },
    ]);
  });
});

describe('input and placeholder', () => {
  it('fails clearly on bad input', () => {
    const bad = [
      [{ confidence: 1.5 }, 'escalation input: confidence must be a number from 0 to 1'],
      [{ trigger: 'whim' }, 'escalation input: trigger must be "lowConfidence", "fallback" or "breakerOpen"'],
      [{ timeoutMs: -1 }, 'escalation input: timeoutMs must be an integer number of milliseconds from 1'],
      [{ onTimeout: 'ignore' }, 'escalation input: onTimeout must be "fallback" or "reject"'],
      [
        { notify: { maxAttempts: 0 } },
        'escalation input: notify.maxAttempts must be an integer from 1 to 100',
      ],
      [{ output: 10n }, 'escalation input: output output is not serialisable'],
    ] as const;
    for (const [input, message] of bad) {
      const actor = createActor(escalationMachine, { input: { ...INPUT, ...(input as object) } });
      const snapshot = actor.getSnapshot();
      expect(snapshot.status).toBe('error');
      expect(String((snapshot as { error?: unknown }).error)).toContain(message);
    }
  });

  it('copies the output into context, sharing nothing with the caller', () => {
    const output = { content: 'x', confidence: 0.5 };
    const actor = createActor(escalationMachine, { input: { ...INPUT, output } }).start();
    output.content = 'changed';
    expect(actor.getSnapshot().context.output).toEqual({ content: 'x', confidence: 0.5 });
  });

  it('pendingContent follows the seed wording', () => {
    expect(pendingContent(0.62)).toBe('[Pending human review — confidence 62%]');
    expect(pendingContent(0.29)).toBe('[Pending human review — confidence 29%]');
    // Rounded down: an output just under a 70% threshold never reads "70%".
    expect(pendingContent(0.699)).toBe('[Pending human review — confidence 69%]');
    expect(pendingContent(0)).toBe('[Pending human review — confidence 0%]');
    expect(pendingContent(0, 'fallback')).toBe('[Pending human review — agent fallback, no usable output]');
    expect(pendingContent(0.55, 'fallback')).toBe(
      '[Pending human review — agent fallback, candidate confidence 55%]',
    );
    expect(pendingContent(0, 'breakerOpen')).toBe('[Pending human review — circuit open, agent not called]');
    expect(pendingContent(Number.NaN)).toBe('[Pending human review — confidence 0%]');
  });
});
