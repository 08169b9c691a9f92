import { z } from 'zod';
import type { BreakerOptions } from '../../machines/breaker-options.js';
import { breakerOptionsShape, checkCooldowns } from '../../machines/breaker-options.js';
import { parseKeyPath } from '../../machines/key-path.js';
import type { Quality } from '../../machines/quality.js';
import type {
  AgentStepPlan,
  ParallelStepPlan,
  PlanTransition,
  ReviewPlan,
  StepPlan,
} from '../../machines/workflow-plan.js';
import { END } from '../../machines/workflow-plan.js';
import type { AnyAgent } from '../agent.js';
import { isAgent } from '../agent.js';
import { isOptionsError } from '../errors.js';
import { fail, parseOptions } from '../options.js';
import type { ReviewOptions } from '../review/options.js';
import { parseReviewOptions } from '../review/options.js';

/** What an agent step's functions see: the run's input and the shared state, frozen. */
export interface StepContext<I = unknown, S = Record<string, unknown>> {
  input: I;
  state: Readonly<S>;
}

export type Route<I, S> = { if?: (ctx: StepContext<I, S>) => boolean; goto: string };

export interface AgentStep<I = unknown, S = Record<string, unknown>> {
  /** State name in the statechart; default the agent's id. */
  id?: string;
  agent: AnyAgent;
  /** The agent's input; default `{ input, state }`. */
  input?: (ctx: StepContext<I, S>) => unknown;
  /** Shared-state key the accepted output is written to; default the step id. */
  writes?: string;
  /** Where to go next: a step id or `end`, or routes tried in order; default the following step. */
  next?: string | Route<I, S>[];
  /** Lowest output quality that passes the gate to the next step. Default MEDIUM. */
  minQuality?: Quality;
  /** The breaker on this step's outgoing edge: options, `{ key }` to share one, or false for none. */
  breaker?: (Omit<BreakerOptions, 'minQuality'> & { key?: string }) | false;
  /**
   * Send the output to a human when its confidence is below `below` (default 0.7), and by policy
   * agent fallbacks (`onFallback`, default true) and open breakers (`onBreakerOpen`, default false).
   * `true` takes every default.
   */
  review?: ReviewOptions;
}

export interface ParallelStep<I = unknown, S = Record<string, unknown>> {
  /** Default: the branch ids joined with `+`. */
  id?: string;
  parallel: Array<AnyAgent | Omit<AgentStep<I, S>, 'next'>>;
  next?: string | Route<I, S>[];
}

export type Step<I = unknown, S = Record<string, unknown>> = AnyAgent | AgentStep<I, S> | ParallelStep<I, S>;

/** Reserved: state names the compiled statechart uses itself. */
const RESERVED = new Set([
  'finishing',
  'end',
  'checking',
  'admitting',
  'preparing',
  'calling',
  'gating',
  'writing',
  'routing',
  'done',
  'branches',
]);
const STEP_ID = /^[A-Za-z][\w-]{0,63}$/;

// A step's breaker: the breaker's own option rules (machines/breaker-options.ts), checked when the
// workflow is defined; the gate's minQuality is the step's own field, and `key` shares one breaker.
const { minQuality: _gateField, ...stepBreakerShape } = breakerOptionsShape;
const StepBreakerSchema = z
  .strictObject({
    ...stepBreakerShape,
    key: z
      .string({ error: 'must be a breaker key (a non-empty string)' })
      .min(1, { error: 'must be a breaker key (a non-empty string)' })
      .max(200, { error: 'must be a breaker key of at most 200 characters' })
      .optional(),
  })
  .superRefine(checkCooldowns);

/** The code a plan references by name. */
export interface StepCode<I, S> {
  inputs: Map<string, (ctx: StepContext<I, S>) => unknown>;
  routes: Map<string, Array<((ctx: StepContext<I, S>) => boolean) | undefined>>;
  agents: Map<string, AnyAgent>;
  breakers: Map<string, Omit<BreakerOptions, 'minQuality'> & { minQuality: Quality }>;
}

interface Normalised<I, S> {
  plans: StepPlan[];
  code: StepCode<I, S>;
}

/**
 * Turn the user's steps into plan data plus the code it references, checking everything that can
 * be checked before a run: ids, targets, agents, write ownership of parallel branches.
 */
