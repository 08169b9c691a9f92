import { fromPromise } from 'xstate';
import { z } from 'zod';
import { toValidationIssues } from '../../machines/agent-result.js';
import type { BreakerOptions } from '../../machines/breaker-options.js';
import { createEscalationMachine } from '../../machines/escalation.js';
import { deepFreeze } from '../../machines/frozen.js';
import type { Quality } from '../../machines/quality.js';
import type {
  Finalized,
  FinalizeInput,
  PrepareInput,
  RouteInput,
  WorkflowMachine,
} from '../../machines/workflow.js';
import { agentSteps as agentStepsOfPlan, compileWorkflow, provideWorkflow } from '../../machines/workflow.js';
import type { WorkflowPlan } from '../../machines/workflow-plan.js';
import type { AnyAgent } from '../agent.js';
import { agentActor } from '../agent.js';
import type { Reducer } from '../blackboard.js';
import { brand, brandOf, WORKFLOW_BRAND } from '../brand.js';
import { fn, id, integer, MAX_TIMER_MS, parseOptions, zodSchema } from '../options.js';
import { schemaValidator } from '../review/validate.js';
import { sharedStatePolicy } from './state.js';
import type { Step, StepContext } from './steps.js';
import { normaliseSteps } from './steps.js';
import type { AgentsOf, StateCheck, StepsCheck, TypedWorkflowOptions, WorkflowState } from './typed.js';

/**
 * The options as a type of their own, for options built apart from the call (the state is the
 * `state` schema's). Written inline, `defineWorkflow` infers more: the state from the steps.
 */
export interface WorkflowOptions<IS extends z.ZodType, OS extends z.ZodType, SS extends z.ZodObject> {
  id: string;
  /** The run's input; validated before anything runs. Default: any JSON. */
  input?: IS;
  /** The final output; validated before it is served. */
  output?: OS;
  /** The shared state's shape; default free-form (any JSON under the steps' keys). */
  state?: SS;
  /** Reducers for shared-state keys that several writers (e.g. parallel branches) may write. */
  reducers?: Record<string, Reducer>;
  steps: Step<z.output<IS>, z.output<SS>>[];
  /** The final output from the input and the shared state; default the value the last step wrote. */
  result?: (ctx: StepContext<z.output<IS>, z.output<SS>>) => z.input<OS> | PromiseLike<z.input<OS>>;
  /** The whole run's deadline. */
  deadlineMs?: number;
  /** Step executions allowed in one run, loops included. Default 50. */
  maxSteps?: number;
}

/** A defined workflow: its plan, its compiled statechart, and what a runtime needs to run it. */
/** `A`: the agents its steps call (a union), which type the reviews of its runs. */
export interface Workflow<
  I = unknown,
  O = unknown,
  Id extends string = string,
  A extends AnyAgent = AnyAgent,
> {
  readonly kind: 'workflow';
  readonly id: Id;
  readonly plan: Readonly<WorkflowPlan>;
  /** The statechart, runnable with `createActor(workflow.machine, { input: { input } })` on its own. */
  readonly machine: WorkflowMachine;
  readonly inputSchema: z.ZodType<I>;
  readonly outputSchema: z.ZodType<O> | undefined;
  readonly stateSchema: z.ZodObject | undefined;
  /** Breaker options per breaker key used by the steps. */
  readonly breakers: ReadonlyMap<string, Omit<BreakerOptions, 'minQuality'> & { minQuality: Quality }>;
  /** The agents the steps call, by agent id. */
  readonly agents: ReadonlyMap<string, AnyAgent>;
  /** Ids of the agents whose steps go to human review. */
  readonly reviewedAgents: ReadonlySet<string>;
  /** Phantom: the steps' agents, for type checks only (never set). */
  readonly __agents?: A;
}

const DEFAULT_MAX_STEPS = 50;

/** A zod object schema from any copy of zod 4 (`instanceof` would refuse another copy's). */
const isZodObject = (v: unknown): v is z.ZodObject =>
  typeof v === 'object' &&
  v !== null &&
  (v as { _zod?: { def?: { type?: unknown } } })._zod?.def?.type === 'object' &&
  typeof (v as { safeParseAsync?: unknown }).safeParseAsync === 'function';

const optionsSchema = z.strictObject({
  id: id(),
  input: zodSchema().optional(),
  output: zodSchema().optional(),
  state: z.custom<z.ZodObject>(isZodObject, { error: 'must be a zod object schema (z.object)' }).optional(),
  reducers: z.record(z.string(), z.unknown()).optional(),
  steps: z.array(z.unknown()),
  result: fn<(ctx: StepContext) => unknown>().optional(),
  deadlineMs: integer(1, MAX_TIMER_MS).optional(),
  maxSteps: integer(1, 100_000).default(DEFAULT_MAX_STEPS),
});

/** A workflow made by `defineWorkflow` in any copy of agentcharts (see brand.ts). */
export const isWorkflow = (value: unknown): value is Workflow => brandOf(value, WORKFLOW_BRAND) === true;

/**
 * Define a workflow and compile it to a statechart with one named state per step. Everything that
 * can be checked before a run is checked here, with errors naming the step path.
 */
