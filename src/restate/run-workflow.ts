import * as restate from '@restatedev/restate-sdk';
import { createActor, SimulatedClock } from 'xstate';
import type { AgentResult } from '../../machines/agent-result.js';
import { toValidationIssues } from '../../machines/agent-result.js';
import type { BlackboardContext } from '../../machines/blackboard.js';
import type { BreakerOpen, EdgeDecision } from '../../machines/edge-result.js';
import { initialContext } from '../../machines/escalation-checks.js';
import type { DecisionRecord, EscalationContext } from '../../machines/escalation-context.js';
import { buildOutcome, noticeOf } from '../../machines/escalation-context.js';
import { cloneData } from '../../machines/frozen.js';
import { applyGate } from '../../machines/gate.js';
import type { ReviewRequest } from '../../machines/review-trigger.js';
import { reviewTrigger } from '../../machines/review-trigger.js';
import { describeError } from '../../machines/untrusted.js';
import type { Finalized } from '../../machines/workflow.js';
import type { RunOutcome, StepRecord } from '../../machines/workflow-context.js';
import { WORKFLOW_FALLBACK_CONTENT } from '../../machines/workflow-context.js';
import type { AgentStepPlan } from '../../machines/workflow-plan.js';
import { END } from '../../machines/workflow-plan.js';
import { initialState } from '../blackboard.js';
import type { EscalationHook } from '../review/hook.js';
import { jsonLineHook } from '../review/hook.js';
import type { RunAwaitingReview, RunTerminal } from '../run-result.js';
import { inputFailed, toRunResult } from '../run-result.js';
import type { Workflow } from '../workflow/define.js';
import type { AgentCallInput } from './agent-call.js';
import { callAgent } from './agent-call.js';
import type { Admission, BreakerObject } from './breaker-object.js';
import { gateOptionsOf } from './breaker-object.js';
import { decideReview, type ReviewDecisionRequest, type ReviewDecisionResult } from './decide.js';
import { AGENT_SERVICE, BREAKER_OBJECT, REVIEWS_KEY, REVIEWS_OBJECT, RUN_SERVICE } from './names.js';
import type { PendingEntry } from './reviews-object.js';

/**
 * A run as a Restate workflow keyed by its run id. The handler walks the workflow's plan — the same
 * plan `defineWorkflow` compiled to a statechart — step by step: breaker admission and the gate on the
 * shared breaker objects, each agent call as a sub-invocation (any worker may take it), reviews as
 * durable promises, writes through the workflow's own blackboard statechart (CAS and reducers),
 * routing and the result through the workflow's own functions, each journaled.
 *
 * Everything that can vary between executions is journaled, so a replay after a crash takes the
 * same path; side by side work (parallel branches, reviews) is awaited with RestatePromise.all so
 * the order of the journal never depends on which call happened to finish first.
 */

export interface Served {
  workflow: Workflow;
  version: string;
}
export type Registry = ReadonlyMap<string, Served>;

export interface RunRequest {
  workflowId: string;
  input: unknown;
}

export interface AgentServiceRequest {
  workflowId: string;
  version: string;
  agentId: string;
  call: AgentCallInput;
}

/** How a run first settled, for clients waiting on `run.result`. */
export type Settled =
  | { kind: 'paused'; result: RunAwaitingReview }
  | { kind: 'halted'; reason: string }
  | { kind: 'ended' };

/** What the run keeps in Restate state for the client: status, finished steps, agent calls. */
export interface RunView {
  status: 'running' | 'awaitingReview' | 'ended';
  workflowId: string;
  version: string;
  startedAt: number;
  /** The run's shared state and its version, as of the last finished step. */
  state: Readonly<Record<string, unknown>>;
  stateVersion: number;
  steps: StepRecord[];
  /** Every agent call's result, for the trace. */
  calls: Array<{ stepId: string; visit: number; result: AgentResult }>;
}

type ServiceFn<I, O> = { config: (args: { input: I }) => Promise<O> };
const serviceOf = <I, O>(workflow: Workflow, name: string) =>
  (workflow.machine.implementations.actors as Record<string, unknown>)[name] as ServiceFn<I, O>;

type Guarded<T> = { ok: true; value: T } | { ok: false; message: string };
async function guarded<T>(fn: () => Promise<T>): Promise<Guarded<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, message: describeError(error).message };
  }
}

