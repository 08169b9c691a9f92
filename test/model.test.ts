import { APICallError } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isAgent } from '../src/agent.js';
import type { UsageEvent } from '../src/model/index.js';
import { fromModel } from '../src/model/index.js';
import { withQualityGate } from '../src/quality-gate.js';
import { runAgent } from '../src/run-agent.js';
import { Draft } from './helpers/agents.js';
import { testClock } from './helpers/clock.js';
import { promptOf, reply, scriptedModel, systemOf, usage } from './helpers/model.js';

const limits = { maxIterations: 3, attemptTimeoutMs: 5_000 };
const retry = { initialDelayMs: 100, factor: 2, maxDelayMs: 1_000 };

describe('fromModel: an agent from an AI SDK model, every guardrail intact', () => {
  it('a valid object: asked for the agent schema, validated, self-reported confidence, usage reported', async () => {
    const model = scriptedModel([
      reply({ content: 'Solid-state cells use a solid electrolyte.', confidence: 0.9 }),
    ]);
    const events: UsageEvent[] = [];
    const researcher = fromModel({
      id: 'researcher',
      model,
      output: Draft,
      system: 'You are a careful researcher.',
      prompt: 'Summarise the topic in one sentence.',
      limits,
      onUsage: (e) => events.push(e),
    });
    expect(isAgent(researcher)).toBe(true);

    const result = await runAgent(researcher, { topic: 'solid-state batteries' }, { runId: 'r1' });

    expect(result).toMatchObject({
      status: 'succeeded',
      content: { content: 'Solid-state cells use a solid electrolyte.', confidence: 0.9 },
      confidence: 0.9,
      quality: 'HIGH',
    });
    expect(model.doGenerateCalls).toHaveLength(1);
    const call = model.doGenerateCalls[0]!;
    // The model is asked for exactly what the validator accepts.
    expect(call.responseFormat).toEqual({
      type: 'json',
      schema: {
        $schema: 'http://json-schema.org/draft-07/schema#',
        type: 'object',
        properties: {
          content: { type: 'string' },
          confidence: { type: 'number', minimum: 0, maximum: 1 },
        },
        required: ['content', 'confidence'],
        additionalProperties: false,
      },
    });
    expect(systemOf(call)).toBe('You are a careful researcher.');
    expect(promptOf(call)).toBe(
      'Summarise the topic in one sentence.\n\nInput:\n{\n  "topic": "solid-state batteries"\n}',
    );
    expect(call.abortSignal).toBeInstanceOf(AbortSignal);
    expect(call.abortSignal?.aborted).toBe(false);
    expect(events).toEqual([
      {
        agentId: 'researcher',
        attempt: 1,
        idempotencyKey: 'r1:researcher:1',
        call: 'output',
        modelId: 'mock-provider:mock-model-id',
        usage: { inputTokens: 10, outputTokens: 20, totalTokens: 30 },
      },
    ]);
    // The same counts on the attempt record, beside the output (the output schema is untouched).
    expect(result.attempts[0]!.usage).toEqual({ inputTokens: 10, outputTokens: 20, totalTokens: 30 });
  });

  it('an invalid object, then a valid retry told what was wrong and what it returned', async () => {
    const clock = testClock();
    const model = scriptedModel([
      reply({ content: 42, confidence: 0.9 }),
      reply({ content: 'Fixed: a string this time.', confidence: 0.8 }),
    ]);
    const agent = fromModel({ id: 'writer', model, output: Draft, prompt: 'Write it.', limits, retry });
    const done = runAgent(agent, { topic: 't' }, { clock, runId: 'r2' });
    await clock.advance(100); // the backoff after the invalid attempt
    const result = await done;

    expect(result.status).toBe('succeeded');
    expect(result.content).toEqual({ content: 'Fixed: a string this time.', confidence: 0.8 });
    expect(result.attempts.map((a) => a.outcome)).toEqual(['invalid', 'valid']);
    expect(result.attempts[0]!.issues).toEqual([
      { path: 'content', message: 'Invalid input: expected string, received number' },
    ]);
    expect(model.doGenerateCalls).toHaveLength(2);
    expect(promptOf(model.doGenerateCalls[0])).not.toContain('previous');
    expect(promptOf(model.doGenerateCalls[1])).toBe(
      [
        'Write it.\n\nInput:\n{\n  "topic": "t"\n}\n',
        'Your previous answer (attempt 1) was rejected:',
        '- content: Invalid input: expected string, received number',
        'It was:',
        '```\n{\n  "content": 42,\n  "confidence": 0.9\n}\n```',
        'Reply with a corrected JSON object that fixes every problem listed.',
      ].join('\n'),
    );
  });

  it('a reply that is not JSON is an invalid output; the retry sees the raw text', async () => {
    const clock = testClock();
    const model = scriptedModel([
      reply('Sure! Here is your summary: batteries.'),
      reply({ content: 'Batteries.', confidence: 0.7 }),
    ]);
    const events: UsageEvent[] = [];
    const agent = fromModel({
      id: 'writer',
      model,
      output: Draft,
      limits,
      retry,
      onUsage: (e) => events.push(e),
    });
    const done = runAgent(agent, 'batteries', { clock });
    await clock.advance(100);
    const result = await done;

    expect(result.status).toBe('succeeded');
    expect(result.attempts[0]).toMatchObject({
      outcome: 'invalid',
      reason: 'schema: (root): Invalid input: expected object, received string',
    });
    expect(promptOf(model.doGenerateCalls[1])).toBe(
      [
        'batteries\n',
        'Your previous reply (attempt 1) was not a valid JSON object:',
        '```\nSure! Here is your summary: batteries.\n```',
        'Reply with a single JSON object that matches the schema.',
      ].join('\n'),
    );
    // The failed call's tokens were spent too.
    expect(events.map((e) => [e.attempt, e.usage.totalTokens])).toEqual([
      [1, 30],
      [2, 30],
    ]);
    expect(result.attempts.map((a) => a.usage?.totalTokens)).toEqual([30, 30]);
  });

  it('a hung call is aborted by the attempt timeout: the model gets the agent signal', async () => {
    const clock = testClock();
    const model = scriptedModel([{ hang: true }]);
    const agent = fromModel({
      id: 'slow',
      model,
      output: Draft,
      limits: { maxIterations: 1, attemptTimeoutMs: 5_000 },
    });
    const done = runAgent(agent, 'x', { clock });
    await clock.advance(4_999);
    expect(model.doGenerateCalls).toHaveLength(1);
    expect(model.doGenerateCalls[0]!.abortSignal?.aborted).toBe(false);
    await clock.advance(1);
    expect(model.doGenerateCalls[0]!.abortSignal?.aborted).toBe(true);
    const result = await done;
    expect(result).toMatchObject({
      status: 'timedOut',
      fallback: true,
      content: '[Timeout — escalating to human review]',
      reason: 'attempt 1 of 1 timed out after 5000 ms',
    });
    expect(result.attempts.map((a) => a.outcome)).toEqual(['timedOut']);
  });

  it('a provider error is thrown into the statechart: retried by it (not by the SDK), then failed', async () => {
    const clock = testClock();
    const overloaded = new APICallError({
      message: 'Overloaded',
      url: 'https://api.example.test/v1/chat',
      requestBodyValues: {},
      statusCode: 529,
      isRetryable: true,
    });
    const model = scriptedModel([{ throws: overloaded }]);
    const agent = fromModel({
      id: 'writer',
      model,
      output: Draft,
      limits: { maxIterations: 2, attemptTimeoutMs: 5_000 },
      retry,
    });
    const done = runAgent(agent, 'x', { clock });
    await clock.advance(100);
    const result = await done;
    expect(model.doGenerateCalls).toHaveLength(2); // one per attempt: the SDK's own retries are off
    expect(result).toMatchObject({
      status: 'failed',
      content: '[Agent failed — escalating to human review]',
      reason: 'attempt 2 of 2 threw: AI_APICallError: Overloaded',
    });
    expect(result.attempts.map((a) => a.error)).toEqual([
      { name: 'AI_APICallError', message: 'Overloaded' },
      { name: 'AI_APICallError', message: 'Overloaded' },
    ]);
  });

  it('a judge model scores low confidence: the quality gate blocks it and the breaker opens', async () => {
    const clock = testClock();
    const model = scriptedModel([reply({ content: 'The moon is made of cheese.', confidence: 0.95 })]);
    const judge = scriptedModel([reply({ score: 0.3, reason: 'Unsupported claim.' })], 'judge-model');
    const events: UsageEvent[] = [];
    const researcher = fromModel({
      id: 'researcher',
      model,
      output: Draft,
      prompt: 'What is the moon made of?',
      confidence: { judge, criteria: 'Facts must be verifiable.' },
      limits: { maxIterations: 1, attemptTimeoutMs: 5_000 },
      onUsage: (e) => events.push(e),
    });
    const gated = withQualityGate(researcher, { failureThreshold: 1, cooldownMs: 30_000, clock });

    const first = await gated.run(null);
    expect(first).toMatchObject({
      passed: false,
      fallback: {
        status: 'gated',
        cause: 'lowQuality',
        content: '[Low confidence — human review required]',
        confidence: 0.3, // the judge's score, not the self-reported 0.95
        quality: 'LOW',
      },
    });
    expect(gated.breaker.state().value).toBe('open');
    const second = await gated.run(null);
    expect(second).toMatchObject({ passed: false, fallback: { status: 'breakerOpen' } });
    expect(model.doGenerateCalls).toHaveLength(1); // not called while the breaker is open
    expect(judge.doGenerateCalls).toHaveLength(1);

    const judgeCall = judge.doGenerateCalls[0]!;
    expect(systemOf(judgeCall)).toContain('Criteria: Facts must be verifiable.');
    expect(promptOf(judgeCall)).toContain('Task:\nWhat is the moon made of?');
    expect(promptOf(judgeCall)).toContain('"content": "The moon is made of cheese."');
    expect(judgeCall.abortSignal).toBe(model.doGenerateCalls[0]!.abortSignal); // same attempt, same bound
    expect(events.map((e) => [e.call, e.modelId])).toEqual([
      ['output', 'mock-provider:mock-model-id'],
      ['judge', 'mock-provider:judge-model'],
    ]);
    gated.breaker.stop();
  });

  it("a judge model's score is the attempt's confidence; the attempt's usage counts both calls", async () => {
    const model = scriptedModel([reply({ content: 'Cells use a solid electrolyte.', confidence: 0.5 })]);
    const judge = scriptedModel(
      [reply({ score: 0.92, reason: 'Correct.' }, { usage: usage(100, 5) })],
      'judge-model',
    );
    const agent = fromModel({ id: 'judged', model, output: Draft, confidence: { judge }, limits });
    const result = await runAgent(agent, 'x');
    expect(result).toMatchObject({
      status: 'succeeded',
      // The output is exactly what the model said: the score travels beside it, not in it.
      content: { content: 'Cells use a solid electrolyte.', confidence: 0.5 },
      confidence: 0.92,
      quality: 'HIGH',
    });
    expect(result.attempts[0]).toMatchObject({
      outcome: 'valid',
      confidence: 0.92,
      usage: { inputTokens: 110, outputTokens: 25, totalTokens: 135 },
    });
  });

  it('the judge runs inside the attempt: a hung judge is aborted by the attempt timeout', async () => {
    const clock = testClock();
    const model = scriptedModel([reply({ content: 'x', confidence: 0.9 })]);
    const judge = scriptedModel([{ hang: true }], 'judge-model');
    const agent = fromModel({
      id: 'judged',
      model,
      output: Draft,
      confidence: { judge },
      limits: { maxIterations: 1, attemptTimeoutMs: 5_000 },
    });
    const done = runAgent(agent, 'x', { clock });
    await clock.advance(4_999);
    expect(judge.doGenerateCalls).toHaveLength(1);
    expect(judge.doGenerateCalls[0]!.abortSignal?.aborted).toBe(false);
    await clock.advance(1);
    expect(judge.doGenerateCalls[0]!.abortSignal?.aborted).toBe(true);
    expect((await done).status).toBe('timedOut');
  });

  it('a judge model reply without a valid score is an invalid attempt with the reason', async () => {
    const model = scriptedModel([reply({ content: 'x', confidence: 0.9 })]);
    const judge = scriptedModel([reply('I would say fairly good.')], 'judge-model');
    const agent = fromModel({
      id: 'judged',
      model,
      output: Draft,
      confidence: { judge },
      limits: { maxIterations: 1, attemptTimeoutMs: 5_000 },
    });
    const result = await runAgent(agent, 'x');
    expect(result.status).toBe('invalidOutput');
    expect(result.reason).toBe(
      'attempt 1 of 1 returned invalid output: confidence unavailable: the judge model returned no valid score: ' +
        'No object generated: could not parse the response.',
    );
  });

  it('a judge function scores the output; a score outside [0, 1] makes the attempt invalid', async () => {
    const Answer = z.object({ answer: z.string() }); // no confidence field: the judge supplies it
    const model = scriptedModel([reply({ answer: 'Paris' })]);
    const seen: unknown[] = [];
    const good = fromModel({
      id: 'geo',
      model,
      output: Answer,
      confidence: {
        judge: async (out, ctx) => {
          seen.push({ out, input: ctx.input, attempt: ctx.attempt, prompt: ctx.prompt });
          return out.answer === 'Paris' ? 0.97 : 0.1;
        },
      },
      limits,
    });
    const result = await runAgent(good, 'Capital of France?');
    expect(result).toMatchObject({ status: 'succeeded', content: { answer: 'Paris' }, confidence: 0.97 });
    expect(seen).toEqual([
      { out: { answer: 'Paris' }, input: 'Capital of France?', attempt: 1, prompt: 'Capital of France?' },
    ]);

    const broken = fromModel({
      id: 'geo',
      model,
      output: Answer,
      confidence: { judge: () => 1.5 },
      limits: { maxIterations: 1, attemptTimeoutMs: 5_000 },
    });
    const bad = await runAgent(broken, 'Capital of France?');
    expect(bad).toMatchObject({
      status: 'invalidOutput',
      reason:
        'attempt 1 of 1 returned invalid output: confidence unavailable: the judge returned 1.5, expected a number in [0, 1]',
    });
  });

  it('concurrent runs with identical outputs each get their own judge score, whatever the finishing order', async () => {
    const Answer = z.object({ answer: z.string() });
    let lows = 0;
    let releaseHighs!: () => void;
    const lowsScored = new Promise<void>((resolve) => {
      releaseHighs = resolve;
    });
    const model = scriptedModel([reply({ answer: 'same' })]);
    const agent = fromModel({
      id: 'twin',
      model,
      output: Answer,
      confidence: {
        // The high scores arrive last (they wait until both low ones are given): each attempt's
        // score travels with its own output.
        judge: async (_out, ctx) => {
          if (ctx.input === 'high') {
            await lowsScored;
            return 0.9;
          }
          if (++lows === 2) releaseHighs();
          return 0.2;
        },
      },
      limits,
    });
    const results = await Promise.all(['high', 'low', 'high', 'low'].map((input) => runAgent(agent, input)));
    expect(results.map((r) => r.confidence)).toEqual([0.9, 0.2, 0.9, 0.2]);
    expect(results.map((r) => r.content)).toEqual(Array(4).fill({ answer: 'same' }));
  });

  it('log-probabilities: the mean token probability when the provider returns them', async () => {
    const Answer = z.object({ answer: z.string() });
    const logprobs = [
      { token: '{"', logprob: -0.1, top_logprobs: [] },
      { token: 'answer', logprob: -0.2, top_logprobs: [] },
      { token: 'Paris', logprob: -0.9, top_logprobs: [] },
    ];
    const model = scriptedModel([reply({ answer: 'Paris' }, { providerMetadata: { openai: { logprobs } } })]);
    const agent = fromModel({ id: 'geo', model, output: Answer, confidence: 'logprobs', limits });
    const result = await runAgent(agent, 'Capital of France?');
    expect(result.status).toBe('succeeded');
    expect(result.confidence).toBeCloseTo(Math.exp(-0.4), 12);
    expect(result.quality).toBe('MEDIUM');
  });

  it('log-probabilities: none returned is an invalid output with the reason, never an invented number', async () => {
    const model = scriptedModel([reply({ content: 'x', confidence: 0.99 })]);
    const agent = fromModel({
      id: 'geo',
      model,
      output: Draft,
      confidence: 'logprobs',
      limits: { maxIterations: 1, attemptTimeoutMs: 5_000 },
    });
    const result = await runAgent(agent, 'q');
    expect(result.status).toBe('invalidOutput');
    expect(result.reason).toContain('confidence unavailable: the reply carries no token log-probabilities');
    expect(result.confidence).toBe(0);
  });

  it('a prompt function builds the whole prompt from input, attempt and previous; feedback can be off', async () => {
    const clock = testClock();
    const Long = z.object({ content: z.string(), confidence: z.number() });
    const model = scriptedModel([
      reply({ content: 'short', confidence: 0.9 }),
      reply({ content: 'longer', confidence: 0.9 }),
    ]);
    const agent = fromModel({
      id: 'refiner',
      model,
      output: Long,
      prompt: ({ input, attempt, previous }: { input: string; attempt: number; previous: unknown }) =>
        `${input} #${attempt}${previous ? ' (do better)' : ''}`,
      feedback: false,
      isDone: (out) => out.content.length > 5,
      limits,
    });
    const result = await runAgent(agent, 'Write', { clock });
    expect(result.status).toBe('succeeded');
    expect(result.attempts.map((a) => a.outcome)).toEqual(['notDone', 'valid']);
    expect(model.doGenerateCalls.map(promptOf)).toEqual(['Write #1', 'Write #2 (do better)']);
  });

  it('feedback for a valid but unfinished answer asks to improve on it', async () => {
    const model = scriptedModel([
      reply({ content: 'short', confidence: 0.9 }),
      reply({ content: 'longer', confidence: 0.9 }),
    ]);
    const agent = fromModel({
      id: 'refiner',
      model,
      output: Draft,
      isDone: (out) => out.content.length > 5,
      limits,
    });
    await runAgent(agent, 'Write');
    expect(promptOf(model.doGenerateCalls[1])).toBe(
      [
        'Write\n',
        'Your previous answer (attempt 1) was valid but did not complete the task. Improve on it:',
        '```\n{\n  "content": "short",\n  "confidence": 0.9\n}\n```',
      ].join('\n'),
    );
  });

  it('settings reach the SDK call; the statechart keeps the signal and the retries', async () => {
    const model = scriptedModel([reply({ content: 'x', confidence: 0.9 }, { usage: usage(3, 4) })]);
    const agent = fromModel({
      id: 'tuned',
      model,
      output: Draft,
      settings: {
        temperature: 0.2,
        maxOutputTokens: 300,
        seed: 7,
        providerOptions: { mock: { flag: true } },
      },
      limits,
    });
    await runAgent(agent, 'x');
    expect(model.doGenerateCalls[0]).toMatchObject({
      temperature: 0.2,
      maxOutputTokens: 300,
      seed: 7,
      providerOptions: { mock: { flag: true } },
    });
  });
});