export function normaliseSteps<I, S>(
  where: string,
  steps: unknown,
  reducedKeys: ReadonlySet<string>,
): Normalised<I, S> {
  if (!Array.isArray(steps) || steps.length === 0)
    fail(where, 'steps', steps, 'must be a non-empty array of steps');
  const code: StepCode<I, S> = {
    inputs: new Map(),
    routes: new Map(),
    agents: new Map(),
    breakers: new Map(),
  };
  const seen = new Map<string, string>();
  const claim = (id: string, path: string) => {
    if (!STEP_ID.test(id) || RESERVED.has(id)) {
      fail(
        where,
        `${path}.id`,
        id,
        `must be a step name of letters, digits, _ and - (not ${[...RESERVED].join(', ')})`,
      );
    }
    const earlier = seen.get(id);
    if (earlier) fail(where, `${path}.id`, id, `duplicates the id of ${earlier}; give one of them an id`);
    seen.set(id, path);
  };

  const agentStep = (
    raw: unknown,
    path: string,
    inParallel: boolean,
  ): { plan: Omit<AgentStepPlan, 'breaker' | 'next'>; raw: AgentStep<I, S> } => {
    const step = (isAgent(raw) ? { agent: raw } : raw) as AgentStep<I, S>;
    if (typeof step !== 'object' || step === null)
      fail(where, path, raw, 'must be an agent, an agent step or a parallel step');
    if (!isAgent(step.agent))
      fail(
        where,
        `${path}.agent`,
        step.agent,
        'must be an agent made by defineAgent (with an output schema)',
      );
    const id = step.id ?? step.agent.id;
    claim(id, path);
    if (inParallel && 'next' in step && step.next !== undefined)
      fail(where, `${path}.next`, step.next, 'is not allowed in a parallel branch');
    if (step.input !== undefined && typeof step.input !== 'function')
      fail(where, `${path}.input`, step.input, 'must be a function');
    const writes = step.writes ?? id;
    if (typeof writes !== 'string' || writes.length === 0)
      fail(where, `${path}.writes`, step.writes, 'must be a shared-state key');
    // The blackboard's key rules, now rather than as a refused write in every run.
    const key = parseKeyPath(writes);
    if (!key.ok) {
      const implied = step.writes === undefined ? ` (the step id, written to by default; set writes)` : '';
      fail(where, `${path}.writes`, writes, `must be a shared-state key: ${key.message}${implied}`);
    }
    const minQuality = step.minQuality ?? 'MEDIUM';
    let review: ReviewPlan | null;
    try {
      review = parseReviewOptions(step.review, where);
    } catch (error) {
      // Name the step path, not just `review.below`.
      if (!isOptionsError(error)) throw error;
      return fail(where, `${path}.${error.field}`, error.received, error.expected);
    }
    if (!['LOW', 'MEDIUM', 'HIGH'].includes(minQuality))
      fail(where, `${path}.minQuality`, minQuality, 'must be "LOW", "MEDIUM" or "HIGH"');
    const known = code.agents.get(step.agent.id);
    if (known && known !== step.agent)
      fail(
        where,
        `${path}.agent`,
        step.agent.id,
        'names a different agent than another step with the same agent id',
      );
    code.agents.set(step.agent.id, step.agent);
    if (step.input) code.inputs.set(id, step.input);
    return {
      raw: step,
      plan: {
        kind: 'agent',
        id,
        agentId: step.agent.id,
        writes,
        reduced: reducedKeys.has(writes),
        ...(step.input ? { input: id } : {}),
        minQuality,
        review,
      },
    };
  };

  // First pass: ids and shapes; successors need every id.
  type Pending = {
    path: string;
    next: unknown;
    plan: StepPlan;
    raws: Array<{ plan: AgentStepPlan; raw: AgentStep<I, S>; path: string }>;
  };
  const pending: Pending[] = steps.map((raw, index): Pending => {
    const path = `steps[${index}]`;
    if (typeof raw === 'object' && raw !== null && 'parallel' in raw) {
      const par = raw as ParallelStep<I, S>;
      if (!Array.isArray(par.parallel) || par.parallel.length < 2) {
        fail(where, `${path}.parallel`, par.parallel, 'must list at least two branches');
      }
      const branches = par.parallel.map((b, i) => agentStep(b, `${path}.parallel[${i}]`, true));
      const owners = new Map<string, string>();
      branches.forEach((b, i) => {
        const other = owners.get(b.plan.writes);
        if (other !== undefined && !b.plan.reduced) {
          fail(
            where,
            `${path}.parallel[${i}].writes`,
            b.plan.writes,
            `is also written by branch ${other} in the same parallel step; declare a reducer for it or write another key`,
          );
        }
        owners.set(b.plan.writes, b.plan.id);
      });
      const id = par.id ?? branches.map((b) => b.plan.id).join('-');
      claim(id, path);
      const plans = branches.map((b) => ({ ...b.plan, breaker: null, next: [] }) as AgentStepPlan);
      return {
        path,
        next: par.next,
        plan: { kind: 'parallel', id, branches: plans, next: [] } satisfies ParallelStepPlan,
        raws: branches.map((b, i) => ({ plan: plans[i]!, raw: b.raw, path: `${path}.parallel[${i}]` })),
      };
    }
    const one = agentStep(raw, path, false);
    const plan = { ...one.plan, breaker: null, next: [] } as AgentStepPlan;
    return { path, next: one.raw.next, plan, raws: [{ plan, raw: one.raw, path }] };
  });

  const ids = new Set(pending.map((p) => p.plan.id));
  pending.forEach((p, index) => {
    const following = pending[index + 1]?.plan.id ?? END;
    p.plan.next = transitions(where, `${p.path}.next`, p.next, following, ids, (fns) =>
      code.routes.set(p.plan.id, fns),
    );
    // The breaker guards the edge from this step's agent to whatever consumes its output.
    const successor = p.plan.next.length === 1 ? p.plan.next[0]!.target : following;
    const consumer = successor === END ? 'output' : successor;
    for (const { plan, raw, path } of p.raws) {
      const options = raw.breaker;
      if (options === false) continue;
      if (options !== undefined && (typeof options !== 'object' || options === null)) {
        fail(where, `${path}.breaker`, options, 'must be breaker options or false');
      }
      const { key, ...rest } = stepBreaker(where, `${path}.breaker`, options ?? {});
      plan.breaker = key ?? `${plan.agentId}→${consumer}`;
      code.breakers.set(plan.breaker, { ...rest, minQuality: plan.minQuality });
    }
  });
  return { plans: pending.map((p) => p.plan), code };
}