const plainOrNull = (value: unknown) => (value === undefined ? null : value);

function servedOr(registry: Registry, workflowId: string, version: string | null): Served {
  const served = registry.get(workflowId);
  if (!served) {
    throw new restate.TerminalError(
      `this worker does not serve workflow "${workflowId}" (it serves ${[...registry.keys()].map((k) => `"${k}"`).join(', ') || 'none'})`,
    );
  }
  if (version !== null && version !== served.version) throw versionError(workflowId, version, served.version);
  return served;
}

export const versionError = (workflowId: string, started: string, here: string) =>
  new restate.TerminalError(
    `workflow "${workflowId}": the run started with version ${started}, but this worker serves version ${here}; it will not resume on different logic`,
  );

/** The Restate workflow that runs agentcharts runs, and the service that makes agent calls. */
export interface ServiceOptions {
  ingressUrl?: string;
  /** Told when a review opens (journaled: called until one call returns, at least once). */
  onEscalation?: EscalationHook;
}

export function createServices(registry: Registry, options: ServiceOptions = {}) {
  const agentService = restate.service({
    name: AGENT_SERVICE,
    handlers: {
      call: async (ctx: restate.Context, req: AgentServiceRequest): Promise<AgentResult> => {
        const { workflow } = servedOr(registry, req.workflowId, req.version);
        const agent = workflow.agents.get(req.agentId);
        if (!agent)
          throw new restate.TerminalError(`workflow "${req.workflowId}" has no agent "${req.agentId}"`);
        return callAgent(ctx, agent, req.call);
      },
    },
  });

  const runWorkflow = restate.workflow({
    name: RUN_SERVICE,
    handlers: {
      run: async (ctx: restate.WorkflowContext, req: RunRequest): Promise<RunTerminal> => {
        const served = servedOr(registry, req.workflowId, null);
        // The version is the run's first journal entry: a worker with other logic stops right here.
        const started = await ctx.run('version', () => served.version);
        if (started !== served.version) {
          // Ending the run here would diverge from its journal, so the engine would refuse it: the
          // run is parked instead (retried until a worker with its version serves it, or killed),
          // and its clients are told through the run's `halt` handler.
          const message = versionError(req.workflowId, started, served.version).message;
          if (options.ingressUrl) await reportHalt(options.ingressUrl, ctx.key, message);
          throw new Error(message);
        }
        return runPlan(ctx, served, req.input, options.onEscalation ?? jsonLineHook());
      },
      /** Approve, edit or reject one of this run's reviews (from any process, via the client). */
      decide: async (
        ctx: restate.WorkflowSharedContext,
        req: ReviewDecisionRequest,
      ): Promise<ReviewDecisionResult> => {
        const view = await ctx.get<RunView>('view');
        const served = view ? registry.get(view.workflowId) : undefined;
        return decideReview(ctx, req, served?.workflow);
      },
      /** Settles when the run first waits for a human (never, if it ends first: then use attach). */
      /** Settles with the first of: the run's first wait for a human, its halt, its end. */
      settled: async (ctx: restate.WorkflowSharedContext): Promise<Settled> =>
        ctx.promise<Settled>('settled').get(),
      view: async (ctx: restate.WorkflowSharedContext): Promise<RunView | null> => ctx.get<RunView>('view'),
      /** A worker that refuses to resume the run (another version) reports it here, once. */
      halt: async (ctx: restate.WorkflowSharedContext, req: { reason: string }): Promise<void> => {
        const reason = String(req?.reason ?? 'halted').slice(0, 2000);
        const halted = ctx.promise<{ reason: string } | null>('halted');
        if ((await halted.peek()) === undefined) await halted.resolve({ reason });
        const settled = ctx.promise<Settled>('settled');
        if ((await settled.peek()) === undefined) await settled.resolve({ kind: 'halted', reason });
      },
      /** Settles with why the run was halted, or null when it ended normally. */
      halted: async (ctx: restate.WorkflowSharedContext): Promise<{ reason: string } | null> =>
        ctx.promise<{ reason: string } | null>('halted').get(),
    },
  });
  return { agentService, runWorkflow };
}

