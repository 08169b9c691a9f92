import type { AnyAgent } from '../agent.js';
import type { Workflow } from '../workflow/define.js';
import { digest } from './hash.js';

/**
 * A workflow's version: a hash of what decides its behaviour as data (its plan, its agents' limits
 * and retry policies, its breakers' options), or the version the worker was given. A run records the
 * version it started with; a worker with another version refuses to resume it.
 */
export function workflowVersion(workflow: Workflow): string {
  const agents = [...workflow.agents.values()].map((a: AnyAgent) => a.spec);
  const breakers = [...workflow.breakers.entries()];
  const json = JSON.stringify({ plan: workflow.plan, agents, breakers });
  return digest(json, 2).slice(0, 12);
}
