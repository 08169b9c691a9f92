// agentcharts: the public API. Named exports only; anything not here is internal.

export type { AgentLimits, AgentMachineInput, PreviousAttempt } from '../machines/agent.js';
export type {
  AgentFallback,
  AgentResult,
  AgentStatus,
  AgentSuccess,
  AttemptOutcome,
  AttemptRecord,
  FallbackStatus,
  ValidationIssue,
} from '../machines/agent-result.js';
export { FALLBACK_CONTENT, isAgentFallback } from '../machines/agent-result.js';
export type { Clock } from '../machines/clock.js';
export type { Quality, QualityThresholds } from '../machines/quality.js';
export { classifyQuality, DEFAULT_QUALITY } from '../machines/quality.js';
export type { RetryPolicy } from '../machines/retry.js';
export type { Agent, AgentOptions, AgentRunArgs } from './agent.js';
export { agentActor, defineAgent, isAgent } from './agent.js';
export { isOptionsError, OptionsError } from './errors.js';
export type { RunAgentOptions } from './run-agent.js';
export { runAgent } from './run-agent.js';
