import * as restate from '@restatedev/restate-sdk';
import type { AgentResult } from '../../machines/agent-result.js';
import type { WriteAccepted } from '../../machines/blackboard-outcome.js';
import type { EdgeDecision, GateFallback } from '../../machines/edge-result.js';
import { applyGate } from '../../machines/gate.js';
import { reviewTrigger } from '../../machines/review-trigger.js';
import { writeIdOf } from '../../machines/step-decisions.js';
import {
  breakerOpenEnding,
  gateEnding,
  passedRecord,
  writeRefusedEnding,
} from '../../machines/step-endings.js';
import type { AgentStepPlan } from '../../machines/workflow-plan.js';
import { reviewIdOf } from '../../machines/workflow-step-helpers.js';
import type { AgentCallInput } from './agent-call.js';
import { callAgent } from './agent-call.js';
import type { Admission, BreakerObject } from './breaker-object.js';
import { gateOptionsOf } from './breaker-object.js';
import { AGENT_SERVICE, BREAKER_OBJECT } from './names.js';
import { reviewGroup } from './run-review.js';
import type { AgentServiceDef, RunScope, Slot, StepEnd } from './run-scope.js';
import { ended, guarded, plainOrNull, serviceOf } from './run-scope.js';

const gateOf = (d: EdgeDecision) =>
  d.passed ? { passed: true } : { passed: false, reason: d.fallback.reason };

/**
 * One group of agent steps — a sequential step (one) or a parallel step's branches — as the
 * statechart's step states do it: admission by the breaker, the input, the call, the gate (and the
 * breaker's count), human review, the write to the shared state. Returns how the run ends, or null
 * to go on to routing.
 */
