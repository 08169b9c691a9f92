/**
 * The cost of the guardrails, against a plain-async baseline in the same run: three agents in
 * sequence that answer at once, as plain async functions, as bare XState (three invoked promises),
 * as one guarded agent call, and as an agentcharts workflow with tracing off and on.
 *
 *   npx tsc -p tsconfig.build.json && node --expose-gc dist/bench/workflow.js
 */
import { createActor, fromPromise, setup } from 'xstate';
import { z } from 'zod';
import { createRuntime, defineAgent, defineWorkflow, runAgent } from '../src/index.js';

const Draft = z.object({ content: z.string(), confidence: z.number() });
const answer = async () => ({ content: 'ok', confidence: 0.9 });
const agents = ['researcher', 'checker', 'writer'].map((id) =>
  defineAgent({ id, output: Draft, run: answer }),
);
const workflow = defineWorkflow({ id: 'bench', output: Draft, steps: agents });

const bare = setup({ actors: { call: fromPromise(answer) } }).createMachine({
  initial: 'a',
  states: {
    a: { invoke: { src: 'call', onDone: 'b' } },
    b: { invoke: { src: 'call', onDone: 'c' } },
    c: { invoke: { src: 'call', onDone: 'd' } },
    d: { type: 'final' },
  },
});

export interface Measure {
  name: string;
  usPerRun: number;
}

/** µs per run, for `runs` runs kept `inFlight` at a time, after a warm-up; the best of `rounds`. */
async function measure(
  name: string,
  once: () => Promise<unknown>,
  runs: number,
  inFlight: number,
  rounds = 3,
) {
  const batch = async (n: number) => {
    for (let done = 0; done < n; done += inFlight) {
      await Promise.all(Array.from({ length: Math.min(inFlight, n - done) }, once));
    }
  };
  await batch(Math.min(runs, 500));
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < rounds; round++) {
    (globalThis as { gc?: () => void }).gc?.();
    const started = performance.now();
    await batch(runs);
    best = Math.min(best, ((performance.now() - started) * 1000) / runs);
  }
  return { name, usPerRun: best };
}

export async function workflowBench(runs = 3000, inFlight = 100): Promise<Measure[]> {
  const plain = () => answer().then(answer).then(answer);
  const xstate = () =>
    new Promise<void>((resolve) => {
      const actor = createActor(bare);
      actor.subscribe({ complete: () => resolve() });
      actor.start();
    });
  const guarded = () =>
    runAgent(agents[0]!, {})
      .then(() => runAgent(agents[1]!, {}))
      .then(() => runAgent(agents[2]!, {}));
  const off = createRuntime({ tracing: false });
  const on = createRuntime();
  const results = [
    await measure('plain async functions', plain, runs, inFlight),
    await measure('bare XState, 3 invoked promises', xstate, runs, inFlight),
    await measure('3 guarded agent calls (runAgent)', guarded, runs, inFlight),
    await measure('agentcharts workflow, tracing off', () => off.start(workflow, {}).done, runs, inFlight),
    await measure('agentcharts workflow, tracing on', () => on.start(workflow, {}).done, runs, inFlight),
  ];
  await off.stop();
  await on.stop();
  return results;
}

export function printWorkflowReport(results: Measure[]): void {
  const base = results[0]!.usPerRun;
  const byName = new Map(results.map((r) => [r.name, r.usPerRun]));
  for (const r of results) {
    console.log(
      `${r.name.padEnd(36)} ${r.usPerRun.toFixed(1).padStart(8)} µs/run  ${(r.usPerRun / base).toFixed(0).padStart(5)}x plain`,
    );
  }
  const ratio =
    byName.get('agentcharts workflow, tracing on')! / byName.get('agentcharts workflow, tracing off')!;
  console.log(`tracing on / off: ${ratio.toFixed(2)}x (target ≤ 1.3x)`);
  const xstate =
    byName.get('agentcharts workflow, tracing off')! / byName.get('bare XState, 3 invoked promises')!;
  console.log(`workflow (tracing off) / bare XState: ${xstate.toFixed(1)}x`);
}

if (import.meta.url === `file://${process.argv[1]}`) printWorkflowReport(await workflowBench());
