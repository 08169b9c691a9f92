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
export type {
  BreakerEmitted,
  BreakerEvent,
  BreakerInput,
  BreakerReply,
  BreakerStateValue,
} from '../machines/breaker.js';
export { breakerMachine, isGranted } from '../machines/breaker.js';
export type { BreakerConfig, BreakerOptions } from '../machines/breaker-options.js';
export type { Clock } from '../machines/clock.js';
export type {
  BreakerOpen,
  EdgeDecision,
  GateCause,
  GateDecision,
  GateFallback,
} from '../machines/edge-result.js';
export {
  BREAKER_OPEN_CONTENT,
  isBreakerOpen,
  isGateFallback,
  LOW_CONFIDENCE_CONTENT,
} from '../machines/edge-result.js';
export type { GateOptions } from '../machines/gate.js';
export { applyGate } from '../machines/gate.js';
export type { Quality, QualityThresholds } from '../machines/quality.js';
export { classifyQuality, DEFAULT_QUALITY } from '../machines/quality.js';
export type { RetryPolicy } from '../machines/retry.js';
export type { Agent, AgentOptions, AgentRunArgs } from './agent.js';
export { agentActor, defineAgent, isAgent } from './agent.js';
export type {
  Acquisition,
  Breaker,
  BreakerListenerErrorHandler,
  BreakerState,
  CreateBreakerOptions,
  Permit,
  PersistedBreaker,
} from './breaker.js';
export { createBreaker } from './breaker.js';
export { isOptionsError, OptionsError } from './errors.js';
export type { GatedAgent, QualityGateOptions } from './quality-gate.js';
export { withQualityGate } from './quality-gate.js';
export type { RunAgentOptions } from './run-agent.js';
export { runAgent } from './run-agent.js';