export async function runGroup(scope: RunScope, branches: AgentStepPlan[]): Promise<StepEnd | null> {
  const { ctx, clock, runId, visits, input, boardState, workflow, deadlineAt, version, view, board, save } =
    scope;
  const { breakerOptions, deadlineOutcome } = scope;
  const at = await ctx.date.now();
  clock.set(Math.max(clock.now(), at));
  const slots: Slot[] = branches.map((b) => {
    visits[b.id] = (visits[b.id] ?? 0) + 1;
    return {
      b,
      visit: visits[b.id]!,
      startedAt: at,
      requestId: `${runId}/${b.id}.${visits[b.id]}`,
      epoch: 0,
      quiet: false,
      refusal: null,
      agentInput: undefined,
      result: null,
      decision: null,
      review: null,
      output: undefined,
      reviewed: undefined,
      end: null,
      call: null,
    };
  });
  // Admission, one breaker at a time: a closed breaker is read without its lock; any other state
  // takes the exclusive `acquire` (the half-open probe, the cooldown check).
  for (const s of slots) {
    if (!s.b.breaker) continue;
    const breaker = ctx.objectClient<BreakerObject>({ name: BREAKER_OBJECT }, s.b.breaker);
    const peek = await breaker.peek();
    const admission: Admission =
      !peek || peek.value === 'closed'
        ? { allowed: true, epoch: peek?.epoch ?? 0, probe: false }
        : await breaker.acquire({ requestId: s.requestId, options: breakerOptions(s.b.breaker) });
    if (admission.allowed) s.epoch = admission.epoch;
    else s.refusal = admission.refusal;
    s.quiet = !peek || (peek.value === 'closed' && peek.failures === 0);
  }
  // The agents' inputs: the step's own mapping (journaled: it is user code) or { input, state }.
  for (const s of slots) {
    if (s.refusal) continue;
    if (!s.b.input) {
      s.agentInput = { input, state: boardState().state };
      continue;
    }
    const prepare = serviceOf<{ stepId: string; input: unknown; state: unknown }, unknown>(
      workflow,
      'prepare',
    );
    const state = boardState().state;
    const prepared = await ctx.run(`input ${s.requestId}`, () =>
      guarded(async () => plainOrNull(await prepare.config({ input: { stepId: s.b.id, input, state } }))),
    );
    if (!prepared.ok) {
      return {
        outcome: {
          status: 'failed',
          reason: `step ${s.b.id}: its input function threw: ${prepared.message}`,
          stepId: s.b.id,
        },
      };
    }
    s.agentInput = prepared.value;
  }
  // One call runs in this invocation's journal; parallel branches run side by side, each a
  // sub-invocation that any worker may take (awaited together, so the journal's order is fixed).
  const calling = slots.filter((s) => !s.refusal);
  const callInput = (s: (typeof slots)[number]): AgentCallInput => ({
    input: s.agentInput,
    runId,
    stepId: s.b.id,
    visit: s.visit,
    startedAt: at,
    workflowDeadlineAt: deadlineAt,
  });
  const results =
    calling.length === 1
      ? [await callAgent(ctx, workflow.agents.get(calling[0]!.b.agentId)!, callInput(calling[0]!))]
      : await restate.RestatePromise.all(
          calling.map((s) =>
            ctx.serviceClient<AgentServiceDef>({ name: AGENT_SERVICE }).call({
              workflowId: workflow.id,
              version,
              agentId: s.b.agentId,
              call: callInput(s),
            }),
          ),
        );
  calling.forEach((s, i) => {
    s.result = results[i] as AgentResult;
    s.call = { stepId: s.b.id, visit: s.visit, result: s.result };
    view.calls.push(s.call);
  });
  // The workflow's deadline passed during the calls: the run ends as in-process, by its deadline.
  if (deadlineAt !== null && calling.some((s) => s.result!.endedAt >= deadlineAt))
    return { outcome: deadlineOutcome() };
  // The gate, a pure function of the result; the breaker counts the verdict (a one-way message,
  // so the shared object is off the run's path).
  for (const s of calling) {
    const result = s.result!;
    if (!s.b.breaker) {
      s.decision = applyGate(result, { minQuality: s.b.minQuality });
      s.call!.gate = gateOf(s.decision);
      continue;
    }
    const options = breakerOptions(s.b.breaker);
    s.decision = applyGate(result, gateOptionsOf(options, s.b.breaker));
    s.call!.gate = gateOf(s.decision);
    // A success on a closed breaker with no failures counted changes nothing: no message.
    if (s.quiet && s.decision.passed) continue;
    ctx
      .objectSendClient<BreakerObject>({ name: BREAKER_OBJECT }, s.b.breaker)
      .report({ requestId: s.requestId, epoch: s.epoch, result, options });
  }
  const endedAt = Math.max(
    at,
    ...calling.map((s) => s.result!.endedAt),
    ...slots.map((s) => s.refusal?.at ?? 0),
  );
  // What goes to a human, what passes, what ends the run.
  for (const s of slots) {
    const subject = s.refusal ?? (s.decision!.passed ? s.decision!.result : s.decision!.fallback);
    const request = s.b.review ? reviewTrigger(subject, s.b.review) : null;
    if (request) {
      s.review = { ...request, reviewId: reviewIdOf(runId, s.b.id, s.visit) };
      continue;
    }
    const step = { stepId: s.b.id, agentId: s.b.agentId };
    if (s.refusal) s.end = ended(s, endedAt, breakerOpenEnding(step, s.refusal));
    else if (s.decision!.passed) s.output = s.decision!.result.content;
    else s.end = ended(s, endedAt, gateEnding(step, s.result!, s.decision!.fallback as GateFallback));
  }
  const first = slots.find((s) => s.end);
  if (first) return first.end;

  const reviewed = await reviewGroup(scope, slots);
  if (reviewed.end) return reviewed.end;
  const reviewedAt = reviewed.reviewedAt;

  // Writes, in branch order, through the blackboard statechart: stale writes conflict, reducers merge.
  const writtenAt = Math.max(endedAt, reviewedAt);
  clock.set(Math.max(clock.now(), writtenAt));
  for (const s of slots) {
    const before = boardState();
    board.send({
      type: 'write',
      writeId: writeIdOf(runId, s.b.id, s.visit),
      key: s.b.writes,
      value: s.output,
      agentId: s.b.agentId,
      ...(s.b.reduced ? {} : { expectedVersion: before.version }),
    });
    const after = boardState();
    const outcome = after.lastOutcome!;
    if (!outcome.ok) {
      const step = { stepId: s.b.id, agentId: s.b.agentId };
      return ended(s, writtenAt, writeRefusedEnding(step, s.b.writes, outcome, s.result));
    }
    const accepted = outcome as WriteAccepted;
    view.writes?.push({
      version: accepted.version,
      key: accepted.key,
      agentId: accepted.agentId,
      stepId: s.b.id,
      visit: s.visit,
      op: accepted.op,
      value: plainOrNull(s.output),
      at: accepted.at,
      writeId: accepted.writeId,
    });
    view.steps.push(
      passedRecord(
        s.b.id,
        s.visit,
        s.b.agentId,
        s.startedAt,
        writtenAt,
        s.result,
        accepted.version,
        s.reviewed,
      ),
    );
    scope.lastWrites = s.b.writes;
  }
  save();
  return null;
}