export function defineWorkflow<
  IS extends z.ZodType = z.ZodUnknown,
  OS extends z.ZodType = z.ZodUnknown,
  const T extends readonly unknown[] = readonly unknown[],
  SS extends z.ZodObject | undefined = undefined,
  const R extends Record<string, Reducer> = Record<never, never>,
  const Id extends string = string,
>(
  options: TypedWorkflowOptions<IS, OS, T, SS, R, Id> &
    NoInfer<StateCheck<T, R, SS> & StepsCheck<T, z.output<IS>, WorkflowState<T, R, SS>>>,
): Workflow<z.output<IS>, z.output<OS>, Id, AgentsOf<T>> {
  const where = `defineWorkflow(${typeof options?.id === 'string' ? JSON.stringify(options.id) : '?'})`;
  const o = parseOptions(optionsSchema, options, where);
  const board = sharedStatePolicy(where, o.state, o.reducers ?? {});
  const { plans, code } = normaliseSteps<unknown, Record<string, unknown>>(where, o.steps, board.reducedKeys);
  const plan = deepFreeze<WorkflowPlan>({
    id: o.id,
    steps: plans,
    deadlineMs: o.deadlineMs ?? null,
    maxSteps: o.maxSteps,
    hasOutputSchema: o.output !== undefined,
  }) as WorkflowPlan;

  const agentActors = Object.fromEntries(
    [...code.agents].map(([agentId, agent]) => [`agent:${agentId}`, agentActor(agent)]),
  );
  const outputSchema = o.output as z.ZodType | undefined;
  const resultFn = o.result as ((ctx: StepContext) => unknown) | undefined;

  // Each reviewed agent gets an escalation statechart whose edits must pass that agent's schema.
  const reviewed = new Set(
    agentStepsOf(plans)
      .filter((st) => st.review !== null)
      .map((st) => st.agentId),
  );
  const reviewActors = Object.fromEntries(
    [...reviewed].map((agentId) => [
      `review:${agentId}`,
      createEscalationMachine({ validateEdit: schemaValidator(code.agents.get(agentId)!.output) }),
    ]),
  );

  const services = {
    ...agentActors,
    ...reviewActors,
    prepare: fromPromise<unknown, PrepareInput>(async ({ input }) =>
      code.inputs.get(input.stepId)!({ input: input.input, state: input.state }),
    ),
    route: fromPromise<number, RouteInput>(async ({ input }) => {
      const routes = code.routes.get(input.stepId) ?? [];
      const ctx = { input: input.input, state: input.state };
      return routes.findIndex((route) => !route || route(ctx) === true);
    }),
    finalize: fromPromise<Finalized, FinalizeInput>(async ({ input }) => {
      const raw = resultFn
        ? await resultFn({ input: input.input, state: input.state })
        : input.lastWrites === null
          ? undefined
          : input.state[input.lastWrites];
      return outputSchema ? checked(await outputSchema.safeParseAsync(raw)) : { valid: true, output: raw };
    }),
  };
  // Without a result function the output is the last write: checked in the run's last transition,
  // unless the schema has async refinements (zod then throws, and the service parses it).
  const finalizeNow = resultFn
    ? undefined
    : (input: FinalizeInput): Finalized | undefined => {
        const raw = input.lastWrites === null ? undefined : input.state[input.lastWrites];
        if (!outputSchema) return { valid: true, output: raw };
        try {
          return checked(outputSchema.safeParse(raw));
        } catch {
          return undefined;
        }
      };

  const workflow: Workflow<z.output<IS>, z.output<OS>, Id, AgentsOf<T>> = {
    kind: 'workflow' as const,
    id: o.id as Id,
    plan,
    machine: compileWorkflow(plan, services, board.initial, board.policy, { finalizeNow }),
    inputSchema: (o.input ?? z.unknown()) as z.ZodType<z.output<IS>>,
    outputSchema: outputSchema as z.ZodType<z.output<OS>> | undefined,
    stateSchema: o.state,
    breakers: code.breakers,
    agents: code.agents,
    reviewedAgents: reviewed,
  };
  return Object.freeze(brand(workflow, WORKFLOW_BRAND, true));
}

/** The output schema's verdict as the workflow's final-output check. */
function checked(parsed: z.ZodSafeParseResult<unknown>): Finalized {
  if (parsed.success) return { valid: true, output: parsed.data };
  const issues = toValidationIssues(parsed.error.issues);
  return { valid: false, reason: `${issues[0]!.path}: ${issues[0]!.message}`, issues };
}

/** The same workflow with some agents replaced (same ids, e.g. wrapped with latency and faults). */
export function withAgents<I, O>(
  workflow: Workflow<I, O>,
  replace: (agent: AnyAgent) => AnyAgent,
): Workflow<I, O> {
  const agents = new Map([...workflow.agents].map(([id, agent]) => [id, replace(agent)]));
  const actors = Object.fromEntries([...agents].map(([id, agent]) => [`agent:${id}`, agentActor(agent)]));
  const derived: Workflow<I, O> = {
    ...workflow,
    machine: provideWorkflow(workflow.machine, actors),
    agents,
  };
  return Object.freeze(brand(derived, WORKFLOW_BRAND, true));
}

const agentStepsOf = (steps: WorkflowPlan['steps']) => agentStepsOfPlan({ steps } as WorkflowPlan);