/** Tell the run's clients it was halted: a plain request to the ingress, outside the journal. */
async function reportHalt(ingressUrl: string, runId: string, reason: string): Promise<void> {
  try {
    await fetch(`${ingressUrl.replace(/\/+$/, '')}/${RUN_SERVICE}/${encodeURIComponent(runId)}/halt`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reason }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch {
    // The run stays parked either way; the next retry reports again.
  }
}

type AgentServiceDef = { call: (ctx: restate.Context, req: AgentServiceRequest) => Promise<AgentResult> };

type StepEnd = { outcome: RunOutcome; record?: StepRecord };

/** Bound on one call of the escalation hook. */
const NOTIFY_TIMEOUT_MS = 10_000;

async function runPlan(
  ctx: restate.WorkflowContext,
  served: Served,
  rawInput: unknown,
  onEscalation: EscalationHook,
): Promise<RunTerminal> {
  const { workflow, version } = served;
  const plan = workflow.plan;
  const runId = ctx.key;
  const startedAt = await ctx.date.now();

  // The input, checked as in-process: bad input fails the run and nothing runs.
  const parsed = workflow.inputSchema.safeParse(rawInput);
  const plain = parsed.success ? cloneData(parsed.data) : null;
  if (!parsed.success || !plain?.ok) {
    const issues = parsed.success
      ? [{ path: '(root)', message: `input is not JSON data: ${(plain as { message?: string }).message}` }]
      : toValidationIssues(parsed.error.issues);
    return inputFailed(
      runId,
      workflow.id,
      startedAt,
      `input: ${issues[0]!.path}: ${issues[0]!.message}`,
      issues,
    );
  }
  const input = plain.value;

  // The run's shared state: the workflow's own blackboard statechart, on a clock set to journaled time.
  const clock = new SimulatedClock();
  clock.set(startedAt);
  const boardLogic = serviceOf(workflow, 'blackboard') as never;
  const initial = workflow.stateSchema ? initialState(workflow.stateSchema, undefined, `run ${runId}`) : {};
  const board = createActor(boardLogic, { input: { initial }, clock } as never) as unknown as {
    start(): void;
    stop(): void;
    send(e: unknown): void;
    getSnapshot(): { context: BlackboardContext };
  };
  board.start();
  const boardState = () => board.getSnapshot().context;
  const view: RunView = {
    status: 'running',
    workflowId: workflow.id,
    version,
    startedAt,
    state: {},
    stateVersion: 0,
    steps: [],
    calls: [],
  };
  const save = () => {
    const c = boardState();
    view.state = c.state;
    view.stateVersion = c.version;
    ctx.set('view', view);
  };
  save();

  const deadlineAt = plan.deadlineMs === null ? null : startedAt + plan.deadlineMs;
  const visits: Record<string, number> = {};
  let stepsTaken = 0;
  let lastWrites: string | null = null;
  let pausedOnce = false;
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const breakerOptions = (key: string) => workflow.breakers.get(key);

  const end = async (outcome: RunOutcome): Promise<RunTerminal> => {
    const endedAt = await ctx.date.now();
    board.stop();
    // A client waiting for the first pause learns there was none.
    const settled = ctx.promise<Settled>('settled');
    if ((await settled.peek()) === undefined) await settled.resolve({ kind: 'ended' });
    // After a pause, clients wait on `halted` too: tell them the run ended normally.
    if (pausedOnce) {
      const halted = ctx.promise<{ reason: string } | null>('halted');
      if ((await halted.peek()) === undefined) await halted.resolve(null);
    }
    view.status = 'ended';
    save();
    const c = boardState();
    return toRunResult(workflow.id, {
      runId,
      outcome,
      steps: view.steps,
      state: c.state,
      version: c.version,
      startedAt,
      endedAt,
    });
  };
  const deadlineOutcome = (): RunOutcome => ({
    status: 'fallback',
    cause: 'deadline',
    output: WORKFLOW_FALLBACK_CONTENT.deadline,
    reason: `the workflow's ${plan.deadlineMs} ms deadline passed`,
  });

  /** One group of agent steps: a sequential step (one) or a parallel step's branches. */
  async function runGroup(branches: AgentStepPlan[]): Promise<StepEnd | null> {
    const at = await ctx.date.now();
    clock.set(Math.max(clock.now(), at));
    const slots = branches.map((b) => {
      visits[b.id] = (visits[b.id] ?? 0) + 1;
      return {
        b,
        visit: visits[b.id]!,
        startedAt: at,
        requestId: `${runId}/${b.id}.${visits[b.id]}`,
        epoch: 0,
        /** The breaker was closed with no failures counted: a success would change nothing there. */
        quiet: false,
        refusal: null as BreakerOpen | null,
        agentInput: undefined as unknown,
        result: null as AgentResult | null,
        decision: null as EdgeDecision | null,
        review: null as (ReviewRequest & { reviewId: string }) | null,
        output: undefined as unknown,
        reviewed: undefined as StepRecord['review'],
        end: null as StepEnd | null,
      };
    });
    const record = (s: (typeof slots)[number], endedAt: number, fields: Partial<StepRecord>): StepRecord =>
      ({
        stepId: s.b.id,
        visit: s.visit,
        agentId: s.b.agentId,
        startedAt: s.startedAt,
        endedAt,
        ...fields,
      }) as StepRecord;

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
      view.calls.push({ stepId: s.b.id, visit: s.visit, result: s.result });
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
        continue;
      }
      const options = breakerOptions(s.b.breaker);
      s.decision = applyGate(result, gateOptionsOf(options, s.b.breaker));
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
        s.review = { ...request, reviewId: `${runId}/${s.b.id}.${s.visit}` };
        continue;
      }
      if (s.refusal) {
        s.end = {
          outcome: {
            status: 'fallback',
            cause: 'breakerOpen',
            output: s.refusal.content,
            reason: `step ${s.b.id}: ${s.refusal.reason}`,
            stepId: s.b.id,
            agentId: s.b.agentId,
            detail: s.refusal,
          },
          record: record(s, endedAt, {
            status: 'breakerOpen',
            confidence: 0,
            quality: 'LOW',
            attempts: 0,
            reason: s.refusal.reason,
          }),
        };
      } else if (s.decision!.passed) {
        s.output = s.decision!.result.content;
      } else {
        const result = s.result!;
        const fb = s.decision!.fallback;
        const agentFell = result.fallback;
        s.end = {
          outcome: {
            status: 'fallback',
            cause: agentFell ? 'agent' : 'gate',
            output: fb.content,
            reason: `step ${s.b.id}: ${agentFell ? `agent ${result.agentId} ${result.status}: ${result.reason}` : fb.reason}`,
            stepId: s.b.id,
            agentId: s.b.agentId,
            detail: agentFell ? result : fb,
          },
          record: record(s, endedAt, {
            status: agentFell ? 'agentFallback' : 'gated',
            agentStatus: result.status,
            confidence: result.fallback ? 0 : result.confidence,
            quality: 'LOW',
            attempts: result.attempts.length,
            reason: agentFell ? result.reason : fb.reason,
          }),
        };
      }
    }
    const first = slots.find((s) => s.end);
    if (first) return first.end;

    // Human review: every review of the group opens, then they are awaited together.
    const reviewing = slots.filter((s) => s.review);
    let reviewedAt = 0;
    if (reviewing.length > 0) {
      const openedAt = await ctx.date.now();
      const contexts = reviewing.map((s) =>
        initialContext(
          {
            reviewId: s.review!.reviewId,
            runId,
            stepId: s.b.id,
            agentId: s.b.agentId,
            trigger: s.review!.trigger,
            output: s.review!.output,
            confidence: s.review!.confidence,
            reason: s.review!.reason,
            timeoutMs: s.b.review!.timeoutMs,
            onTimeout: s.b.review!.onTimeout,
          },
          openedAt,
        ),
      );
      for (const c of contexts) {
        ctx.set(`review:${c.reviewId}`, c);
        ctx
          .objectSendClient<import('./reviews-object.js').ReviewsObject>(
            { name: REVIEWS_OBJECT },
            REVIEWS_KEY,
          )
          .add({
            id: c.reviewId,
            runId,
            workflowId: workflow.id,
            stepId: c.stepId,
            agentId: c.agentId,
            output: c.output,
            confidence: c.confidence,
            reason: c.reason,
            trigger: c.trigger,
            placeholder: c.placeholder,
            openedAt: c.openedAt,
            expiresAt: c.expiresAt,
            status: 'awaitingReview',
            notifyFailures: [],
          } satisfies PendingEntry);
      }
      // The hook (log, alert, ticket), each call journaled; a failure is recorded and the review waits.
      for (const c of contexts) {
        const notice = noticeOf({ ...c, notifyAttempt: 1 });
        const told = await ctx.run(`notify ${c.reviewId}`, () =>
          guarded(async () => {
            await onEscalation(notice, { signal: AbortSignal.timeout(NOTIFY_TIMEOUT_MS) });
            return Date.now();
          }),
        );
        Object.assign(
          c,
          told.ok
            ? { notifiedAt: told.value, notifyAttempt: 1 }
            : { notifyAttempt: 1, notifyFailures: [{ attempt: 1, at: openedAt, reason: told.message }] },
        );
        ctx.set(`review:${c.reviewId}`, c);
      }
      view.status = 'awaitingReview';
      save();
      if (!pausedOnce) {
        pausedOnce = true;
        const paused: RunAwaitingReview = {
          status: 'awaitingReview',
          runId,
          workflowId: workflow.id,
          output: contexts[0]!.placeholder,
          reviews: contexts.map((c) => ({
            reviewId: c.reviewId,
            stepId: c.stepId,
            agentId: c.agentId,
            confidence: c.confidence,
            reason: c.reason,
            placeholder: c.placeholder,
          })),
          steps: [...view.steps],
          startedAt,
          endedAt: openedAt,
          durationMs: openedAt - startedAt,
        };
        const settled = ctx.promise<Settled>('settled');
        if ((await settled.peek()) === undefined) await settled.resolve({ kind: 'paused', result: paused });
      }
      // Each wait is a durable promise, bounded by a durable timer (the review timeout, or what is
      // left of the workflow's deadline): it fires even if no worker is up when it is due.
      const waits = contexts.map((c) => {
        const limits = [c.expiresAt, deadlineAt].filter((t): t is number => t !== null);
        const promise = ctx.promise<DecisionRecord>(`review:${c.reviewId}`).get();
        if (limits.length === 0) return promise.map((value) => ({ value: value ?? null }));
        const waitMs = Math.max(0, Math.min(...limits) - openedAt);
        return promise
          .orTimeout(waitMs)
          .map((value, failure) => ({ value: failure ? null : (value ?? null) }));
      });
      const decided = await restate.RestatePromise.all(waits);
      const closedAt = await ctx.date.now();
      reviewedAt = closedAt;
      view.status = 'running';
      for (const [i, s] of reviewing.entries()) {
        const c: EscalationContext = contexts[i]!;
        const record0 = decided[i]!.value;
        if (!record0 && c.expiresAt === null) return { outcome: deadlineOutcome() };
        if (!record0 && deadlineAt !== null && c.expiresAt !== null && deadlineAt < c.expiresAt)
          return { outcome: deadlineOutcome() };
        const decidedRecord: DecisionRecord = record0 ?? {
          decision: 'expired',
          by: null,
          at: c.expiresAt ?? closedAt,
          decidedAt: closedAt,
          reason: `no decision within ${c.timeoutMs} ms; the step's policy on timeout is "${c.onTimeout}"`,
          requestId: null,
        };
        const closed = { ...c, decided: decidedRecord };
        ctx.set(`review:${c.reviewId}`, closed);
        ctx
          .objectSendClient<import('./reviews-object.js').ReviewsObject>(
            { name: REVIEWS_OBJECT },
            REVIEWS_KEY,
          )
          .remove(c.reviewId);
        const o = buildOutcome(closed);
        const reviewed = { reviewId: o.reviewId, decision: o.decision, by: o.by, decidedAt: o.decidedAt };
        if (o.resolution === 'output') {
          s.output = o.output;
          s.reviewed = reviewed;
          continue;
        }
        const expired = o.decision === 'expired';
        const reason = expired
          ? `step ${s.b.id}: the review expired with no human decision (${o.resolution})`
          : `step ${s.b.id}: rejected in human review by ${o.by}: ${o.reason}`;
        return {
          outcome: {
            status: 'fallback',
            cause: expired ? 'reviewExpired' : 'reviewRejected',
            output: (o as { content: string }).content,
            reason,
            stepId: s.b.id,
            agentId: s.b.agentId,
            ...(s.result ? { detail: s.result } : {}),
          },
          record: record(s, closedAt, {
            status: 'reviewRejected',
            ...(s.result ? { agentStatus: s.result.status } : {}),
            confidence: s.review?.confidence ?? 0,
            quality: 'LOW',
            attempts: s.result?.attempts.length ?? 0,
            reason,
            review: reviewed,
          }),
        };
      }
    }

    // Writes, in branch order, through the blackboard statechart: stale writes conflict, reducers merge.
    const writtenAt = Math.max(endedAt, reviewedAt);
    clock.set(Math.max(clock.now(), writtenAt));
    for (const s of slots) {
      const before = boardState();
      board.send({
        type: 'write',
        writeId: `${runId}:${s.b.id}.${s.visit}`,
        key: s.b.writes,
        value: s.output,
        agentId: s.b.agentId,
        ...(s.b.reduced ? {} : { expectedVersion: before.version }),
      });
      const after = boardState();
      const outcome = after.lastOutcome!;
      const result = s.result;
      if (!outcome.ok) {
        return {
          outcome: {
            status: 'fallback',
            cause: 'stateRejected',
            output: WORKFLOW_FALLBACK_CONTENT.stateRejected,
            reason: `step ${s.b.id}: the shared state refused the write to "${s.b.writes}": ${(outcome as { message: string }).message}`,
            stepId: s.b.id,
            agentId: s.b.agentId,
            detail: outcome,
          },
          record: record(s, writtenAt, {
            status: 'stateRejected',
            ...(result ? { agentStatus: result.status } : {}),
            confidence: result && !result.fallback ? result.confidence : 0,
            quality: result && !result.fallback ? result.quality : 'LOW',
            attempts: result?.attempts.length ?? 0,
            reason: (outcome as { message: string }).message,
          }),
        };
      }
      view.steps.push(
        record(s, writtenAt, {
          status: 'passed',
          ...(result ? { agentStatus: result.status } : {}),
          confidence: result && !result.fallback ? result.confidence : 0,
          quality: result && !result.fallback ? result.quality : 'LOW',
          attempts: result?.attempts.length ?? 0,
          version: (outcome as { version: number }).version,
          ...(s.reviewed ? { review: s.reviewed } : {}),
        }),
      );
      lastWrites = s.b.writes;
    }
    save();
    return null;
  }

  let current = plan.steps[0]!.id;
  for (;;) {
    if (current === END) break;
    const step = byId.get(current)!;
    stepsTaken += 1;
    if (stepsTaken > plan.maxSteps) {
      return end({
        status: 'fallback',
        cause: 'maxSteps',
        output: WORKFLOW_FALLBACK_CONTENT.maxSteps,
        reason: `the workflow's limit of ${plan.maxSteps} step executions was reached`,
      });
    }
    if (deadlineAt !== null && (await ctx.date.now()) >= deadlineAt) return end(deadlineOutcome());
    // (Without a deadline, no clock read is needed here: each step reads it once on entry.)
    const stepEnd = await runGroup(step.kind === 'agent' ? [step] : step.branches);
    if (stepEnd) {
      if (stepEnd.record) view.steps.push(stepEnd.record);
      return end(stepEnd.outcome);
    }
    // Routing: unconditional, or the workflow's own predicates (journaled: user code).
    if (!step.next.some((t) => t.when)) {
      current = step.next[0]!.target;
      continue;
    }
    const route = serviceOf<{ stepId: string; input: unknown; state: unknown }, number>(workflow, 'route');
    const state = boardState().state;
    const index = await ctx.run(`route ${step.id}.${stepsTaken}`, () =>
      guarded(() => route.config({ input: { stepId: step.id, input, state } })),
    );
    if (!index.ok || index.value < 0) {
      return end({
        status: 'failed',
        reason: `step ${step.id}: its routing function threw: ${index.ok ? 'no route matched' : index.message}`,
        stepId: step.id,
      });
    }
    current = step.next[index.value]!.target;
  }

  // The final output: the workflow's result function and output schema (journaled: user code).
  const finalize = serviceOf<{ input: unknown; state: unknown; lastWrites: string | null }, Finalized>(
    workflow,
    'finalize',
  );
  const state = boardState().state;
  const finalized = await ctx.run('finalize', () =>
    guarded(() => finalize.config({ input: { input, state, lastWrites } })),
  );
  if (!finalized.ok) {
    return end({
      status: 'failed',
      reason: `step finishing: the result function threw: ${finalized.message}`,
      stepId: 'finishing',
    });
  }
  const f = finalized.value;
  if (f.valid) return end({ status: 'completed', output: f.output });
  return end({
    status: 'fallback',
    cause: 'outputInvalid',
    output: WORKFLOW_FALLBACK_CONTENT.outputInvalid,
    reason: `final output: ${f.reason}`,
    issues: f.issues,
  });
}
