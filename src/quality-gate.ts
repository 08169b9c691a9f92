import type { EdgeDecision } from '../machines/edge-result.js';
import type { Agent } from './agent.js';
import { isAgent } from './agent.js';
import type { Breaker, CreateBreakerOptions } from './breaker.js';
import { createBreaker } from './breaker.js';
import { fail } from './options.js';
import type { RunAgentOptions } from './run-agent.js';
import { runAgent } from './run-agent.js';

export interface QualityGateOptions extends CreateBreakerOptions {
  /** Share a breaker (e.g. one per agent across several wrappers); otherwise one is made for the agent. */
  breaker?: Breaker;
  /** Breaker key when one is made; default `<agent id>`. */
  key?: string;
}

export interface GatedAgent<I, O> {
  readonly agent: Agent<I, O>;
  readonly breaker: Breaker;
  /**
   * Call the agent behind its breaker and gate. Resolves to the output when it passed, or an explicit
   * fallback: `gated` (low quality, or the agent's own fallback) or `breakerOpen` (not called at all).
   */
  run(input: I, options?: Omit<RunAgentOptions, 'clock'>): Promise<EdgeDecision<O>>;
}

/**
 * The gate without the workflow layer: wrap one agent so its output only reaches your code when it
 * meets the minimum quality, and a failing agent trips a breaker instead of being called again.
 */
export function withQualityGate<I, O>(
  agent: Agent<I, O>,
  options: QualityGateOptions = {},
): GatedAgent<I, O> {
  if (!isAgent(agent)) fail('withQualityGate', 'agent', agent, 'must be an agent made by defineAgent');
  const { breaker: given, key, ...breakerOptions } = options;
  if (given !== undefined && (typeof given !== 'object' || typeof given?.tryAcquire !== 'function')) {
    fail(
      `withQualityGate(${JSON.stringify(agent.id)})`,
      'breaker',
      given,
      'must be a breaker from createBreaker',
    );
  }
  const breaker = given ?? createBreaker(key ?? agent.id, breakerOptions);
  const clock = breakerOptions.clock;
  return Object.freeze({
    agent,
    breaker,
    run: (input: I, runOptions: Omit<RunAgentOptions, 'clock'> = {}) =>
      breaker.call(() => runAgent(agent, input, { ...runOptions, ...(clock ? { clock } : {}) })),
  });
}
