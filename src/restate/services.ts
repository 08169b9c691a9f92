import * as restate from '@restatedev/restate-sdk';
import type { AgentResult } from '../../machines/agent-result.js';
import type { EscalationHook } from '../review/hook.js';
import { jsonLineHook } from '../review/hook.js';
import type { RunTerminal } from '../run-result.js';
import { inputFailed } from '../run-result.js';
import { callAgent } from './agent-call.js';
import { decideReview, type ReviewDecisionRequest, type ReviewDecisionResult } from './decide.js';
import { AGENT_SERVICE, RUN_SERVICE } from './names.js';
import { runPlan } from './run-plan.js';
import type { AgentServiceRequest, Registry, RunRequest, RunView, Served, Settled } from './run-scope.js';

/**
 * The Restate services of a worker. A run is a Restate workflow keyed by its run id; its handler
 * walks the plan `defineWorkflow` compiled to a statechart, step by step (run-plan.ts): breaker
 * admission and verdicts on the shared breaker objects, agent attempts journaled (a parallel step's
 * branches as sub-invocations of the agent service, which any worker may take), reviews as durable
 * promises, writes through the workflow's own blackboard statechart (CAS and reducers), routing and
 * the result through the workflow's own functions, each journaled.
 *
 * Everything that can vary between executions is journaled, so a replay after a crash takes the
 * same path; side by side work (parallel branches, reviews) is awaited with RestatePromise.all so
 * the order of the journal never depends on which call happened to finish first.
 */

const unserved = (registry: Registry, workflowId: string) =>
  `this worker does not serve workflow "${workflowId}" (it serves ${[...registry.keys()].map((k) => `"${k}"`).join(', ') || 'none'})`;

function servedOr(registry: Registry, workflowId: string, version: string): Served {
  const served = registry.get(workflowId);
  if (!served) throw new restate.TerminalError(unserved(registry, workflowId));
  if (version !== served.version) throw versionError(workflowId, version, served.version);
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
        const served = registry.get(req.workflowId);
        if (!served) {
          // Nothing ran: a failed result (settling the clients' wait too), not an engine error.
          const reason = unserved(registry, req.workflowId);
          const at = await ctx.date.now();
          await ctx.promise<Settled>('settled').resolve({ kind: 'ended' });
          return inputFailed(ctx.key, req.workflowId, at, reason, [{ path: 'workflowId', message: reason }]);
        }
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
        try {
          return await runPlan(ctx, served, req.input, options.onEscalation ?? jsonLineHook());
        } catch (error) {
          // A terminal failure (e.g. a branch's worker refused the run's version) ends the run:
          // clients waiting for it to settle learn it has.
          if (error instanceof restate.TerminalError) {
            const settled = ctx.promise<Settled>('settled');
            if ((await settled.peek()) === undefined) await settled.resolve({ kind: 'ended' });
          }
          throw error;
        }
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
