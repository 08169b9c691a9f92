import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { z } from 'zod';
import { ATTEMPT_META, splitAttemptMeta, withAttemptMeta } from '../machines/attempt-meta.js';
import { agentActor, defineAgent } from '../src/agent.js';
import { isOptionsError } from '../src/errors.js';
import { runAgent } from '../src/run-agent.js';
import { mockRun } from '../src/testing/mock-agent.js';
import { Draft, draft } from './helpers/agents.js';
import { settle, testClock } from './helpers/clock.js';

const once = { maxIterations: 1, attemptTimeoutMs: 1000 };
const Answer = z.object({ answer: z.string() }); // no confidence field
const usage = { inputTokens: 10, outputTokens: 20, totalTokens: 30 };

describe('withAttemptMeta: usage and confidence beside the output, never in it', () => {
  it('usage is recorded on the attempt; the validated output is the output alone', async () => {
    const agent = defineAgent({
      id: 'u',
      output: Draft,
      run: mockRun([{ output: withAttemptMeta(draft('hello', 0.9), { usage }) }]),
      limits: once,
    });
    const result = await runAgent(agent, null, { clock: testClock() });
    expect(result).toMatchObject({ status: 'succeeded', confidence: 0.9, quality: 'HIGH' });
    expect(result.content).toStrictEqual(draft('hello', 0.9));
    expect(Object.getOwnPropertySymbols(result.content)).toEqual([]);
    expect(result.attempts[0]).toMatchObject({ outcome: 'valid', confidence: 0.9, usage });
  });

  it('usage is recorded on invalid attempts too (wrong shape, over the cap), never on a throw', async () => {
    const clock = testClock();
    const agent = defineAgent({
      id: 'u',
      output: Draft,
      run: mockRun([
        { output: withAttemptMeta({ content: 1 }, { usage: { totalTokens: 5 } }) },
        { output: withAttemptMeta({ content: 'x'.repeat(300) }, { usage: { totalTokens: 6 } }) },
        { throws: new Error('down') },
        { output: withAttemptMeta(draft('ok'), { usage: { totalTokens: 8 } }) },
      ]),
      limits: { maxIterations: 4, attemptTimeoutMs: 1000 },
      retry: { initialDelayMs: 0 },
      maxOutputBytes: 200,
    });
    const done = runAgent(agent, null, { clock });
    for (let i = 0; i < 4; i++) await clock.advance(0);
    const result = await done;
    expect(result.status).toBe('succeeded');
    expect(result.attempts.map((a) => [a.outcome, a.usage?.totalTokens])).toEqual([
      ['invalid', 5],
      ['invalid', 6],
      ['threw', undefined],
      ['valid', 8],
    ]);
    expect(result.attempts[1]!.reason).toMatch(/over the 200-byte cap/);
  });

  it('the previous output and a candidate are the output alone', async () => {
    const clock = testClock();
    const run = mockRun([
      { output: withAttemptMeta(draft('short'), { usage }) },
      { output: withAttemptMeta(draft('short'), { usage }) },
    ]);
    const agent = defineAgent({
      id: 'u',
      output: Draft,
      run,
      isDone: (d) => d.content.length > 10,
      limits: { maxIterations: 2, attemptTimeoutMs: 1000 },
    });
    const result = await runAgent(agent, null, { clock });
    expect(result.status).toBe('maxIterations');
    expect(run.calls[1]!.previous).toStrictEqual({ attempt: 1, outcome: 'notDone', output: draft('short') });
    expect(result.fallback && result.candidate?.content).toStrictEqual(draft('short'));
  });

  it('a reported confidence is used instead of the output field, and sets the quality', async () => {
    const agent = defineAgent({
      id: 'u',
      output: Draft,
      run: mockRun([{ output: withAttemptMeta(draft('x', 0.95), { confidence: 0.5 }) }]),
      limits: once,
    });
    const result = await runAgent(agent, null, { clock: testClock() });
    expect(result).toMatchObject({ status: 'succeeded', confidence: 0.5, quality: 'LOW' });
    expect(result.content).toStrictEqual(draft('x', 0.95)); // the output is left as the agent wrote it
    expect(result.attempts[0]!.confidence).toBe(0.5);
  });

  it("confidence: 'reported' needs no confidence field; an attempt that reports none is invalid", async () => {
    const scores = [0.9, undefined];
    const clock = testClock();
    const agent = defineAgent({
      id: 'judged',
      output: Answer,
      confidence: 'reported',
      run: async ({ attempt }) => {
        const confidence = scores[attempt - 1];
        return confidence === undefined
          ? { answer: 'bare' }
          : withAttemptMeta({ answer: 'Paris' }, { confidence });
      },
      limits: once,
    });
    const result = await runAgent(agent, null, { clock });
    expect(result).toMatchObject({ status: 'succeeded', content: { answer: 'Paris' }, confidence: 0.9 });

    scores.reverse();
    const bare = await runAgent(agent, null, { clock });
    expect(bare).toMatchObject({
      status: 'invalidOutput',
      reason:
        'attempt 1 of 1 returned invalid output: no confidence was reported: run must return withAttemptMeta(output, { confidence })',
    });
  });

  it('{ unavailable } makes the attempt invalid with the reason; a retry may report a score', async () => {
    const clock = testClock();
    const run = mockRun([
      {
        output: withAttemptMeta({ answer: 'x' }, { confidence: { unavailable: 'no logprobs in the reply' } }),
      },
      { output: withAttemptMeta({ answer: 'y' }, { confidence: 0.8 }) },
    ]);
    const agent = defineAgent({
      id: 'u',
      output: Answer,
      confidence: 'reported',
      run,
      limits: { maxIterations: 2, attemptTimeoutMs: 1000 },
      retry: { initialDelayMs: 0 },
    });
    const done = runAgent(agent, null, { clock });
    await clock.advance(0);
    const result = await done;
    expect(result).toMatchObject({ status: 'succeeded', confidence: 0.8 });
    expect(result.attempts[0]).toMatchObject({
      outcome: 'invalid',
      reason: 'confidence unavailable: no logprobs in the reply',
    });
    expect(run.calls[1]!.previous).toMatchObject({
      outcome: 'invalid',
      output: { answer: 'x' },
      reason: 'confidence unavailable: no logprobs in the reply',
    });

    // Also for an agent whose output has a confidence field: it is not used instead.
    const fielded = defineAgent({
      id: 'u',
      output: Draft,
      run: mockRun([{ output: withAttemptMeta(draft('z'), { confidence: { unavailable: 'judge down' } }) }]),
      limits: once,
    });
    expect(await runAgent(fielded, null, { clock })).toMatchObject({
      status: 'invalidOutput',
      reason: 'attempt 1 of 1 returned invalid output: confidence unavailable: judge down',
    });
  });

  it.each([
    [1.5, 'reported confidence must be a number in [0, 1], received 1.5'],
    [Number.NaN, 'reported confidence must be a number in [0, 1], received NaN'],
    ['0.9', 'confidence unavailable: the reported confidence is neither a number nor { unavailable }: "0.9"'],
    [
      { unavailable: 42 },
      'confidence unavailable: the reported confidence is neither a number nor { unavailable }: {"unavailable":42}',
    ],
  ])(
    'a reported confidence of %s is invalid output, never replaced by the output field',
    async (confidence, reason) => {
      const agent = defineAgent({
        id: 'u',
        output: Draft,
        run: mockRun([{ output: withAttemptMeta(draft('x', 0.9), { confidence: confidence as number }) }]),
        limits: once,
      });
      const result = await runAgent(agent, null, { clock: testClock() });
      expect(result.status).toBe('invalidOutput');
      expect(result.attempts[0]!.reason).toBe(reason);
    },
  );

  it('hostile metadata (throwing getters) is ignored, never thrown; the output is still validated', async () => {
    const throwing = (key: string) =>
      Object.defineProperty({}, key, {
        enumerable: true,
        get() {
          throw new Error('boom');
        },
      });
    const hostile = [
      throwing('usage'),
      throwing('confidence'),
      { usage: throwing('inputTokens') },
      Object.defineProperty({}, 'x', { get: () => 1 }),
    ];
    for (const meta of hostile) {
      const agent = defineAgent({
        id: 'u',
        output: Draft,
        run: mockRun([{ output: withAttemptMeta(draft('x', 0.9), meta as never) }]),
        limits: once,
      });
      const result = await runAgent(agent, null, { clock: testClock() });
      expect(result).toMatchObject({ status: 'succeeded', confidence: 0.9, content: draft('x', 0.9) });
      expect(result.attempts[0]!.usage).toBeUndefined();
    }
    // A getter on the marker itself.
    const raw = Object.defineProperty({ output: draft('x') }, ATTEMPT_META, {
      get() {
        throw new Error('boom');
      },
    });
    expect(splitAttemptMeta(raw)).toEqual({ output: draft('x'), meta: {} });
  });

  it('a hostile proxy or an unreadable output ends in invalidOutput with a reason, not a crash', async () => {
    const proxy = new Proxy(draft('x'), {
      getOwnPropertyDescriptor() {
        throw new Error('trap');
      },
    });
    const unreadable = Object.defineProperty({ [ATTEMPT_META]: { usage } }, 'output', {
      enumerable: true,
      get() {
        throw new Error('no output for you');
      },
    });
    for (const output of [proxy, unreadable]) {
      const agent = defineAgent({ id: 'u', output: Draft, run: mockRun([{ output }]), limits: once });
      const result = await runAgent(agent, null, { clock: testClock() });
      expect(result.status).toBe('invalidOutput');
      expect(result.reason).toMatch(/not serialisable/);
    }
  });

  it('usage keeps finite non-negative counts of the known kinds only; context stays JSON', async () => {
    const meta = {
      usage: { inputTokens: 5, outputTokens: -1, totalTokens: Number.NaN, reasoningTokens: '3', cost: 9 },
    };
    expect(splitAttemptMeta(withAttemptMeta('o', meta as never))).toEqual({
      output: 'o',
      meta: { usage: { inputTokens: 5 } },
    });
    expect(splitAttemptMeta(withAttemptMeta('o', { usage: { totalTokens: Infinity } }))).toEqual({
      output: 'o',
      meta: {},
    });

    const clock = testClock();
    const agent = defineAgent({
      id: 'p',
      output: Draft,
      run: mockRun([{ output: withAttemptMeta({ content: 1 }, { usage }) }]),
      retry: { initialDelayMs: 100 },
    });
    const actor = createActor(agentActor(agent), { input: { input: null, runId: 'r' }, clock }).start();
    await settle();
    expect(actor.getSnapshot().value).toEqual({ running: 'backingOff' });
    expect(actor.getSnapshot().context.attempts[0]!.usage).toEqual(usage);
    const persisted = actor.getPersistedSnapshot();
    expect(JSON.parse(JSON.stringify(persisted))).toEqual(persisted);
    actor.stop();
  });

  it('only an own ATTEMPT_META property marks metadata; Symbol.for makes copies of agentcharts agree', () => {
    expect(splitAttemptMeta({ output: 'not a wrapper' })).toEqual({
      output: { output: 'not a wrapper' },
      meta: {},
    });
    const inherited = Object.create(withAttemptMeta('o', { usage }));
    expect(splitAttemptMeta(inherited).output).toBe(inherited);
    expect(splitAttemptMeta('text')).toEqual({ output: 'text', meta: {} });
    expect(splitAttemptMeta(null)).toEqual({ output: null, meta: {} });
    const foreign = { [Symbol.for('agentcharts.attemptMeta')]: { confidence: 0.7 }, output: 1 };
    expect(splitAttemptMeta(foreign)).toEqual({ output: 1, meta: { confidence: 0.7 } });
    expect(splitAttemptMeta(withAttemptMeta(undefined, {})).output).toBeUndefined();
  });

  it('an unavailable reason is cut to a bounded length', () => {
    const { meta } = splitAttemptMeta(withAttemptMeta(1, { confidence: { unavailable: 'x'.repeat(5000) } }));
    expect((meta.confidence as { unavailable: string }).unavailable).toHaveLength(1001);
  });
});

describe("defineAgent's confidence option", () => {
  it("'reported' or a function; anything else is an OptionsError naming both", () => {
    expect(() =>
      defineAgent({ id: 'a', output: Answer, run: async () => ({ answer: '1' }), confidence: 'reported' }),
    ).not.toThrow();
    try {
      defineAgent({
        id: 'a',
        output: Answer,
        run: async () => ({ answer: '1' }),
        confidence: 'self' as never,
      });
      expect.unreachable();
    } catch (error) {
      expect(isOptionsError(error)).toBe(true);
      expect((error as Error).message).toBe(
        `defineAgent("a"): confidence must be a function (output) => number, or 'reported' (run reports it with withAttemptMeta), received "self"`,
      );
    }
  });

  it('an output schema without a confidence field names both ways to give one', () => {
    expect(() => defineAgent({ id: 'a', output: Answer, run: async () => ({ answer: '1' }) })).toThrow(
      'defineAgent("a"): confidence is required when the output schema has no numeric `confidence` field: a function (output) => number, or \'reported\' when run reports it with withAttemptMeta, received undefined',
    );
  });
});
