import type { AgentRunArgs, AnyAgent } from '../agent.js';
import { agentOptionsOf, defineAgent } from '../agent.js';
import { seededRandom } from '../testing/random.js';

/** Mock latency and seeded fault rates injected around every agent of a workflow under load. */
export interface FaultPlan {
  /** Uniform latency range added to every call, in ms. */
  latencyMs: [number, number];
  /** Probability that a call throws. */
  throwRate: number;
  /** Probability that a call never settles (until its timeout aborts it). */
  hangRate: number;
  /** Probability that a call returns output that fails the schema. */
  invalidRate: number;
  seed: number;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

/** The same agent (id, schema, limits) whose calls get latency and faults before the real `run`. */
export function withFaults(agent: AnyAgent, plan: FaultPlan, timers: Timers = realTimers): AnyAgent {
  const options = agentOptionsOf(agent);
  // One stream per agent, so adding an agent does not shift another agent's faults.
  const random = seededRandom(plan.seed ^ hash(agent.id));
  const [min, max] = plan.latencyMs;
  return defineAgent({
    ...options,
    run: (args: AgentRunArgs) => {
      const roll = random();
      const latency = min + (max - min) * random();
      // Deliberately untyped: an injected fault resolves to what the schema refuses.
      return new Promise<unknown>((resolve, reject) => {
        const timer = timers.setTimeout(() => {
          if (roll < plan.throwRate) reject(new Error(`injected fault: ${agent.id} failed`));
          else if (roll < plan.throwRate + plan.invalidRate) resolve({ injected: 'invalid output' });
          else if (roll < plan.throwRate + plan.invalidRate + plan.hangRate) {
            // Never settles: the attempt timeout aborts it.
          } else {
            Promise.resolve()
              .then(() => options.run(args))
              .then(resolve, reject);
          }
        }, latency);
        args.signal.addEventListener('abort', () => {
          timers.clearTimeout(timer);
          reject(new DOMException('aborted', 'AbortError'));
        });
      }) as Promise<never>;
    },
  });
}

function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
