import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { agentSpecOf } from '../../machines/agent.js';
import { workflowPlanOf, workflowPolicyOf } from '../../machines/workflow.js';
import type { WorkflowPlan } from '../../machines/workflow-plan.js';
import { END } from '../../machines/workflow-plan.js';

/**
 * The production checklist, read off a compiled statechart. It works on hand-written machines too:
 * it walks the states and their invoked actors, and only uses the workflow plan when there is one.
 */

export interface CheckItem {
  item: number;
  title: string;
  pass: boolean;
  /** `where: what` for each problem (or note, when the item passes). */
  findings: string[];
}

export interface CheckTarget {
  name: string;
  machine: AnyStateMachine;
  /** The module's `load` export, if any: `{ expected }` declares the expected concurrency. */
  load?: { expected?: unknown } | undefined;
}

const TITLES = [
  'shared state is immutable and conflict-safe, with history',
  'a circuit breaker and a quality gate sit between agents',
  'every agent call is traced',
  'iteration and timeout limits everywhere',
  'an explicit fallback for every failure',
  'low confidence escalates to a human',
  'outputs are schema-validated before they are served',
  'a load test at 5x the expected concurrency is declared',
] as const;

interface Invocation {
  path: string;
  /** The invoke's id: its done/error events are `xstate.done.actor.<id>`. */
  id: string;
  src: string;
  logic: unknown;
  node: AnyStateNode;
}

function walk(node: AnyStateNode, out: AnyStateNode[] = []): AnyStateNode[] {
  out.push(node);
  for (const child of Object.values(node.states)) walk(child, out);
  return out;
}

const pathOf = (node: AnyStateNode) => node.path.join('.') || '(root)';
const isMachine = (logic: unknown) =>
  typeof logic === 'object' && logic !== null && 'root' in logic && 'config' in logic;
const machineId = (logic: unknown) => (isMachine(logic) ? (logic as AnyStateMachine).id : undefined);

/** Has this node, or an ancestor, a delayed transition (a timeout) or is the call itself bounded? */
function hasTimeout(node: AnyStateNode): boolean {
  for (let n: AnyStateNode | undefined = node; n; n = n.parent) if (n.after.length > 0) return true;
  return false;
}

export function checkMachine(target: CheckTarget): CheckItem[] {
  const { machine } = target;
  const plan = workflowPlanOf(machine);
  const actors = (machine.implementations.actors ?? {}) as Record<string, unknown>;
  const nodes = walk(machine.root);
  const invocations: Invocation[] = nodes.flatMap((node) =>
    node.invoke.map((def) => {
      const src = typeof def.src === 'string' ? def.src : (def.id ?? '(inline)');
      const logic = typeof def.src === 'string' ? actors[def.src] : def.src;
      return { path: pathOf(node), id: def.id, src, logic, node };
    }),
  );
  const agents = invocations.filter((i) => agentSpecOf(i.logic));
  const services = new Set(['prepare', 'route', 'finalize']);
  const others = invocations.filter((i) => !agentSpecOf(i.logic) && !(plan && services.has(i.src)));
  const item = (n: number, findings: string[], pass = findings.length === 0): CheckItem => ({
    item: n,
    title: TITLES[n - 1]!,
    pass,
    findings,
  });

  // 1. Shared state: a compiled workflow applies every write with the blackboard's rules in its own
  // context; a hand-written machine must invoke a blackboard actor.
  const boards = invocations.filter((i) => machineId(i.logic) === 'blackboard');
  const item1 = item(
    1,
    (plan && workflowPolicyOf(machine)) || boards.length > 0
      ? []
      : [`${target.name}: no shared-state actor (blackboard) is invoked`],
  );

  // 2. Breaker and gate on every edge.
  const gateFindings: string[] = [];
  if (plan) {
    for (const step of allSteps(plan)) {
      if (step.breaker === null)
        gateFindings.push(`edge ${step.agentId}→${successor(plan, step.id)}: no circuit breaker`);
      if (step.minQuality === 'LOW')
        gateFindings.push(`step ${step.id}: quality gate lets LOW output through`);
    }
  } else if (
    agents.length > 0 &&
    !invocations.some((i) => i.src === 'gate' || machineId(i.logic) === 'breaker')
  ) {
    for (const a of agents)
      gateFindings.push(
        `state ${a.path}: agent ${agentSpecOf(a.logic)!.id} has no quality gate or breaker after it`,
      );
  }
  const item2 = item(2, gateFindings);

  // 3. Traced: agent calls are agent actors (spans per call and attempt), not bare promises.
  const item3 = item(
    3,
    others
      .filter((i) => !isMachine(i.logic))
      .map((i) => `state ${i.path}: invokes "${i.src}", not a guarded agent (agentActor): no attempt spans`),
  );

  // 4. Limits: every agent is bounded; the workflow has a deadline and a step bound.
  const limitFindings: string[] = [];
  // Agents are always bounded (maxIterations × attemptTimeoutMs + backoff, or their deadline).
  if (plan) {
    if (plan.deadlineMs === null) limitFindings.push('workflow: no deadlineMs');
  } else {
    for (const i of others) {
      if (!hasTimeout(i.node)) limitFindings.push(`state ${i.path}: invoke "${i.src}" has no timeout`);
    }
  }
  const item4 = item(4, limitFindings);

  // 5. Fallbacks: agents end in typed fallbacks; other invocations need an error transition.
  const fallbackFindings = plan
    ? []
    : others
        .filter((i) => !i.node.transitions.has(`xstate.error.actor.${i.id}`))
        .map((i) => `state ${i.path}: invoke "${i.src}" has no onError fallback`);
  const item5 = item(5, fallbackFindings);

  // 6. Escalation: some step hands low confidence to a human.
  const reviewed = plan ? allSteps(plan).filter((s) => s.review !== null) : [];
  const unreviewed = plan
    ? allSteps(plan)
        .filter((s) => s.review === null)
        .map((s) => `step ${s.id}: no human review`)
    : [];
  const item6 = plan
    ? item(
        6,
        reviewed.length > 0
          ? []
          : [...unreviewed, 'workflow: no step escalates to a human (add review: { below: 0.7 })'],
      )
    : item(6, ['(hand-written machine): escalation cannot be read off the chart']);

  // 7. Schemas: agents always validate; the workflow's final output needs one too.
  const item7 = item(7, plan && !plan.hasOutputSchema ? ['final output: no schema'] : []);

  // 8. Load test: the module declares its expected concurrency.
  const expected = target.load?.expected;
  const item8 = item(
    8,
    typeof expected === 'number' && expected > 0
      ? []
      : [`${target.name}: no expected concurrency declared (export const load = { expected: 200 })`],
  );

  return [item1, item2, item3, item4, item5, item6, item7, item8];
}

function allSteps(plan: WorkflowPlan) {
  return plan.steps.flatMap((s) => (s.kind === 'agent' ? [s] : s.branches));
}

function successor(plan: WorkflowPlan, stepId: string): string {
  const top = plan.steps.find(
    (s) => s.id === stepId || (s.kind === 'parallel' && s.branches.some((b) => b.id === stepId)),
  );
  const next = top?.next.length === 1 ? top.next[0]!.target : undefined;
  return next === undefined ? '(routed)' : next === END ? 'output' : next;
}
