// agentcharts: the public API. Named exports only; anything not here is internal.
// It runs in Node and in browsers and needs only zod and xstate: browser-only parts are in
// 'agentcharts/browser', Node-only ones in 'agentcharts/node', OpenTelemetry in 'agentcharts/otel'.

export type { AgentLimits, AgentMachineInput, PreviousAttempt } from '../machines/agent.js';
export type {
  AgentFallback,
  AgentResult,
  AgentStatus,
  AgentSuccess,
  AttemptOutcome,
  AttemptRecord,
  FallbackStatus,
  TokenUsage,
  ValidationIssue,
} from '../machines/agent-result.js';
export { FALLBACK_CONTENT, isAgentFallback } from '../machines/agent-result.js';
export type { AttemptMeta, WithAttemptMeta } from '../machines/attempt-meta.js';
export { ATTEMPT_META, withAttemptMeta } from '../machines/attempt-meta.js';
export type {
  BlackboardContext,
  BlackboardEvent,
  BlackboardInput,
  BlackboardOutput,
} from '../machines/blackboard.js';
export { blackboardMachine, createBlackboardMachine } from '../machines/blackboard.js';
export type {
  ConflictDetail,
  RejectionReason,
  WriteAccepted,
  WriteConflict,
  WriteOutcome,
  WriteRejected,
  WriteResult,
} from '../machines/blackboard-outcome.js';
export { isWriteAccepted, isWriteConflict, isWriteRejected } from '../machines/blackboard-outcome.js';
export type { WriteEvent } from '../machines/blackboard-write.js';
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
export type {
  EditValidator,
  EditVerdict,
  EscalationDecision,
  EscalationEmitted,
  EscalationEvent,
  EscalationInput,
  EscalationNotice,
  EscalationOutcome,
  EscalationTrigger,
  NotifyPolicy,
  NotifyPolicyOptions,
  Resolution,
  ReviewStatus,
  TimeoutPolicy,
} from '../machines/escalation.js';
export { createEscalationMachine, escalationMachine } from '../machines/escalation.js';
export {
  pendingContent,
  REVIEW_EXPIRED_CONTENT,
  REVIEW_REJECTED_CONTENT,
} from '../machines/escalation-context.js';
export type { DeepReadonly } from '../machines/frozen.js';
export type { GateOptions } from '../machines/gate.js';
export { applyGate } from '../machines/gate.js';
export type { KeyPath } from '../machines/key-path.js';
export type { Quality, QualityThresholds } from '../machines/quality.js';
export { classifyQuality, DEFAULT_QUALITY } from '../machines/quality.js';
export type { ReducerFn, ReducerName } from '../machines/reducers.js';
export type { RetryPolicy } from '../machines/retry.js';
export type { WorkflowMachine } from '../machines/workflow.js';
export type { FallbackCause, StepRecord } from '../machines/workflow-context.js';
export type {
  Agent,
  AgentInput,
  AgentOptions,
  AgentOutput,
  AgentRunArgs,
  AgentRunReturn,
  AnyAgent,
} from './agent.js';
export { agentActor, defineAgent, isAgent } from './agent.js';
export type { Blackboard, BlackboardOptions, BoardView, Reducer, WriteRequest } from './blackboard.js';
export { createBlackboard } from './blackboard.js';
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
export type { InspectObserver } from './inspect/combine.js';
export { combineInspectors } from './inspect/combine.js';
export type { Change, DiffPath } from './log/diff.js';
export { diffValues } from './log/diff.js';
export type { LogInspectorOptions, SnapshotEntry, SnapshotProjection } from './log/inspect.js';
export { logInspector } from './log/inspect.js';
export type { AppendInput, LogEntry, LogListener, StateLog, StateLogOptions } from './log/state-log.js';
export { createStateLog } from './log/state-log.js';
export type { GatedAgent, QualityGateOptions } from './quality-gate.js';
export { withQualityGate } from './quality-gate.js';
export type { ReviewId } from './review/id.js';
export type {
  ClosedReview,
  CreateReviewsOptions,
  DecisionOptions,
  EscalationHook,
  PendingReview,
  ReviewConfig,
  ReviewErrorCode,
  ReviewOptions,
  ReviewRecord,
  Reviews,
  ReviewsEvent,
} from './review/index.js';
export {
  createReviews,
  DEFAULT_REVIEW_THRESHOLD,
  isReviewError,
  jsonLineHook,
  ReviewError,
  schemaValidator,
} from './review/index.js';
export type { Run, RunOf } from './run.js';
export { isRunOf } from './run.js';
export type { RunAgentOptions } from './run-agent.js';
export { runAgent } from './run-agent.js';
export type {
  AwaitedReview,
  RunAwaitingReview,
  RunCancelled,
  RunCompleted,
  RunFailed,
  RunFallback,
  RunResult,
  RunStatus,
} from './run-result.js';
export type { OtelContextLike, OtelTracerLike, Runtime, RuntimeOptions, StartOptions } from './runtime.js';
export { createRuntime } from './runtime.js';
export type { ConsoleOption, RuntimeConsole } from './runtime-console.js';
export type { InspectOption, RuntimeInspector } from './runtime-inspector.js';
export type { StoreErrorCode } from './store/errors.js';
export { isStoreError, StoreError } from './store/errors.js';
export { memoryStore } from './store/memory.js';
export type { Cursor, Timeline } from './store/replay.js';
export { timeline } from './store/replay.js';
export type {
  NewRun,
  RunCommit,
  RunFinish,
  RunMeta,
  Store,
  StoredRun,
  StoredSnapshot,
  UnfinishedRuns,
} from './store/store.js';
export { STORE_FORMAT } from './store/store.js';
export type { AgentSpansOptions } from './trace/agent-spans-adapter.js';
export { agentSpans } from './trace/agent-spans-adapter.js';
export { traceBreaker } from './trace/breaker-spans.js';
export type { EventStream, EventStreamOptions } from './trace/event-stream.js';
export { createEventStream } from './trace/event-stream.js';
export type { FallbackSource, ReviewDecision, RunEvent, RunEventOf, RunEventType } from './trace/events.js';
export type { ObserverErrorHandler } from './trace/report.js';
export type { Span, SpanAttributes, SpanOperation, SpanStatus, Trace } from './trace/span.js';
export type { TraceExporter, TraceRecorder, TraceRecorderOptions } from './trace/tracer.js';
export { createTraceRecorder } from './trace/tracer.js';
export type { Workflow, WorkflowOptions } from './workflow/define.js';
export { defineWorkflow, isWorkflow } from './workflow/define.js';
export type { AgentStep, ParallelStep, Route, Step, StepContext } from './workflow/steps.js';
