import type * as restate from '@restatedev/restate-sdk';
import { createActor, SimulatedClock } from 'xstate';
import { toValidationIssues } from '../../machines/agent-result.js';
import type { BlackboardContext } from '../../machines/blackboard.js';
import { createBlackboardMachine } from '../../machines/blackboard.js';
import { FREE_FORM } from '../../machines/blackboard-write.js';
import { cloneData } from '../../machines/frozen.js';
import type { Finalized } from '../../machines/workflow.js';
import { workflowPolicyOf } from '../../machines/workflow.js';
import type { RunOutcome } from '../../machines/workflow-context.js';
import { WORKFLOW_FALLBACK_CONTENT } from '../../machines/workflow-context.js';
import { END } from '../../machines/workflow-plan.js';
import { initialState } from '../blackboard.js';
import type { EscalationHook } from '../review/hook.js';
import type { RunTerminal } from '../run-result.js';
import { inputFailed, toRunResult } from '../run-result.js';
import { runGroup } from './run-group.js';
import type { RunScope, RunView, Served, Settled } from './run-scope.js';
import { guarded, serviceOf } from './run-scope.js';

/** Each workflow's shared state as the blackboard statechart, with the workflow's schema and reducers. */
const boards = new WeakMap<object, ReturnType<typeof createBlackboardMachine>>();
function boardOf(workflow: { machine: object }) {
  let board = boards.get(workflow.machine);
  if (!board) {
    board = createBlackboardMachine(workflowPolicyOf(workflow.machine) ?? FREE_FORM);
    boards.set(workflow.machine, board);
  }
  return board;
}

/**
 * The run handler's body: the input check, the shared state, then the plan's steps in order —
 * each group of agent steps (run-group.ts), routing by the workflow's own predicates, the step
 * bound and the deadline — and the final output through the result function and output schema.
 */
export async function runPlan(
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
    // Clients waiting for the run to settle learn it has.
    await ctx.promise<Settled>('settled').resolve({ kind: 'ended' });
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
  const boardLogic = boardOf(workflow) as never;
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
    reviews: [],
    initial,
    writes: [],
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
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const breakerOptions = (key: string) => workflow.breakers.get(key);

  const end = async (outcome: RunOutcome): Promise<RunTerminal> => {
    const endedAt = await ctx.date.now();
    board.stop();
    // A client waiting for the first pause learns there was none.
    const settled = ctx.promise<Settled>('settled');
    if ((await settled.peek()) === undefined) await settled.resolve({ kind: 'ended' });
    // After a pause, clients wait on `halted` too: tell them the run ended normally.
    if (scope.pausedOnce) {
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
  const scope: RunScope = {
    ctx,
    workflow,
    version,
    runId,
    input,
    startedAt,
    deadlineAt,
    clock,
    board,
    boardState,
    view,
    save,
    visits,
    onEscalation,
    breakerOptions,
    deadlineOutcome,
    pausedOnce: false,
    lastWrites: null,
  };

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
    const stepEnd = await runGroup(scope, step.kind === 'agent' ? [step] : step.branches);
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
    guarded(() => finalize.config({ input: { input, state, lastWrites: scope.lastWrites } })),
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
