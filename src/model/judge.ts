import type { LanguageModel } from 'ai';
import { generateText, NoObjectGeneratedError, Output } from 'ai';
import { z } from 'zod';
import type { AttemptMeta } from '../../machines/attempt-meta.js';
import { formatValue } from '../errors.js';
import { modelIdOf } from './call.js';
import type { TokenUsage } from './usage.js';
import { toTokenUsage } from './usage.js';

/**
 * A score in [0, 1], or why none could be obtained: reported with the output through
 * `withAttemptMeta`, so an unavailable score makes the attempt invalid with that reason.
 */
export type Score = NonNullable<AttemptMeta['confidence']>;

/** What a judge function gets besides the output. */
export interface JudgeContext<I> {
  input: I;
  attempt: number;
  /** The attempt's signal: a judge that calls out should pass it on. */
  signal: AbortSignal;
  /** The prompt the output answers. */
  prompt: string;
}

/** Scores an output in [0, 1]; anything else makes the attempt invalid, with the value as the reason. */
export type JudgeFunction<I, O> = (output: O, context: JudgeContext<I>) => number | Promise<number>;

const Verdict = z.object({
  score: z.number().min(0).max(1).describe('0 = certainly wrong or incomplete, 1 = certainly right'),
  reason: z.string().describe('one sentence'),
});

const INSTRUCTIONS = [
  'You review the answer another assistant gave to a task.',
  'Score how likely the answer is correct and complete: 0 means certainly not, 1 means certainly.',
  'Be strict: unsupported claims, missing parts and vague wording lower the score.',
].join(' ');

export interface JudgeCall {
  model: LanguageModel;
  criteria: string | undefined;
  prompt: string;
  output: unknown;
  signal: AbortSignal;
}

/** A second model call that scores the output. Call failures throw; a reply without a score does not. */
export async function judgeWithModel(
  call: JudgeCall,
): Promise<{ score: Score; usage: TokenUsage | undefined; modelId: string }> {
  call.signal.throwIfAborted();
  const modelId = modelIdOf(call.model);
  try {
    const result = await generateText({
      model: call.model,
      output: Output.object({ schema: Verdict }),
      instructions: call.criteria ? `${INSTRUCTIONS}\nCriteria: ${call.criteria}` : INSTRUCTIONS,
      prompt: `Task:\n${call.prompt}\n\nAnswer:\n${JSON.stringify(call.output, null, 2)}`,
      abortSignal: call.signal,
      maxRetries: 0,
    });
    return {
      score: result.output.score,
      usage: toTokenUsage(result.totalUsage),
      modelId,
    };
  } catch (error) {
    if (!NoObjectGeneratedError.isInstance(error) || call.signal.aborted) throw error;
    return {
      score: { unavailable: `the judge model returned no valid score: ${error.message}` },
      usage: toTokenUsage(error.usage),
      modelId,
    };
  }
}

/** A judge function's result as a score: a number in [0, 1], or the reason it is not one. */
export function judgeScore(value: unknown): Score {
  return typeof value === 'number' && value >= 0 && value <= 1
    ? value
    : { unavailable: `the judge returned ${formatValue(value)}, expected a number in [0, 1]` };
}
