// The trigger is pure statechart logic, shared with the workflow machine.
export type { ReviewRequest, StepOutcome } from '../../machines/review-trigger.js';
export { reviewTrigger } from '../../machines/review-trigger.js';
