import type { LanguageModel } from 'ai';
import type { z } from 'zod';
import type { Agent, AgentOptions, AgentRunArgs } from '../agent.js';
import { defineAgent } from '../agent.js';
import type { ModelSettings } from './call.js';
import { callModel } from './call.js';
import type { ConfidenceOption } from './confidence.js';
import { normaliseModelOptions } from './options.js';
import type { PromptOption } from './prompt.js';
import { renderPrompt } from './prompt.js';
import { createScoreChannel } from './score-channel.js';
import type { UsageListener } from './usage.js';
import { reportUsage } from './usage.js';

export interface ModelAgentOptions<I, S extends z.ZodType>
  extends Omit<AgentOptions<I, S>, 'run' | 'confidence'> {
  /** An AI SDK language model (`openai('gpt-4o-mini')`, a mock from `ai/test`) or a gateway model id. */
  model: LanguageModel;
  /** The task. A string is followed by the input as JSON; a function builds the whole prompt. */
  prompt?: PromptOption<I>;
  /** System instructions. */
  system?: string;
  /** Where the confidence comes from; default `'self'`: the output's `confidence` field. */
  confidence?: ConfidenceOption<I, z.output<S>>;
  /** Passed to the AI SDK call (temperature, maxOutputTokens, providerOptions, …). */
  settings?: ModelSettings;
  /** Append why the previous attempt was not accepted, with its output, to the prompt. Default true. */
  feedback?: boolean;
  /** Called with the token usage of every model call, keyed by the attempt's idempotency key. */
  onUsage?: UsageListener;
}

/**
 * An agent whose `run` is one AI SDK call with structured output: the model is asked for the agent's
 * own schema, gets the attempt's signal, and on a retry is told what was wrong with its last answer.
 * The result is an ordinary agent made by defineAgent, so every guardrail (attempts, timeouts,
 * deadline, validation, fallbacks, breakers, review) applies unchanged.
 */
export function fromModel<I = unknown, S extends z.ZodType = z.ZodType>(
  options: ModelAgentOptions<I, S>,
): Agent<I, z.output<S>> {
  const n = normaliseModelOptions(options);
  const { id, model, output, prompt, system, onUsage } = options;
  const plan = n.confidence;
  const scores = plan.kind === 'scored' ? createScoreChannel() : undefined;

  const run = async ({ input, signal, attempt, idempotencyKey, previous }: AgentRunArgs<I>) => {
    const text = await renderPrompt(prompt, { input, attempt, previous }, n.feedback);
    const reply = await callModel({
      model,
      schema: n.wire,
      system,
      prompt: text,
      signal,
      settings: n.settings,
    });
    const report = (call: 'output' | 'judge') => (usage: typeof reply.usage, modelId: string) =>
      reportUsage(onUsage, { agentId: id, attempt, idempotencyKey, call, modelId, usage });
    report('output')(reply.usage, reply.modelId);
    if (plan.kind !== 'scored' || !scores || !reply.parsed) return reply.output;
    // Only an output that will validate is scored; the agent's validator reports the others.
    const parsed = await output.safeParseAsync(reply.output);
    if (!parsed.success) return reply.output;
    signal.throwIfAborted();
    const score = await plan.score({
      output: parsed.data,
      input,
      attempt,
      signal,
      prompt: text,
      reply,
      report: report('judge'),
    });
    scores.put(parsed.data, score); // read back by `confidence` below, when the agent validates this output
    return reply.output;
  };

  const confidence =
    plan.kind === 'output'
      ? plan.extract
      : (out: unknown): number => {
          const score = scores?.take(out);
          if (!score) throw new Error(`no ${plan.name} score was recorded for this output`);
          if (!score.ok) throw new Error(score.reason);
          return score.value;
        };

  return defineAgent<I, S>({
    id,
    output,
    run,
    ...(confidence ? { confidence } : {}),
    ...pick(options, ['limits', 'retry', 'isDone', 'quality', 'maxOutputBytes']),
  });
}

function pick<T extends object, K extends keyof T>(from: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (from[key] !== undefined) out[key] = from[key];
  return out;
}
