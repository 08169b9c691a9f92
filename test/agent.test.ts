import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { z } from 'zod';
import { agentActor, defineAgent } from '../src/agent.js';
import { runAgent } from '../src/run-agent.js';
import { mockRun } from '../src/testing/mock-agent.js';
import { Draft, draft } from './helpers/agents.js';
import { settle, testClock } from './helpers/clock.js';

const limits = { maxIterations: 3, attemptTimeoutMs: 1000 };
const retry = { initialDelayMs: 100, factor: 2, maxDelayMs: 1000 };

describe('agent: each way out', () => {
  it('succeeded: the validated output, its confidence and quality, one attempt', async () => {
    const clock = testClock();
    const run = mockRun([{ output: draft('hello', 0.9) }]);
    const agent = defineAgent({ id: 'writer', output: Draft, run, limits, retry });
    const result = await runAgent(agent, { topic: 't' }, { clock, runId: 'r1' });
    expect(result).toMatchObject({
      status: 'succeeded',
      fallback: false,
      agentId: 'writer',
      content: { content: 'hello', confidence: 0.9 },
      confidence: 0.9,
      quality: 'HIGH',
      reason: 'validated on attempt 1 of 3',
    });
    expect(result.attempts).toEqual([
      expect.objectContaining({
        attempt: 1,
        outcome: 'valid',
        idempotencyKey: 'r1:writer:1',
        confidence: 0.9,
      }),
    ]);
    expect(run.calls[0]!.input).toEqual({ topic: 't' });
  });

  it('succeeded after a throw: waits the backoff, then retries with the same run and next attempt key', async () => {
    const clock = testClock();
    const run = mockRun([{ throws: new Error('rate limited') }, { output: draft('ok', 0.7) }]);
    const agent = defineAgent({ id: 'writer', output: Draft, run, limits, retry });
    const done = runAgent(agent, null, { clock, runId: 'r2', stepId: 'draft' });
    await settle();
    expect(run.calls).toHaveLength(1);
    await clock.advance(99);
    expect(run.calls).toHaveLength(1); // backoff not over
    await clock.advance(1);
    const result = await done;
    expect(result.status).toBe('succeeded');
    expect(result.quality).toBe('MEDIUM');
    expect(run.calls.map((c) => c.idempotencyKey)).toEqual(['r2:draft:1', 'r2:draft:2']);
    expect(run.calls[1]!.previous).toEqual({ attempt: 1, outcome: 'threw', reason: 'Error: rate limited' });
    expect(result.attempts.map((a) => a.outcome)).toEqual(['threw', 'valid']);
  });

  it('timedOut: every attempt hangs; each signal aborts at the attempt timeout; backoff grows', async () => {
    const clock = testClock();
    const run = mockRun([{ hang: true }]);
    const agent = defineAgent({ id: 'slow', output: Draft, run, limits, retry });
    const done = runAgent(agent, null, { clock });
    await clock.advance(999);
    expect(run.calls[0]!.signal.aborted).toBe(false);
    await clock.advance(1);
    expect(run.calls[0]!.signal.aborted).toBe(true);
    await clock.advance(100); // backoff 1
    expect(run.calls).toHaveLength(2);
    await clock.advance(1000);
    await clock.advance(199);
    expect(run.calls).toHaveLength(2); // backoff 2 is 200 ms
    await clock.advance(1);
    expect(run.calls).toHaveLength(3);
    await clock.advance(1000);
    const result = await done;
    expect(result).toMatchObject({
      status: 'timedOut',
      fallback: true,
      content: '[Timeout — escalating to human review]',
      confidence: 0,
      quality: 'LOW',
      reason: 'attempt 3 of 3 timed out after 1000 ms',
      durationMs: 3300,
    });
    expect(result.attempts.map((a) => [a.outcome, a.startedAt, a.endedAt])).toEqual([
      ['timedOut', 0, 1000],
      ['timedOut', 1100, 2100],
      ['timedOut', 2300, 3300],
    ]);
    expect(run.calls.every((c) => c.signal.aborted)).toBe(true);
  });

  it('maxIterations: isDone never passes; each iteration sees the previous output; the last is kept as candidate', async () => {
    const clock = testClock();
    const run = mockRun((call) => ({ output: draft(`v${call.attempt}`, 0.8) }));
    const agent = defineAgent({
      id: 'looper',
      output: Draft,
      run,
      limits,
      retry,
      isDone: (out) => out.content.length > 10,
    });
    const result = await runAgent(agent, null, { clock });
    expect(result).toMatchObject({
      status: 'maxIterations',
      content: '[Max iterations reached — escalating]',
      quality: 'LOW',
      confidence: 0,
      candidate: { content: { content: 'v3', confidence: 0.8 }, confidence: 0.8, quality: 'MEDIUM' },
      reason: 'isDone was not satisfied within 3 iterations',
    });
    expect(run.calls.map((c) => c.previous?.output)).toEqual([undefined, draft('v1', 0.8), draft('v2', 0.8)]);
    // A refinement iteration is not a failure: no backoff between iterations.
    expect(result.durationMs).toBe(0);
  });

  it('isDone passing on a later iteration succeeds', async () => {
    const run = mockRun((call) => ({ output: draft('x'.repeat(call.attempt * 6)) }));
    const agent = defineAgent({ id: 'grower', output: Draft, run, isDone: (o) => o.content.length > 10 });
    const result = await runAgent(agent, null, { clock: testClock() });
    expect(result.status).toBe('succeeded');
    expect(result.attempts.map((a) => a.outcome)).toEqual(['notDone', 'valid']);
  });

  it('invalidOutput: wrong shape every time, with the schema issues recorded and fed back', async () => {
    const clock = testClock();
    const run = mockRun([{ output: { content: 42 } }]);
    const agent = defineAgent({
      id: 'sloppy',
      output: Draft,
      run,
      limits: { ...limits, maxIterations: 2 },
      retry,
    });
    const done = runAgent(agent, null, { clock });
    await clock.advance(100);
    const result = await done;
    expect(result).toMatchObject({
      status: 'invalidOutput',
      content: '[Invalid output — escalating to human review]',
      quality: 'LOW',
    });
    expect(result.reason).toMatch(
      /^attempt 2 of 2 returned invalid output: schema: content: .*\(\+1 more\)$/,
    );
    expect(result.attempts[0]!.issues!.map((i) => i.path)).toEqual(['content', 'confidence']);
    expect(run.calls[1]!.previous).toMatchObject({ outcome: 'invalid', output: { content: 42 } });
    expect('candidate' in result).toBe(false);
  });

  it('failed: throws every time — Errors and non-Errors alike are recorded, never rethrown', async () => {
    const clock = testClock();
    const thrown: unknown[] = ['a string', undefined, { code: 503 }];
    const run = mockRun(thrown.map((t) => ({ throws: t })));
    const agent = defineAgent({ id: 'broken', output: Draft, run, limits, retry });
    const done = runAgent(agent, null, { clock });
    await clock.advance(100);
    await clock.advance(200);
    const result = await done;
    expect(result.status).toBe('failed');
    expect(result.content).toBe('[Agent failed — escalating to human review]');
    expect(result.attempts.map((a) => a.error)).toEqual([
      { name: 'NonError', message: 'a string' },
      { name: 'NonError', message: 'undefined' },
      { name: 'NonError', message: '{"code":503}' },
    ]);
    expect(result.reason).toBe('attempt 3 of 3 threw: NonError: {"code":503}');
  });

  it('failed: a run function that throws synchronously is caught like any other', async () => {
    const agent = defineAgent({
      id: 'sync',
      output: Draft,
      limits: { maxIterations: 1 },
      run: () => {
        throw new TypeError('not async');
      },
    });
    const result = await runAgent(agent, null, { clock: testClock() });
    expect(result).toMatchObject({ status: 'failed', reason: 'attempt 1 of 1 threw: TypeError: not async' });
  });

  it('deadlineExceeded: the deadline cuts an attempt short and aborts its signal', async () => {
    const clock = testClock();
    const run = mockRun([{ hang: true }]);
    const agent = defineAgent({
      id: 'slow',
      output: Draft,
      run,
      limits: { ...limits, deadlineMs: 600 },
      retry,
    });
    const done = runAgent(agent, null, { clock });
    await clock.advance(599);
    expect(run.calls[0]!.signal.aborted).toBe(false);
    await clock.advance(1);
    const result = await done;
    expect(result).toMatchObject({
      status: 'deadlineExceeded',
      content: '[Deadline exceeded — escalating to human review]',
      reason: 'the 600 ms deadline passed during attempt 1 of 3',
      durationMs: 600,
    });
    expect(result.attempts).toEqual([expect.objectContaining({ outcome: 'deadline', endedAt: 600 })]);
    expect(run.calls[0]!.signal.aborted).toBe(true);
  });

  it('an attempt that times out exactly at the deadline is reported as its own timeout', async () => {
    const clock = testClock();
    const agent = defineAgent({
      id: 'tie',
      output: Draft,
      run: mockRun([{ hang: true }]),
      limits: { maxIterations: 1, attemptTimeoutMs: 1000, deadlineMs: 1000 },
    });
    const done = runAgent(agent, null, { clock });
    await clock.advance(1000);
    expect((await done).status).toBe('timedOut');
  });

  it('deadlineExceeded: gives up at once when the next backoff would end past the deadline', async () => {
    const clock = testClock();
    const run = mockRun([{ throws: new Error('x'), delayMs: 950 }], { clock });
    const agent = defineAgent({
      id: 'flaky',
      output: Draft,
      run,
      limits: { ...limits, deadlineMs: 1000 },
      retry,
    });
    const done = runAgent(agent, null, { clock });
    await clock.advance(950);
    const result = await done;
    expect(result.status).toBe('deadlineExceeded');
    expect(result.endedAt).toBe(950);
    expect(result.reason).toBe('the 1000 ms deadline would pass before attempt 2 could start');
    expect(run.calls).toHaveLength(1);
  });

  it('cancelled: a cancel event mid-attempt aborts the signal and records the attempt', async () => {
    const clock = testClock();
    const run = mockRun([{ hang: true }]);
    const agent = defineAgent({ id: 'slow', output: Draft, run, limits, retry });
    const actor = createActor(agentActor(agent), { input: { input: null }, clock }).start();
    await clock.advance(300);
    actor.send({ type: 'cancel', reason: 'user closed the tab' });
    expect(actor.getSnapshot().value).toBe('cancelled');
    expect(run.calls[0]!.signal.aborted).toBe(true);
    expect(actor.getSnapshot().output).toMatchObject({
      status: 'cancelled',
      content: '[Cancelled — no output]',
      reason: 'cancelled during attempt 1 of 3: user closed the tab',
      attempts: [{ outcome: 'cancelled', startedAt: 0, endedAt: 300 }],
    });
  });

  it('cancelled: the caller’s AbortSignal cancels runAgent, also while backing off', async () => {
    const clock = testClock();
    const run = mockRun([{ throws: new Error('x') }]);
    const agent = defineAgent({ id: 'flaky', output: Draft, run, limits, retry });
    const controller = new AbortController();
    const done = runAgent(agent, null, { clock, signal: controller.signal });
    await clock.advance(50);
    controller.abort('shutting down');
    const result = await done;
    expect(result).toMatchObject({
      status: 'cancelled',
      reason: 'cancelled during attempt 1 of 3: shutting down',
    });
    await clock.advance(10_000);
    expect(run.calls).toHaveLength(1); // no attempt after cancel
  });

  it('a late result after the timeout is ignored', async () => {
    const clock = testClock();
    const run = mockRun([{ output: draft('late'), delayMs: 1500 }, { hang: true }], {
      clock,
      honourAbort: false,
    });
    const agent = defineAgent({
      id: 'late',
      output: Draft,
      run,
      limits: { ...limits, maxIterations: 2 },
      retry,
    });
    const done = runAgent(agent, null, { clock });
    await clock.advance(1000); // attempt 1 times out
    await clock.advance(100); // attempt 2 starts
    await clock.advance(400); // attempt 1's result arrives now: ignored
    await clock.advance(600);
    const result = await done;
    expect(result.status).toBe('timedOut');
    expect(result.attempts.map((a) => a.outcome)).toEqual(['timedOut', 'timedOut']);
  });
});

