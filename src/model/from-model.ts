import type { LanguageModel } from 'ai';
import type { z } from 'zod';
import { withAttemptMeta } from '../../machines/attempt-meta.js';
import type { Agent, AgentOptions, AgentRunArgs } from '../agent.js';
import { defineAgent } from '../agent.js';
import type { ModelSettings } from './call.js';
import { callModel } from './call.js';
import type { ConfidenceOption } from './confidence.js';
import { normaliseModelOptions } from './options.js';
import type { PromptOption } from './prompt.js';
import { renderPrompt } from './prompt.js';
import type { TokenUsage, UsageListener } from './usage.js';
import { addUsage, reportUsage } from './usage.js';

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
  /**
   * Called with the token usage of every model call, keyed by the attempt's idempotency key, as
   * soon as it returns. Each attempt's record in the result also carries its total `usage`.
   */
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
    const report = (call: 'output' | 'judge') => (usage: TokenUsage, modelId: string) =>
      reportUsage(onUsage, { agentId: id, attempt, idempotencyKey, call, modelId, usage });
    report('output')(reply.usage, reply.modelId);
    // The model's reply is untrusted (typed as the schema's input): the agent validates it.
    const unscored = () => withAttemptMeta(reply.output as z.input<S>, { usage: reply.usage });
    if (plan.kind !== 'scored' || !reply.parsed) return unscored();
    // Only an output that will validate is scored; the agent's validator reports the others.
    const parsed = await output.safeParseAsync(reply.output);
    if (!parsed.success) return unscored();
    signal.throwIfAborted();
    let judged: TokenUsage | undefined;
    const confidence = await plan.score({
      output: parsed.data,
      input,
      attempt,
      signal,
      prompt: text,
      reply,
      report: (usage, modelId) => {
        judged = addUsage(judged, usage);
        report('judge')(usage, modelId);
      },
    });
    // The attempt's usage counts every call it made; `onUsage` has them one by one.
    return withAttemptMeta(reply.output as z.input<S>, { usage: addUsage(reply.usage, judged), confidence });
  };

  return defineAgent<I, S>({
    id,
    output,
    run,
    // A scored confidence travels beside the output (withAttemptMeta); the agent requires it.
    ...(plan.kind === 'scored' ? { confidence: 'reported' as const } : {}),
    ...(plan.kind === 'output' && plan.extract ? { confidence: plan.extract } : {}),
    ...pick(options, ['limits', 'retry', 'isDone', 'quality', 'maxOutputBytes']),
  });
}

function pick<T extends object, K extends keyof T>(from: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (from[key] !== undefined) out[key] = from[key];
  return out;
}
