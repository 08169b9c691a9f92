import type { ProviderMetadata } from 'ai';

/**
 * Token log-probabilities from a call's provider metadata. The AI SDK has no common field for
 * them: providers that return logprobs put them under `providerMetadata[provider].logprobs`, as
 * `[{ token, logprob }]` (OpenAI chat), one such list per output part (OpenAI responses) or
 * `{ token_logprobs: number[] }` (completion APIs). Undefined when the response carries none.
 */
export function findLogprobs(metadata: ProviderMetadata | undefined): number[] | undefined {
  if (!metadata || typeof metadata !== 'object') return undefined;
  const found: number[] = [];
  for (const entry of Object.values(metadata)) {
    if (entry && typeof entry === 'object' && 'logprobs' in entry) collect(entry.logprobs, found, 0);
  }
  return found.length > 0 ? found : undefined;
}

function collect(value: unknown, into: number[], depth: number): void {
  if (depth > 4 || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const item of value) collect(item, into, depth + 1);
    return;
  }
  const record = value as { logprob?: unknown; token_logprobs?: unknown };
  if (typeof record.logprob === 'number') {
    if (!Number.isNaN(record.logprob)) into.push(record.logprob);
    return;
  }
  if (Array.isArray(record.token_logprobs)) {
    for (const lp of record.token_logprobs) if (typeof lp === 'number' && !Number.isNaN(lp)) into.push(lp);
  }
}

/**
 * The geometric mean of the token probabilities, exp(mean logprob): the model's average certainty
 * per token, in [0, 1]. Structural JSON tokens (braces, keys) are near-certain and pull it up.
 */
export function meanTokenProbability(logprobs: readonly number[]): number {
  const mean = logprobs.reduce((sum, lp) => sum + lp, 0) / logprobs.length;
  return Math.min(1, Math.max(0, Math.exp(mean)));
}
