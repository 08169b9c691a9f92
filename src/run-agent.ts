import type { InspectionEvent, Observer } from 'xstate';
import { createActor } from 'xstate';
import type { AgentResult } from '../machines/agent-result.js';
import type { Clock } from '../machines/clock.js';
import type { Agent } from './agent.js';
import { agentActor } from './agent.js';

export interface RunAgentOptions {
  /** Drives every timer; SimulatedClock in tests. Default: the real clock. */
  clock?: Clock;
  /** Part of each attempt's idempotency key. */
  runId?: string;
  stepId?: string;
  /** Aborting it cancels the call (the agent's own signal aborts too). */
  signal?: AbortSignal;
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

/**
 * Run one guarded agent call outside any workflow. Never rejects for agent failures:
 * the promise resolves to a typed AgentResult, fallbacks included.
 */
export function runAgent<I, O>(
  agent: Agent<I, O>,
  input: I,
  options: RunAgentOptions = {},
): Promise<AgentResult<O>> {
  const actor = createActor(agentActor(agent), {
    input: { input, runId: options.runId, stepId: options.stepId },
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.inspect ? { inspect: options.inspect } : {}),
  });
  return new Promise((resolve, reject) => {
    const onAbort = () => actor.send({ type: 'cancel', reason: abortReason(options.signal) });
    actor.subscribe({
      complete: () => {
        options.signal?.removeEventListener('abort', onAbort);
        resolve(actor.getSnapshot().output as AgentResult<O>);
      },
      // Only a bug in agentcharts gets here: agent failures are final states, not actor errors.
      error: (error) => {
        options.signal?.removeEventListener('abort', onAbort);
        reject(error);
      },
    });
    actor.start();
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Why a caller's signal aborted, as a cancel reason. */
export function abortReason(signal: AbortSignal | undefined): string {
  const reason = signal?.reason;
  if (reason instanceof Error) return reason.message;
  return typeof reason === 'string' ? reason : 'aborted by the caller';
}
