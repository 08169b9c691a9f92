// agentcharts/model: agents backed by an AI SDK language model. The only part of agentcharts that
// imports `ai` (an optional peer dependency): `import 'agentcharts'` never loads it.

export type { ModelReply, ModelSettings } from './call.js';
export type { ConfidenceOption, LogprobsExtractor } from './confidence.js';
export type { ModelChoice, ModelFromEnvOptions, ProviderEntry } from './from-env.js';
export { modelFromEnv, PROVIDERS } from './from-env.js';
export type { ModelAgentOptions } from './from-model.js';
export { fromModel } from './from-model.js';
export type { JudgeContext, JudgeFunction } from './judge.js';
export { findLogprobs, meanTokenProbability } from './logprobs.js';
export type { PromptArgs, PromptOption } from './prompt.js';
export { retryFeedback } from './prompt.js';
export type { TokenUsage, UsageEvent, UsageListener } from './usage.js';
