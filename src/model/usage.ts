import type { LanguageModelUsage } from 'ai';
import type { TokenUsage } from '../../machines/agent-result.js';

// Token counts of one model call, as plain JSON (the same type as an attempt record's `usage`).
export type { TokenUsage };

/** One model call's usage, reported to `onUsage` as soon as the call returns. */
export interface UsageEvent {
  agentId: string;
  attempt: number;
  /** The attempt's idempotency key (`runId:stepId:attempt`): join it with `result.attempts`. */
  idempotencyKey: string;
  /** `output`: the call that produced the agent's output; `judge`: the call that scored it. */
  call: 'output' | 'judge';
  modelId: string;
  usage: TokenUsage;
}

export type UsageListener = (event: UsageEvent) => void;

export function toTokenUsage(usage: LanguageModelUsage | undefined): TokenUsage {
  if (!usage) return {};
  const counts: Record<keyof TokenUsage, number | undefined> = {
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    totalTokens: usage.totalTokens,
    reasoningTokens: usage.outputTokenDetails?.reasoningTokens,
    cachedInputTokens: usage.inputTokenDetails?.cacheReadTokens,
  };
  const out: TokenUsage = {};
  for (const [key, value] of Object.entries(counts)) {
    if (typeof value === 'number' && Number.isFinite(value)) out[key as keyof TokenUsage] = value;
  }
  return out;
}

/** The sum of several calls' usage: a count is present when any call reported it. */
export function addUsage(...usages: ReadonlyArray<TokenUsage | undefined>): TokenUsage {
  const total: TokenUsage = {};
  for (const usage of usages) {
    if (!usage) continue;
    for (const [key, value] of Object.entries(usage) as Array<[keyof TokenUsage, number | undefined]>) {
      if (typeof value === 'number') total[key] = (total[key] ?? 0) + value;
    }
  }
  return total;
}

/** A listener that throws must not fail the attempt: its error is reported, never propagated. */
export function reportUsage(listener: UsageListener | undefined, event: UsageEvent): void {
  if (!listener) return;
  try {
    listener(event);
  } catch (error) {
    console.error('agentcharts/model: onUsage listener threw', error);
  }
}
