import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findLogprobs, meanTokenProbability, modelFromEnv } from '../src/model/index.js';
import { judgeScore } from '../src/model/judge.js';
import { renderPrompt } from '../src/model/prompt.js';
import { addUsage, toTokenUsage } from '../src/model/usage.js';

describe('judge scores: a number in [0, 1], or why there is none', () => {
  it('keeps a score in range; anything else is unavailable, naming the value', () => {
    expect(judgeScore(0)).toBe(0);
    expect(judgeScore(0.75)).toBe(0.75);
    expect(judgeScore(1.5)).toEqual({ unavailable: 'the judge returned 1.5, expected a number in [0, 1]' });
    expect(judgeScore(Number.NaN)).toEqual({
      unavailable: 'the judge returned NaN, expected a number in [0, 1]',
    });
    expect(judgeScore('high')).toEqual({
      unavailable: 'the judge returned "high", expected a number in [0, 1]',
    });
  });
});

describe('log-probabilities from provider metadata', () => {
  it('reads the OpenAI chat, responses and completion shapes', () => {
    const token = (logprob: number) => ({ token: 't', logprob, top_logprobs: [] });
    expect(findLogprobs({ openai: { logprobs: [token(-0.1), token(-0.2)] } })).toEqual([-0.1, -0.2]);
    expect(findLogprobs({ openai: { logprobs: [[token(-0.1)], [token(-0.3)]] } })).toEqual([-0.1, -0.3]);
    expect(findLogprobs({ openai: { logprobs: { tokens: ['a'], token_logprobs: [-0.5] } } })).toEqual([-0.5]);
  });

  it('finds none where there are none', () => {
    expect(findLogprobs(undefined)).toBeUndefined();
    expect(findLogprobs({ openai: { responseId: 'r' } })).toBeUndefined();
    expect(findLogprobs({ openai: { logprobs: [] } })).toBeUndefined();
  });

  it('averages per token: exp(mean logprob), within [0, 1]', () => {
    expect(meanTokenProbability([Math.log(0.5), Math.log(0.5)])).toBeCloseTo(0.5, 12);
    expect(meanTokenProbability([0, Math.log(0.25)])).toBeCloseTo(0.5, 12);
    expect(meanTokenProbability([Number.NEGATIVE_INFINITY])).toBe(0);
    expect(meanTokenProbability([0])).toBe(1);
  });
});

describe('prompt rendering', () => {
  const args = { input: { topic: 't' }, attempt: 1, previous: null };

  it('a string is the task followed by the input; no prompt sends the input alone', async () => {
    expect(await renderPrompt('Summarise.', args, true)).toBe('Summarise.\n\nInput:\n{\n  "topic": "t"\n}');
    expect(await renderPrompt(undefined, { ...args, input: 'plain text' }, true)).toBe('plain text');
  });

  it('a prompt function must return a non-empty string (else the attempt throws)', async () => {
    await expect(renderPrompt(() => '', args, true)).rejects.toThrow(
      'prompt() must return a non-empty string, received ""',
    );
  });

  it('cuts a long previous output in the feedback', async () => {
    const previous = { attempt: 1, outcome: 'invalid' as const, output: 'x'.repeat(5000), reason: 'r' };
    const text = await renderPrompt('T', { input: undefined, attempt: 2, previous }, true);
    expect(text).toContain(`${'x'.repeat(4000)}…\n\`\`\``);
    expect(text).not.toContain('x'.repeat(4001));
  });

  it('says why a thrown or timed-out attempt failed, without an output', async () => {
    const previous = { attempt: 2, outcome: 'threw' as const, reason: 'AI_APICallError: Overloaded' };
    expect(await renderPrompt('T', { input: undefined, attempt: 3, previous }, true)).toBe(
      'T\n\nThe previous attempt (attempt 2) failed: AI_APICallError: Overloaded. Try again.',
    );
  });
});

