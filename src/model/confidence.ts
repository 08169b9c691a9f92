import type { LanguageModel, ProviderMetadata } from 'ai';
import { adoptUntrusted } from '../../machines/thenable.js';
import { fail } from '../options.js';
import type { ModelReply } from './call.js';
import type { JudgeFunction, Score } from './judge.js';
import { judgeScore, judgeWithModel } from './judge.js';
import { findLogprobs, meanTokenProbability } from './logprobs.js';
import type { TokenUsage } from './usage.js';

/** Where the token log-probabilities of a reply are; default: `findLogprobs(providerMetadata)`. */
export type LogprobsExtractor = (reply: {
  providerMetadata: ProviderMetadata | undefined;
  responseBody: unknown;
}) => readonly number[] | undefined;

/**
 * How a model agent's confidence is found:
 * - `'self'` (default): the `confidence` field the model fills in, as the schema asks;
 * - a function of the output: your own reading of it (synchronous, like defineAgent's `confidence`);
 * - `{ judge, criteria? }`: a second model call, or any function, scores the output in [0, 1];
 * - `'logprobs'` or `{ logprobs: extractor }`: the mean token probability of the reply.
 */
export type ConfidenceOption<I, O> =
  | 'self'
  | 'logprobs'
  | ((output: O) => number)
  | { judge: LanguageModel | JudgeFunction<I, O>; criteria?: string }
  | { logprobs: LogprobsExtractor };

export interface ScoreArgs {
  output: unknown;
  input: unknown;
  attempt: number;
  signal: AbortSignal;
  prompt: string;
  reply: ModelReply;
  /** Report the usage of a call the scorer made itself (the judge's). */
  report: (usage: TokenUsage, modelId: string) => void;
}

/**
 * The normalised strategy: read from the output, or scored inside the attempt and reported beside
 * the output with `withAttemptMeta` (the agent is defined with `confidence: 'reported'`).
 */
export type ConfidencePlan =
  | { kind: 'output'; extract: ((output: unknown) => number) | undefined }
  | { kind: 'scored'; name: 'judge' | 'logprobs'; score: (args: ScoreArgs) => Promise<Score> };

const STRATEGIES =
  "'self', 'logprobs', a function of the output, { judge, criteria? } or { logprobs: extractor }";

export function isLanguageModel(value: unknown): value is LanguageModel {
  if (typeof value === 'string') return value.length > 0;
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { doGenerate?: unknown }).doGenerate === 'function' &&
    typeof (value as { specificationVersion?: unknown }).specificationVersion === 'string'
  );
}

export function confidencePlan(where: string, option: unknown): ConfidencePlan {
  if (option === undefined || option === 'self') return { kind: 'output', extract: undefined };
  if (option === 'logprobs') return logprobsPlan(findInReply);
  if (typeof option === 'function') return { kind: 'output', extract: option as (output: unknown) => number };
  if (typeof option !== 'object' || option === null)
    fail(where, 'confidence', option, `must be ${STRATEGIES}`);
  const keys = Object.keys(option);
  if ('judge' in option) {
    const { judge, criteria } = option as { judge: unknown; criteria?: unknown };
    const extra = keys.find((k) => k !== 'judge' && k !== 'criteria');
    if (extra)
      fail(where, `confidence.${extra}`, (option as Record<string, unknown>)[extra], 'is not a known option');
    if (criteria !== undefined && typeof criteria !== 'string') {
      fail(where, 'confidence.criteria', criteria, 'must be a string');
    }
    if (typeof judge === 'function') return judgeFunctionPlan(judge as JudgeFunction<unknown, unknown>);
    if (!isLanguageModel(judge)) {
      fail(
        where,
        'confidence.judge',
        judge,
        'must be a language model or a function (output, context) => number',
      );
    }
    return judgeModelPlan(judge, criteria as string | undefined);
  }
  if ('logprobs' in option) {
    const { logprobs } = option as { logprobs: unknown };
    const extra = keys.find((k) => k !== 'logprobs');
    if (extra)
      fail(where, `confidence.${extra}`, (option as Record<string, unknown>)[extra], 'is not a known option');
    if (typeof logprobs !== 'function') {
      fail(
        where,
        'confidence.logprobs',
        logprobs,
        'must be a function ({ providerMetadata, responseBody }) => number[]',
      );
    }
    return logprobsPlan(logprobs as LogprobsExtractor);
  }
  return fail(where, 'confidence', option, `must be ${STRATEGIES}`);
}

const findInReply: LogprobsExtractor = (reply) => findLogprobs(reply.providerMetadata);

function logprobsPlan(extract: LogprobsExtractor): ConfidencePlan {
  return {
    kind: 'scored',
    name: 'logprobs',
    score: async ({ reply }) => {
      const logprobs = extract({
        providerMetadata: reply.providerMetadata,
        responseBody: reply.responseBody,
      });
      if (!logprobs || logprobs.length === 0) {
        // Never invent a number: without logprobs there is no confidence to report.
        return {
          unavailable:
            'the reply carries no token log-probabilities (ask the provider for them, e.g. ' +
            'settings.providerOptions.openai.logprobs, or choose another confidence strategy)',
        };
      }
      if (!logprobs.every((lp) => typeof lp === 'number' && !Number.isNaN(lp) && lp <= 1e-9)) {
        return { unavailable: 'the reply carries log-probabilities that are not numbers ≤ 0' };
      }
      return meanTokenProbability(logprobs);
    },
  };
}

function judgeFunctionPlan(judge: JudgeFunction<unknown, unknown>): ConfidencePlan {
  return {
    kind: 'scored',
    name: 'judge',
    score: async ({ output, input, attempt, signal, prompt }) => {
      // Adopted, never awaited: a thenable that resolves to itself would starve every timer.
      const scored = await adoptUntrusted(judge(output, { input, attempt, signal, prompt }));
      return scored.ok ? judgeScore(scored.value) : { unavailable: `the judge ${scored.reason}` };
    },
  };
}

function judgeModelPlan(model: LanguageModel, criteria: string | undefined): ConfidencePlan {
  return {
    kind: 'scored',
    name: 'judge',
    score: async ({ output, signal, prompt, report }) => {
      const verdict = await judgeWithModel({ model, criteria, prompt, output, signal });
      if (verdict.usage) report(verdict.usage, verdict.modelId);
      return verdict.score;
    },
  };
}
