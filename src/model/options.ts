import type { Schema } from 'ai';
import { jsonSchema, zodSchema as sdkSchema } from 'ai';
import { z } from 'zod';
import { formatValue } from '../errors.js';
import { fail, fn, id, parseOptions, zodSchema } from '../options.js';
import type { ModelSettings } from './call.js';
import type { ConfidencePlan } from './confidence.js';
import { confidencePlan, isLanguageModel } from './confidence.js';

// fromModel's own options, parsed in one place. The agent options it shares with defineAgent
// (limits, retry, isDone, quality, maxOutputBytes) are passed through and validated there.

const optionsSchema = z.strictObject({
  id: id(),
  model: z.custom((v) => isLanguageModel(v), {
    error: "must be an AI SDK language model (e.g. openai('gpt-4o-mini')) or a model id string",
  }),
  output: zodSchema(),
  prompt: z
    .custom<unknown>((v) => typeof v === 'string' || typeof v === 'function', {
      error: 'must be a string or a function ({ input, attempt, previous }) => string',
    })
    .optional(),
  system: z.custom<string>((v) => typeof v === 'string', { error: 'must be a string' }).optional(),
  confidence: z.unknown().optional(),
  settings: z
    .strictObject({
      maxOutputTokens: z.unknown().optional(),
      temperature: z.unknown().optional(),
      topP: z.unknown().optional(),
      topK: z.unknown().optional(),
      presencePenalty: z.unknown().optional(),
      frequencyPenalty: z.unknown().optional(),
      stopSequences: z.unknown().optional(),
      seed: z.unknown().optional(),
      reasoning: z.unknown().optional(),
      headers: z.unknown().optional(),
      providerOptions: z.unknown().optional(),
    })
    .optional(),
  feedback: z
    .custom<boolean>((v) => typeof v === 'boolean', { error: 'must be true or false' })
    .default(true),
  onUsage: fn<(event: never) => void>().optional(),
  // defineAgent's options, checked by defineAgent.
  limits: z.unknown().optional(),
  retry: z.unknown().optional(),
  isDone: z.unknown().optional(),
  quality: z.unknown().optional(),
  maxOutputBytes: z.unknown().optional(),
});

export interface NormalisedModelOptions {
  where: string;
  /** The JSON Schema the model is asked to follow: the agent's schema as its validator reads input. */
  wire: Schema<unknown>;
  confidence: ConfidencePlan;
  settings: ModelSettings | undefined;
  feedback: boolean;
}

export function normaliseModelOptions(options: unknown): NormalisedModelOptions {
  const given = options as { id?: unknown } | undefined;
  const where = `fromModel(${typeof given?.id === 'string' ? JSON.stringify(given.id) : formatValue(given?.id)})`;
  const o = parseOptions(optionsSchema, options, where);
  const plan = confidencePlan(where, o.confidence);
  if (plan.kind === 'output' && plan.extract === undefined && !hasConfidenceField(o.output)) {
    fail(
      where,
      'confidence',
      o.confidence,
      "is 'self' (the default) but the output schema has no numeric `confidence` field: add one, " +
        "or choose a function of the output, { judge } or 'logprobs'",
    );
  }
  return {
    where,
    wire: jsonSchema(objectJsonSchema(where, o.output)),
    confidence: plan,
    settings: o.settings as ModelSettings | undefined,
    feedback: o.feedback,
  };
}

/** The SDK's own JSON Schema for the zod schema (input side), which must describe an object. */
function objectJsonSchema(where: string, schema: z.ZodType) {
  const kind = (schema as { _zod?: { def?: { type?: unknown } } })._zod?.def?.type ?? schema;
  let json: unknown;
  try {
    json = sdkSchema(schema).jsonSchema;
  } catch (error) {
    const why = error instanceof Error ? error.message : formatValue(error);
    return fail(where, 'output', kind, `must be representable as JSON Schema (${why})`);
  }
  if (typeof json !== 'object' || json === null || (json as { type?: unknown }).type !== 'object') {
    return fail(where, 'output', kind, 'must be an object schema (z.object): models reply with JSON objects');
  }
  return json as Parameters<typeof jsonSchema>[0] & object;
}

// As defineAgent checks it: only a schema with a shape can be checked here; others are checked per output.
function hasConfidenceField(schema: z.ZodType): boolean {
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
  if (!shape || typeof shape !== 'object') return true;
  return shape.confidence?.safeParse(0.5).success === true;
}