describe('token usage', () => {
  it('keeps the counts the provider reported, as plain JSON', () => {
    expect(
      toTokenUsage({
        inputTokens: 12,
        inputTokenDetails: { noCacheTokens: 4, cacheReadTokens: 8, cacheWriteTokens: undefined },
        outputTokens: 30,
        outputTokenDetails: { textTokens: 20, reasoningTokens: 10 },
        totalTokens: 42,
      }),
    ).toEqual({
      inputTokens: 12,
      outputTokens: 30,
      totalTokens: 42,
      reasoningTokens: 10,
      cachedInputTokens: 8,
    });
    expect(toTokenUsage(undefined)).toEqual({});
  });

  it('adds several calls (output and judge): a count is present when any call reported it', () => {
    expect(
      addUsage({ inputTokens: 10, outputTokens: 20, totalTokens: 30 }, undefined, {
        inputTokens: 5,
        totalTokens: 7,
        reasoningTokens: 2,
      }),
    ).toEqual({ inputTokens: 15, outputTokens: 20, totalTokens: 37, reasoningTokens: 2 });
    expect(addUsage()).toEqual({});
  });
});

describe('modelFromEnv: a real provider model for the demo, or why not', () => {
  const fakeOpenAI = {
    openai: (id: string) => ({ specificationVersion: 'v3', modelId: id, provider: 'openai' }),
  };

  it('builds the model when the package loads and the key is set', async () => {
    const loaded: string[] = [];
    const choice = await modelFromEnv('openai:gpt-4o-mini', {
      env: { OPENAI_API_KEY: 'sk-test' },
      load: async (specifier) => {
        loaded.push(specifier);
        return fakeOpenAI;
      },
    });
    expect(choice).toEqual({
      model: { specificationVersion: 'v3', modelId: 'gpt-4o-mini', provider: 'openai' },
      label: 'openai:gpt-4o-mini',
    });
    expect(loaded).toEqual(['@ai-sdk/openai']);
  });

  it.each([
    [undefined, {}, 'no model given (--model provider:model or AGENTCHARTS_MODEL)'],
    [
      'gpt-4o',
      {},
      'expected provider:model with provider one of openai, anthropic, google, mistral, received "gpt-4o"',
    ],
    ['openai:gpt-4o-mini', {}, 'OPENAI_API_KEY is not set'],
  ])('%s → null: %s', async (spec, env, reason) => {
    expect(await modelFromEnv(spec, { env, load: async () => fakeOpenAI })).toEqual({ model: null, reason });
  });

  it('reads AGENTCHARTS_MODEL; a provider package that is not installed is a reason, not a crash', async () => {
    const choice = await modelFromEnv(undefined, {
      env: { AGENTCHARTS_MODEL: 'anthropic:claude-sonnet-4-5', ANTHROPIC_API_KEY: 'k' },
    });
    expect(choice).toEqual({
      model: null,
      reason: '@ai-sdk/anthropic is not installed (npm install @ai-sdk/anthropic)',
    });
  });
});

describe('the AI SDK stays an optional peer', () => {
  const root = new URL('..', import.meta.url).pathname;
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    );

  it("only src/model/ imports 'ai', and nothing outside it imports src/model/", () => {
    const core = [...files(join(root, 'src')), ...files(join(root, 'machines'))].map((f) =>
      relative(root, f),
    );
    expect(core).toContain('src/model/from-model.ts');
    const outside = core.filter((f) => !f.startsWith('src/model/'));
    const importsAi = outside.filter((f) =>
      /from ['"]ai(\/[^'"]*)?['"]/.test(readFileSync(join(root, f), 'utf8')),
    );
    const importsModel = outside.filter((f) =>
      /from ['"][./]*model\//.test(readFileSync(join(root, f), 'utf8')),
    );
    expect(importsAi).toEqual([]);
    expect(importsModel).toEqual([]);
  });
});