/** A step's breaker options, checked by the breaker's own rules; errors name the step path. */
function stepBreaker(where: string, path: string, options: object): z.output<typeof StepBreakerSchema> {
  try {
    return parseOptions(StepBreakerSchema, options, where);
  } catch (error) {
    if (!isOptionsError(error)) throw error;
    const expected =
      error.field === 'minQuality'
        ? "is not a breaker option here: the gate takes the step's own minQuality"
        : error.expected;
    return fail(where, `${path}.${error.field}`, error.received, expected);
  }
}

function transitions<I, S>(
  where: string,
  path: string,
  next: unknown,
  following: string,
  ids: ReadonlySet<string>,
  setRoutes: (fns: Array<((ctx: StepContext<I, S>) => boolean) | undefined>) => void,
): PlanTransition[] {
  const target = (value: unknown, at: string): string => {
    if (value === 'end') return END;
    if (typeof value !== 'string' || !ids.has(value)) {
      fail(where, at, value, `must name a step (${[...ids].join(', ')}) or "end"`);
    }
    return value;
  };
  if (next === undefined) return [{ target: following }];
  if (typeof next === 'string') return [{ target: target(next, path) }];
  if (!Array.isArray(next) || next.length === 0)
    fail(where, path, next, 'must be a step id, "end", or a list of { if?, goto }');
  const routes = next.map((route, i) => {
    const r = route as Route<I, S>;
    if (typeof r !== 'object' || r === null) fail(where, `${path}[${i}]`, route, 'must be { if?, goto }');
    if (r.if !== undefined && typeof r.if !== 'function')
      fail(where, `${path}[${i}].if`, r.if, 'must be a function');
    return { fn: r.if, target: target(r.goto, `${path}[${i}].goto`) };
  });
  // Routing must always go somewhere: when every route is conditional, fall through to the next step.
  if (routes[routes.length - 1]!.fn) routes.push({ fn: undefined, target: following });
  setRoutes(routes.map((r) => r.fn));
  return routes.map((r, i) => (r.fn ? { when: `route${i}`, target: r.target } : { target: r.target }));
}
