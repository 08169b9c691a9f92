import './polyfill.js';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as restate from '@restatedev/restate-sdk';
import { z } from 'zod';
import { fail, fn, parseOptions } from '../options.js';
import type { EscalationHook } from '../review/hook.js';
import type { Workflow } from '../workflow/define.js';
import { isWorkflow } from '../workflow/define.js';
import { breakerObject } from './breaker-object.js';
import { reviewObject } from './review-object.js';
import { reviewsObject } from './reviews-object.js';
import type { Served } from './run-scope.js';
import type { ServiceOptions } from './services.js';
import { createServices } from './services.js';
import { workflowVersion } from './version.js';

export interface ServeWorkflowsOptions {
  /** The workflows this worker runs; every worker of a cluster should serve the same ones. */
  workflows: Workflow[];
  /** Port of the deployment endpoint (HTTP/2 cleartext). Default 9080; 0 picks a free one. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1; use 0.0.0.0 only behind your own network policy. */
  host?: string;
  /**
   * Version per workflow id. Default: a hash of the workflow's plan, agent limits and breaker
   * options. A run only ever resumes on a worker with the version it started with.
   */
  versions?: Record<string, string>;
  /**
   * The Restate ingress, e.g. `http://127.0.0.1:8080`: where this worker reports a run it refuses
   * to resume (another version of its workflow), so the run's clients get a failed result.
   */
  ingressUrl?: string;
  /** Told when a review opens (log, alert, ticket); each call journaled. Default: one JSON line. */
  onEscalation?: EscalationHook;
}

export interface WorkflowWorker {
  /** The deployment URL to register with the Restate server (`http://host:port`). */
  readonly url: string;
  readonly port: number;
  /** The version served per workflow id. */
  readonly versions: ReadonlyMap<string, string>;
  close(): Promise<void>;
}

const optionsSchema = z.strictObject({
  workflows: z
    .array(z.custom<Workflow>(isWorkflow, { error: 'must be workflows made by defineWorkflow' }))
    .min(1, { error: 'must list at least one workflow' }),
  port: z.number().int().min(0).max(65_535).default(9080),
  host: z.string().min(1).default('127.0.0.1'),
  versions: z.record(z.string(), z.string().min(1).max(200)).optional(),
  ingressUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  onEscalation: fn<EscalationHook>().optional(),
});

/** The Restate services of a worker: the run workflow, the agent-call service, breakers, reviews. */
export function workflowServices(
  workflows: Workflow[],
  versions: Record<string, string> = {},
  options: ServiceOptions = {},
) {
  const registry = new Map<string, Served>();
  for (const [i, workflow] of workflows.entries()) {
    if (registry.has(workflow.id))
      fail(
        'serveWorkflows',
        `workflows[${i}].id`,
        workflow.id,
        'is served twice; workflow ids must be unique',
      );
    registry.set(workflow.id, { workflow, version: versions[workflow.id] ?? workflowVersion(workflow) });
  }
  const { agentService, runWorkflow } = createServices(registry, options);
  return { registry, services: [runWorkflow, agentService, breakerObject, reviewsObject, reviewObject] };
}

/**
 * Serve workflows as a Restate deployment: an HTTP/2 endpoint the Restate server calls. Register it
 * once (`restate deployments register <url>`, or the admin API); run as many workers as you like
 * behind one address (a load balancer): any of them may run any step of any run.
 */
export async function serveWorkflows(options: ServeWorkflowsOptions): Promise<WorkflowWorker> {
  const o = parseOptions(optionsSchema, options, 'serveWorkflows');
  const { registry, services } = workflowServices(o.workflows, o.versions, {
    ...(o.ingressUrl ? { ingressUrl: o.ingressUrl } : {}),
    ...(o.onEscalation ? { onEscalation: o.onEscalation } : {}),
  });
  const handler = restate.createEndpointHandler({ services, bidirectional: true });
  const server = http2.createServer(handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`,
    port,
    versions: new Map([...registry].map(([id, s]) => [id, s.version])),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Open streams (suspended invocations) would hold the server open; the engine retries them.
        for (const session of sessions) session.destroy();
      }),
  };
}
