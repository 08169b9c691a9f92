import { MockLanguageModelV3 } from 'ai/test';

// Scripted AI SDK mock models (ai/test): no network, no API key.

type GenerateResult = Awaited<ReturnType<MockLanguageModelV3['doGenerate']>>;
type CallOptions = Parameters<MockLanguageModelV3['doGenerate']>[0];

export const usage = (input = 10, output = 20): GenerateResult['usage'] => ({
  inputTokens: { total: input, noCache: input, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: output, text: output, reasoning: undefined },
});

/** One model reply: JSON for an object, the text as is for a string. */
export function reply(body: unknown, extra: Partial<GenerateResult> = {}): GenerateResult {
  return {
    content: [{ type: 'text', text: typeof body === 'string' ? body : JSON.stringify(body) }],
    finishReason: { unified: 'stop', raw: 'stop' },
    usage: usage(),
    warnings: [],
    ...extra,
  };
}

/** What one scripted call does: reply, throw, or hang until its abort signal fires. */
export type ModelStep = GenerateResult | { throws: unknown } | { hang: true };

/** A mock model that follows a script (the last step repeats) or a function of the call. */
export function scriptedModel(
  steps: readonly ModelStep[] | ((call: CallOptions, index: number) => ModelStep | Promise<ModelStep>),
  modelId = 'mock-model-id',
): MockLanguageModelV3 {
  let index = 0;
  return new MockLanguageModelV3({
    modelId,
    doGenerate: async (options) => {
      const i = index++;
      const step =
        typeof steps === 'function' ? await steps(options, i) : steps[Math.min(i, steps.length - 1)]!;
      if ('throws' in step) throw step.throws;
      if ('hang' in step) {
        return new Promise<never>((_, reject) =>
          options.abortSignal?.addEventListener('abort', () => reject(options.abortSignal?.reason), {
            once: true,
          }),
        );
      }
      return step;
    },
  });
}

/** The text of the user message the model was sent. */
export function promptOf(call: CallOptions | undefined): string {
  const user = call?.prompt.find((m) => m.role === 'user');
  if (!user || !Array.isArray(user.content)) return '';
  return user.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
}

export function systemOf(call: CallOptions | undefined): string | undefined {
  const system = call?.prompt.find((m) => m.role === 'system');
  return system && typeof system.content === 'string' ? system.content : undefined;
}