describe('agent: untrusted output', () => {
  const once = { maxIterations: 1 };
  const cases: Array<[string, unknown, RegExp]> = [
    ['undefined', undefined, /returned undefined/],
    [
      'a cyclic object',
      (() => {
        const o: Record<string, unknown> = { content: 'x', confidence: 1 };
        o.self = o;
        return o;
      })(),
      /not serialisable/,
    ],
    ['a BigInt', { content: 'x', confidence: 1, n: 10n }, /not serialisable/],
    [
      'a throwing getter',
      Object.defineProperty({ confidence: 1 }, 'content', {
        enumerable: true,
        get() {
          throw new Error('boom');
        },
      }),
      /not serialisable: boom/,
    ],
    ['a function', () => 'x', /not serialisable \(function\)/],
    [
      'an oversized payload',
      { content: 'x'.repeat(2 * 1024 * 1024), confidence: 1 },
      /over the 1048576-byte cap/,
    ],
  ];
  for (const [what, output, reason] of cases) {
    it(`${what} ends in invalidOutput with the reason recorded`, async () => {
      const agent = defineAgent({ id: 'u', output: Draft, run: mockRun([{ output }]), limits: once });
      const result = await runAgent(agent, null, { clock: testClock() });
      expect(result.status).toBe('invalidOutput');
      expect(result.reason).toMatch(reason);
    });
  }

  it('the validated output shares nothing with the object the agent returned', async () => {
    const original = draft('mine');
    const agent = defineAgent({ id: 'u', output: Draft, run: mockRun([{ output: original }]) });
    const result = await runAgent(agent, null, { clock: testClock() });
    expect(result.content).toEqual(original);
    expect(result.content).not.toBe(original);
    original.content = 'mutated later';
    expect((result.content as Draft).content).toBe('mine');
  });

  it('an out-of-range or missing confidence is invalid output, not a success', async () => {
    const Loose = z.object({ content: z.string(), confidence: z.number() });
    const high = defineAgent({
      id: 'c',
      output: Loose,
      run: mockRun([{ output: draft('x', 1.5) }]),
      limits: once,
    });
    expect((await runAgent(high, null, { clock: testClock() })).reason).toMatch(
      /confidence must be a number in \[0, 1\], received 1.5/,
    );
    const custom = defineAgent({
      id: 'c2',
      output: z.object({ text: z.string() }),
      confidence: () => Number.NaN,
      run: mockRun([{ output: { text: 'x' } }]),
      limits: once,
    });
    expect((await runAgent(custom, null, { clock: testClock() })).reason).toMatch(/received NaN/);
  });

  it('a throwing isDone or confidence function is invalid output with the reason', async () => {
    const agent = defineAgent({
      id: 'c',
      output: Draft,
      run: mockRun([{ output: draft('x') }]),
      isDone: () => {
        throw 'nope';
      },
      limits: once,
    });
    expect((await runAgent(agent, null, { clock: testClock() })).reason).toMatch(/isDone\(\) threw: "nope"/);
  });

  it('async refinements decide validity: a failing one is invalid with its path and message', async () => {
    const Checked = z.object({
      content: z.string().refine(async (c) => c !== 'banned', 'content is banned'),
      confidence: z.number(),
    });
    const outcome = async (content: string) =>
      runAgent(
        defineAgent({ id: 'a', output: Checked, run: mockRun([{ output: draft(content) }]), limits: once }),
        null,
        { clock: testClock() },
      );
    const banned = await outcome('banned');
    expect(banned.status).toBe('invalidOutput');
    expect(banned.attempts[0]!.issues).toEqual([{ path: 'content', message: 'content is banned' }]);
    const fine = await outcome('fine');
    expect(fine.status).toBe('succeeded');
    expect(fine.content).toEqual(draft('fine'));
  });

  it('nested schema issues keep their dotted path; a throwing or rejecting refinement is invalid, not a crash', async () => {
    const Nested = z.object({
      content: z.string(),
      confidence: z.number(),
      tags: z.array(z.object({ name: z.string() })),
    });
    const nested = defineAgent({
      id: 'n',
      output: Nested,
      run: mockRun([{ output: { ...draft('x'), tags: [{ name: 'a' }, { name: 2 }] } }]),
      limits: once,
    });
    const invalid = await runAgent(nested, null, { clock: testClock() });
    expect(invalid.status).toBe('invalidOutput');
    expect(invalid.attempts[0]!.issues!.map((i) => i.path)).toEqual(['tags.1.name']);
    expect(invalid.reason).toMatch(/schema: tags\.1\.name: /);

    for (const [name, check] of [
      [
        'throws',
        () => {
          throw new Error('checker down');
        },
      ],
      ['rejects', async () => Promise.reject(new Error('checker down'))],
    ] as const) {
      const agent = defineAgent({
        id: name,
        output: Draft.refine(check),
        run: mockRun([{ output: draft('x') }]),
        limits: once,
      });
      const result = await runAgent(agent, null, { clock: testClock() });
      expect(result.status).toBe('invalidOutput');
      expect(result.reason).toMatch(/validation threw Error: checker down/);
    }
  });

  it('a validator that hangs (async refinement) is bounded by the attempt timeout', async () => {
    const clock = testClock();
    const Hanging = Draft.refine(() => new Promise<boolean>(() => {}));
    const agent = defineAgent({
      id: 'v',
      output: Hanging,
      run: mockRun([{ output: draft('x') }]),
      limits: { maxIterations: 1, attemptTimeoutMs: 500 },
    });
    const done = runAgent(agent, null, { clock });
    await clock.advance(500);
    expect((await done).status).toBe('timedOut');
  });
});

