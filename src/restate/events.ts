import type { StepRecord } from '../../machines/workflow-context.js';
import type { RunResult } from '../run-result.js';
import type { ReviewDecision, RunEvent } from '../trace/events.js';
import { runCompletedEvent, stepEndEvents } from '../trace/step-events.js';
import type { RunCall, RunReview, RunView } from './run-scope.js';

/**
 * A run's progress events (the in-process `RunEvent` shapes) derived from what its journal
 * recorded — the same record `trace()` reads: run, step, agent, attempt, fallback, escalation and
 * review events, in the order of the times they carry (one stable sort: events of one step keep
 * their causal order; a parallel step's branches interleave by time, as in-process).
 *
 * Not here: breaker events (a breaker is a shared object, not part of one run's record), and the
 * end of an agent call the run's end cut short (in-process the agent is stopped: no finish events).
 */

interface Execution {
  stepId: string;
  visit: number;
  record?: StepRecord;
  call?: RunCall;
  review?: RunReview;
}

export function eventsOfRun(
  runId: string,
  view: RunView | null,
  result: RunResult | null,
  workflowId: string,
): RunEvent[] {
  const startedAt = view?.startedAt ?? result?.startedAt ?? 0;
  const head: RunEvent = { type: 'run.started', runId, workflowId, at: startedAt };
  const ended = result !== null && result.status !== 'awaitingReview';

  // One entry per step execution (`stepId.visit`), from its record, its agent call and its review.
  const executions = new Map<string, Execution>();
  const at = (stepId: string, visit: number): Execution => {
    const key = `${stepId}.${visit}`;
    const known = executions.get(key);
    if (known) return known;
    const e: Execution = { stepId, visit };
    executions.set(key, e);
    return e;
  };
  for (const call of view?.calls ?? []) at(call.stepId, call.visit).call = call;
  for (const review of view?.reviews ?? []) at(review.stepId, review.visit ?? 1).review = review;
  for (const record of view?.steps ?? []) at(record.stepId, record.visit).record = record;

  const body: RunEvent[] = [];
  for (const e of executions.values()) {
    const { stepId, record, call, review } = e;
    const result0 = call?.result;
    const began = record?.startedAt ?? result0?.startedAt ?? review?.openedAt ?? startedAt;
    body.push({ type: 'step.started', runId, stepId, at: began });
    // A call with no step record in an ended run was cut short by the run's end (its deadline).
    const cut = ended && !record && !review;
    if (result0) {
      const agentId = result0.agentId;
      body.push({ type: 'agent.started', runId, stepId, agentId, at: result0.startedAt });
      for (const a of result0.attempts) {
        body.push({
          type: 'attempt.started',
          runId,
          stepId,
          agentId,
          at: a.startedAt,
          attempt: a.attempt,
          idempotencyKey: a.idempotencyKey,
        });
        if (cut && a.outcome === 'deadline') continue;
        body.push({
          type: 'attempt.finished',
          runId,
          stepId,
          agentId,
          at: a.endedAt,
          attempt: a.attempt,
          outcome: a.outcome,
          durationMs: a.durationMs,
          ...(a.reason === undefined ? {} : { reason: a.reason }),
          ...(a.confidence === undefined ? {} : { confidence: a.confidence }),
        });
      }
      if (!cut) {
        body.push({
          type: 'agent.finished',
          runId,
          stepId,
          agentId,
          at: result0.endedAt,
          status: result0.status,
          fallback: result0.fallback,
          confidence: result0.confidence,
          quality: result0.quality,
          attempts: result0.attempts.length,
          durationMs: result0.durationMs,
          reason: result0.reason,
        });
        if (result0.fallback) {
          body.push({
            type: 'fallback',
            runId,
            stepId,
            agentId,
            at: result0.endedAt,
            source: 'agent',
            status: result0.status,
            reason: result0.reason,
            content: result0.content as string,
          });
        }
      }
    }
    if (review) {
      body.push({
        type: 'escalated',
        runId,
        at: review.openedAt,
        stepId,
        reviewId: review.reviewId,
        reason: review.escalationReason ?? '',
        agentId: review.agentId,
        confidence: review.confidence,
      });
      if (review.decision && review.decidedAt !== undefined) {
        body.push({
          type: 'reviewed',
          runId,
          at: review.decidedAt,
          stepId,
          reviewId: review.reviewId,
          decision: review.decision as ReviewDecision,
          ...(review.reason === undefined ? {} : { reason: review.reason }),
        });
      }
    }
    if (record) body.push(...stepEndEvents(runId, record));
  }
  // Stable: equal times keep the causal order they were pushed in.
  body.sort((a, b) => a.at - b.at);

  const events = [head, ...body];
  if (ended) {
    events.push(runCompletedEvent(runId, result));
  }
  return events;
}
