import type { EdgeDecision } from './edge-result.js';
import type { Admission, WorkflowContext } from './workflow-context.js';

/**
 * What a step's decisions leave in its slot: the breaker's admission (and the permit the gate will
 * report on), the gate's decision (and, when it passed, the output to write). The workflow's own
 * actions and the runtime's breaker-backed ones both assign these, so the step states route alike.
 */

/** The context patch of an admission: one assign, the slot replaced whole. */
export function admitted(context: WorkflowContext, stepId: string, admission: Admission) {
  const slot = context.slots[stepId]!;
  return {
    slots: {
      ...context.slots,
      [stepId]: { ...slot, admission, permit: admission.allowed ? admission.permit : null },
    },
  };
}

/** The context patch of a gate decision; a passed one also names the output and its write id. */
export function gated(context: WorkflowContext, stepId: string, decision: EdgeDecision) {
  const slot = context.slots[stepId]!;
  const next = decision.passed
    ? {
        ...slot,
        decision,
        output: (decision.result as { content: unknown }).content,
        writeId: `${context.runId}:${stepId}.${slot.visit}`,
      }
    : { ...slot, decision };
  return { slots: { ...context.slots, [stepId]: next } };
}
