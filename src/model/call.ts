import type {
  generateText as GenerateText,
  LanguageModel,
  LanguageModelCallOptions,
  ProviderMetadata,
  Schema,
} from 'ai';
import { generateText, NoObjectGeneratedError, Output } from 'ai';
import type { TokenUsage } from './usage.js';
import { toTokenUsage } from './usage.js';

type GenerateTextOptions = Parameters<typeof GenerateText>[0];

/**
 * Call settings a model agent may pass through to the AI SDK. The signal, retries and timeouts are
 * not among them: the agent statechart owns those, so every attempt is counted, bounded and traced.
 */
export type ModelSettings = LanguageModelCallOptions &
  Partial<Pick<GenerateTextOptions, 'headers' | 'providerOptions'>>;

/** What one structured-output call returned, success or not. */
export interface ModelReply {
  /** The parsed JSON object, or the raw text when the model's reply was not JSON. */
  output: unknown;
  /** False when the reply could not be parsed: `output` is then the raw text, for the retry prompt. */
  parsed: boolean;
  text: string;
  /** `provider:modelId` as configured (the model id string for a gateway model). */
  modelId: string;
  usage: TokenUsage;
  providerMetadata: ProviderMetadata | undefined;
  responseBody: unknown;
}

export interface ModelCall {
  model: LanguageModel;
  /** The JSON Schema the model is asked to follow, without validation: the agent validates. */
  schema: Schema<unknown>;
  system: string | undefined;
  prompt: string;
  signal: AbortSignal;
  settings: ModelSettings | undefined;
}

/**
 * One `generateText` call with object output. A reply that is not JSON comes back as its raw text
 * (the agent's validator rejects it and the next attempt is shown what went wrong); provider errors
 * and aborts are thrown, so the statechart records them as `threw` or as the timeout that caused them.
 */
export async function callModel(call: ModelCall): Promise<ModelReply> {
  call.signal.throwIfAborted(); // the SDK would still start a call on an aborted signal
  try {
    const result = await generateText({
      ...call.settings,
      model: call.model,
      output: Output.object({ schema: call.schema }),
      ...(call.system === undefined ? {} : { instructions: call.system }),
      prompt: call.prompt,
      abortSignal: call.signal,
      maxRetries: 0,
    });
    return {
      output: result.output,
      parsed: true,
      text: result.text,
      modelId: modelIdOf(call.model),
      usage: toTokenUsage(result.totalUsage ?? result.usage),
      providerMetadata: result.providerMetadata,
      responseBody: result.response?.body,
    };
  } catch (error) {
    if (!NoObjectGeneratedError.isInstance(error) || call.signal.aborted || error.text === undefined)
      throw error;
    const salvaged = parseJson(error.text);
    return {
      output: salvaged.ok ? salvaged.value : error.text,
      parsed: salvaged.ok,
      text: error.text,
      modelId: modelIdOf(call.model),
      usage: toTokenUsage(error.usage),
      providerMetadata: undefined,
      responseBody: undefined,
    };
  }
}

export const modelIdOf = (model: LanguageModel): string =>
  typeof model === 'string' ? model : `${model.provider}:${model.modelId}`;

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}
