import type { StepRecord } from '../../machines/workflow-context.js';
import type { RunTerminal } from '../run-result.js';
import type { FallbackSource, RunEvent } from './events.js';
import type { SpanStatus } from './span.js';

/** How a finished step shows in spans and events: one table for the runtime and for Restate. */
export const STEP_STATUS: Record<
  StepRecord['status'],
  Extract<SpanStatus, 'success' | 'fallback' | 'error'>
> = {
  passed: 'success',
  agentFallback: 'fallback',
  gated: 'fallback',
  breakerOpen: 'fallback',
  reviewRejected: 'fallback',
  stateRejected: 'error',
};

/** Which guardrail a step's fallback came from, for `fallback` events. */
export const FALLBACK_SOURCE: Partial<Record<StepRecord['status'], FallbackSource>> = {
  agentFallback: 'agent',
  gated: 'gate',
  breakerOpen: 'breaker',
  reviewRejected: 'review',
  stateRejected: 'workflow',
};

/** The events a finished step gives: `step.finished`, and `fallback` when a guardrail answered. */
export function stepEndEvents(runId: string, record: StepRecord): RunEvent[] {
  const events: RunEvent[] = [
    {
      type: 'step.finished',
      runId,
      stepId: record.stepId,
      at: record.endedAt,
      status: STEP_STATUS[record.status],
      durationMs: record.endedAt - record.startedAt,
      ...(record.reason ? { reason: record.reason } : {}),
    },
  ];
  const source = FALLBACK_SOURCE[record.status];
  if (source) {
    events.push({
      type: 'fallback',
      runId,
      at: record.endedAt,
      source,
      status: record.agentStatus && source === 'agent' ? record.agentStatus : record.status,
      reason: record.reason ?? record.status,
      stepId: record.stepId,
      agentId: record.agentId,
    });
  }
  return events;
}

/** The event a run's end gives, from its terminal result: one builder for the runtime and Restate. */
export function runCompletedEvent(runId: string, result: RunTerminal): RunEvent {
  const reason = result.status === 'completed' ? undefined : result.reason;
  return {
    type: 'run.completed',
    runId,
    at: result.endedAt,
    status: result.status,
    durationMs: result.durationMs,
    ...(reason ? { reason } : {}),
  };
}
