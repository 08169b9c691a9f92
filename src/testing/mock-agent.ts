import type { Clock } from '../../machines/clock.js';
import type { AgentRunArgs } from '../agent.js';
import { seededRandom } from './random.js';

/** What one mocked attempt does. */
export type MockStep =
  | { output: unknown; delayMs?: number }
  | { throws: unknown; delayMs?: number }
  /** Never settles (until aborted, if `honourAbort`). */
  | { hang: true };

export interface MockCall {
  attempt: number;
  idempotencyKey: string;
  input: unknown;
  previous: AgentRunArgs<unknown>['previous'];
  signal: AbortSignal;
}

export interface MockRunOptions {
  /** Timers for `delayMs`; pass the runtime's clock (SimulatedClock in tests). Default: real timers. */
  clock?: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
  /** Seed for the `rng` handed to a step function. */
  seed?: number;
  /** Reject with an AbortError when the signal aborts, as real LLM clients do. Default true. */
  honourAbort?: boolean;
  /** How many calls `calls` keeps (the latest), so a long load test does not grow without end. Default 1000. */
  maxRecorded?: number;
}

/**
 * Resolves to whatever the script says, unchecked (`any`): a mock exists to feed an agent outputs
 * valid or not, and the agent's schema judges them at run time as it would a model's.
 */
// biome-ignore lint/suspicious/noExplicitAny: scripted outputs are deliberately unchecked (see above).
export type MockRun = ((args: AgentRunArgs<any>) => Promise<any>) & { readonly calls: MockCall[] };

/**
 * A deterministic stand-in for an LLM call. `steps` is a script (the last step repeats) or a
 * function of the attempt, the input and a seeded random source.
 */
export function mockRun(
  steps: readonly MockStep[] | ((call: MockCall, rng: () => number) => MockStep),
  options: MockRunOptions = {},
): MockRun {
  const rng = seededRandom(options.seed ?? 1);
  const timers = options.clock ?? {
    setTimeout: (f, ms) => setTimeout(f, ms),
    clearTimeout: (id) => clearTimeout(id as number),
  };
  const calls: MockCall[] = [];
  const maxRecorded = options.maxRecorded ?? 1000;
  let count = 0;
  const run = (args: AgentRunArgs<unknown>): Promise<unknown> => {
    const call: MockCall = {
      attempt: args.attempt,
      idempotencyKey: args.idempotencyKey,
      input: args.input,
      previous: args.previous,
      signal: args.signal,
    };
    count++;
    calls.push(call);
    if (calls.length > maxRecorded) calls.splice(0, calls.length - maxRecorded);
    const step =
      typeof steps === 'function'
        ? steps(call, rng)
        : (steps[Math.min(count, steps.length) - 1] ?? { hang: true });
    return new Promise((resolve, reject) => {
      let timer: unknown;
      if (options.honourAbort !== false) {
        args.signal.addEventListener(
          'abort',
          () => {
            if (timer !== undefined) timers.clearTimeout(timer);
            reject(new DOMException('The operation was aborted.', 'AbortError'));
          },
          { once: true },
        );
      }
      if ('hang' in step) return;
      const settle = () => ('throws' in step ? reject(step.throws) : resolve(step.output));
      if (step.delayMs) timer = timers.setTimeout(settle, step.delayMs);
      else settle();
    });
  };
  return Object.assign(run, { calls });
}
