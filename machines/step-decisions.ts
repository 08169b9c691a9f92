import type { AgentResult } from './agent-result.js';
import type { EdgeDecision } from './edge-result.js';
import type { Admission, StepSlot, WorkflowContext } from './workflow-context.js';

/**
 * What a step's decisions leave in its slot: the breaker's admission (and the permit the gate will
 * report on), the gate's decision (and, when it passed, the output to write). The workflow's own
 * actions and the runtime's breaker-backed ones both assign these, so the step states route alike.
 */

/** The context patch that changes one step's slot (the slot and the slots record are new objects). */
export function withSlot(context: WorkflowContext, stepId: string, patch: Partial<StepSlot>) {
  return { slots: { ...context.slots, [stepId]: merged(context.slots[stepId]!, patch) } };
}

/**
 * `{ ...slot, ...patch }`, built key by key. Slots and patches come in many shapes, and a spread
 * site that has seen many shapes gives each object it makes a hidden class of its own (~0.2 KB per
 * slot, per run in flight); added one key at a time, slots of one history share theirs.
 */
function merged(slot: StepSlot, patch: Partial<StepSlot>): StepSlot {
  const next: Record<string, unknown> = {};
  for (const key in slot) next[key] = slot[key as keyof StepSlot];
  for (const key in patch) next[key] = patch[key as keyof StepSlot];
  return next as unknown as StepSlot;
}

/** The id of a step's agent invocation: its done event is `xstate.done.actor.<this>`. */
export const agentInvokeId = (stepId: string): string => `agent:${stepId}`;

/** The id a step's write carries: one per run, step and visit (in-process and on Restate). */
export const writeIdOf = (runId: string, stepId: string, visit: number): string =>
  `${runId}:${stepId}.${visit}`;

/** The context patch of an admission. */
export function admitted(context: WorkflowContext, stepId: string, admission: Admission) {
  return withSlot(context, stepId, { admission, permit: admission.allowed ? admission.permit : null });
}

/**
 * The agent's result a step's gate decides on: the agent's done event, when the gate runs in the
 * transition it caused (so the result and the decision land in one assign), else the slot's.
 */
export function resultOf(context: WorkflowContext, stepId: string, event: { type: string }): AgentResult {
  return event.type === `xstate.done.actor.${agentInvokeId(stepId)}`
    ? (event as unknown as { output: AgentResult }).output
    : context.slots[stepId]!.result!;
}

/**
 * The context patch of a gate decision on `result`, which it records too; a passed one also names
 * the output and its write id.
 */
export function gated(context: WorkflowContext, stepId: string, result: AgentResult, decision: EdgeDecision) {
  if (!decision.passed) return withSlot(context, stepId, { result, decision });
  return withSlot(context, stepId, {
    result,
    decision,
    output: (decision.result as { content: unknown }).content,
    writeId: writeIdOf(context.runId, stepId, context.slots[stepId]!.visit),
  });
}