describe('agent: in a hand-written statechart', () => {
  it('agentActor is invokable actor logic; the parent gets the typed result', async () => {
    const { setup, assign, createActor: create } = await import('xstate');
    const agent = defineAgent({
      id: 'inner',
      output: Draft,
      run: mockRun([{ output: draft('from child', 0.95) }]),
    });
    const parent = setup({
      types: { context: {} as { result: unknown } },
      actors: { inner: agentActor(agent) },
    }).createMachine({
      context: { result: null },
      initial: 'working',
      states: {
        working: {
          invoke: {
            src: 'inner',
            input: { input: 'go', runId: 'p1' },
            onDone: { target: 'done', actions: assign({ result: ({ event }) => event.output }) },
          },
        },
        done: { type: 'final' },
      },
    });
    const actor = create(parent, { clock: testClock() }).start();
    await settle();
    expect(actor.getSnapshot().status).toBe('done');
    expect(actor.getSnapshot().context.result).toMatchObject({ status: 'succeeded', quality: 'HIGH' });
  });

  it('context stays JSON: a persisted snapshot mid-backoff survives a JSON round trip', async () => {
    const clock = testClock();
    const agent = defineAgent({ id: 'p', output: Draft, run: mockRun([{ throws: new Error('x') }]), retry });
    const actor = createActor(agentActor(agent), { input: { input: { q: 1 }, runId: 'r' }, clock }).start();
    await settle();
    expect(actor.getSnapshot().value).toEqual({ running: 'backingOff' });
    const persisted = actor.getPersistedSnapshot();
    expect(JSON.parse(JSON.stringify(persisted))).toEqual(persisted);
    actor.stop();
  });
});
