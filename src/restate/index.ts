// agentcharts/restate: the same workflows on a Restate cluster (Node only; needs @restatedev/restate-sdk).
import './polyfill.js';

export type { RestateClient, RestateClientOptions, RestateReviews, RestateRun } from './client.js';
export { createRestateClient } from './client.js';
export type { RestateErrorCode } from './errors.js';
export { isRestateError, RestateError } from './errors.js';
export type { PendingEntry as RestatePendingReview } from './reviews-object.js';
export type { RunView } from './run-scope.js';
export type { RestateStateLog, StateWrite } from './state-log.js';
export { workflowVersion } from './version.js';
export type { ServeWorkflowsOptions, WorkflowWorker } from './worker.node.js';
export { serveWorkflows, workflowServices } from './worker.node.js';
