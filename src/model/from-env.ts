import type { LanguageModel } from 'ai';

/**
 * Picks a real provider model for the demo's `--model provider:model` flag, when the provider's
 * package is installed and its API key is set; otherwise says why not, so the caller can fall back
 * to mock models. Nothing here is needed to use fromModel: pass any model you build yourself.
 */

/** How to build one provider's models: its package, the factory it exports, the key it reads. */
export interface ProviderEntry {
  package: string;
  factory: string;
  apiKeyEnv: string;
}

export const PROVIDERS: Readonly<Record<string, ProviderEntry>> = Object.freeze({
  openai: { package: '@ai-sdk/openai', factory: 'openai', apiKeyEnv: 'OPENAI_API_KEY' },
  anthropic: { package: '@ai-sdk/anthropic', factory: 'anthropic', apiKeyEnv: 'ANTHROPIC_API_KEY' },
  google: { package: '@ai-sdk/google', factory: 'google', apiKeyEnv: 'GOOGLE_GENERATIVE_AI_API_KEY' },
  mistral: { package: '@ai-sdk/mistral', factory: 'mistral', apiKeyEnv: 'MISTRAL_API_KEY' },
});

export type ModelChoice = { model: LanguageModel; label: string } | { model: null; reason: string };

export interface ModelFromEnvOptions {
  /** Default: `process.env` where there is one (never imported: this file runs in browsers too). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Loads a provider package; default: dynamic `import()`. Tests inject a fake. */
  load?: (specifier: string) => Promise<unknown>;
  providers?: Readonly<Record<string, ProviderEntry>>;
}

/** `spec` is `provider:model` (e.g. `openai:gpt-4o-mini`); default: the `AGENTCHARTS_MODEL` variable. */
export async function modelFromEnv(spec?: string, options: ModelFromEnvOptions = {}): Promise<ModelChoice> {
  const env =
    options.env ??
    (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ??
    {};
  const providers = options.providers ?? PROVIDERS;
  const load = options.load ?? ((specifier: string) => import(/* @vite-ignore */ specifier));
  const wanted = spec ?? env.AGENTCHARTS_MODEL;
  if (!wanted) return { model: null, reason: 'no model given (--model provider:model or AGENTCHARTS_MODEL)' };
  const colon = wanted.indexOf(':');
  const name = colon > 0 ? wanted.slice(0, colon) : '';
  const modelId = colon > 0 ? wanted.slice(colon + 1) : '';
  const entry = Object.hasOwn(providers, name) ? providers[name] : undefined;
  if (!entry || !modelId) {
    return {
      model: null,
      reason: `expected provider:model with provider one of ${Object.keys(providers).join(', ')}, received ${JSON.stringify(wanted)}`,
    };
  }
  if (!env[entry.apiKeyEnv]) return { model: null, reason: `${entry.apiKeyEnv} is not set` };
  let module: unknown;
  try {
    module = await load(entry.package);
  } catch {
    return { model: null, reason: `${entry.package} is not installed (npm install ${entry.package})` };
  }
  const factory = (module as Record<string, unknown> | null)?.[entry.factory];
  if (typeof factory !== 'function') {
    return { model: null, reason: `${entry.package} does not export a ${entry.factory}() model factory` };
  }
  return { model: factory(modelId) as LanguageModel, label: `${name}:${modelId}` };
}
