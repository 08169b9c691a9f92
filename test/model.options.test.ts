import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isOptionsError, type OptionsError } from '../src/errors.js';
import { fromModel } from '../src/model/index.js';
import { Draft } from './helpers/agents.js';
import { reply, scriptedModel } from './helpers/model.js';

const model = scriptedModel([reply({ content: 'x', confidence: 0.9 })]);

function optionsError(options: unknown): OptionsError {
  try {
    fromModel(options as Parameters<typeof fromModel>[0]);
  } catch (error) {
    if (isOptionsError(error)) return error;
    throw error;
  }
  throw new Error('expected an OptionsError');
}

describe('fromModel options: checked when the agent is defined, naming the field and the value', () => {
  it.each([
    [
      'a missing model',
      { id: 'a', output: Draft },
      'model',
      `fromModel("a"): model must be an AI SDK language model (e.g. openai('gpt-4o-mini')) or a model id string, received undefined`,
    ],
    [
      'a model that is not one',
      { id: 'a', model: { generate: () => 1 }, output: Draft },
      'model',
      `fromModel("a"): model must be an AI SDK language model (e.g. openai('gpt-4o-mini')) or a model id string, received {}`,
    ],
    [
      'a prompt of the wrong type',
      { id: 'a', model, output: Draft, prompt: 42 },
      'prompt',
      'fromModel("a"): prompt must be a string or a function ({ input, attempt, previous }) => string, received 42',
    ],
    [
      'an unknown confidence strategy',
      { id: 'a', model, output: Draft, confidence: 'vibes' },
      'confidence',
      `fromModel("a"): confidence must be 'self', 'logprobs', a function of the output, { judge, criteria? } or { logprobs: extractor }, received "vibes"`,
    ],
    [
      'a judge that is neither a model nor a function',
      { id: 'a', model, output: Draft, confidence: { judge: 0.5 } },
      'confidence.judge',
      'fromModel("a"): confidence.judge must be a language model or a function (output, context) => number, received 0.5',
    ],
    [
      'an unknown key beside the judge',
      { id: 'a', model, output: Draft, confidence: { judge: model, threshold: 0.5 } },
      'confidence.threshold',
      'fromModel("a"): confidence.threshold is not a known option, received 0.5',
    ],
    [
      'a non-object output schema',
      { id: 'a', model, output: z.string(), confidence: { judge: () => 1 } },
      'output',
      'fromModel("a"): output must be an object schema (z.object): models reply with JSON objects, received "string"',
    ],
    [
      'an output schema JSON Schema cannot express',
      { id: 'a', model, output: z.object({ at: z.date(), confidence: z.number() }) },
      'output',
      'fromModel("a"): output must be representable as JSON Schema (Date cannot be represented in JSON Schema), received "object"',
    ],
    [
      "'self' confidence without a confidence field",
      { id: 'a', model, output: z.object({ answer: z.string() }) },
      'confidence',
      "fromModel(\"a\"): confidence is 'self' (the default) but the output schema has no numeric `confidence` field: add one, or choose a function of the output, { judge } or 'logprobs', received undefined",
    ],
    [
      'a setting the statechart owns',
      { id: 'a', model, output: Draft, settings: { maxRetries: 5 } },
      'settings.maxRetries',
      'fromModel("a"): settings.maxRetries is not a known option, received 5',
    ],
    [
      'an unknown option',
      { id: 'a', model, output: Draft, temperature: 0 },
      'temperature',
      'fromModel("a"): temperature is not a known option, received 0',
    ],
  ])('%s', (_name, options, field, message) => {
    const error = optionsError(options);
    expect(error.field).toBe(field);
    expect(error.message).toBe(message);
  });

  it("the agent's own limits are checked by defineAgent", () => {
    const error = optionsError({ id: 'a', model, output: Draft, limits: { maxIterations: 0 } });
    expect(error.message).toBe(
      'defineAgent("a"): limits.maxIterations must be an integer from 1 to 1000, received 0',
    );
  });

  it('accepts every confidence strategy and a gateway model id', () => {
    const Answer = z.object({ answer: z.string() });
    expect(() => fromModel({ id: 'a', model, output: Draft })).not.toThrow();
    expect(() => fromModel({ id: 'a', model, output: Draft, confidence: 'self' })).not.toThrow();
    expect(() => fromModel({ id: 'a', model, output: Answer, confidence: 'logprobs' })).not.toThrow();
    expect(() => fromModel({ id: 'a', model, output: Answer, confidence: () => 0.5 })).not.toThrow();
    expect(() =>
      fromModel({ id: 'a', model, output: Answer, confidence: { judge: model, criteria: 'be strict' } }),
    ).not.toThrow();
    expect(() =>
      fromModel({ id: 'a', model, output: Answer, confidence: { logprobs: () => [-0.1] } }),
    ).not.toThrow();
    expect(() => fromModel({ id: 'a', model: 'openai/gpt-4o-mini', output: Draft })).not.toThrow();
  });
});
