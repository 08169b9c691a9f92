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
/** The same three agents as an agentcharts workflow and as bare XState (three invoked promises). */
export function threeSteps(id: string, call: () => Promise<{ content: string; confidence: number }>) {
  const agents = ['researcher', 'checker', 'writer'].map((agentId) =>
    defineAgent({ id: agentId, output: Draft, run: call }),
  );
  const workflow = defineWorkflow({ id, output: Draft, steps: agents });
  const bare = setup({ actors: { call: fromPromise(call) } }).createMachine({
    initial: 'a',
    states: {
      a: { invoke: { src: 'call', onDone: 'b' } },
      b: { invoke: { src: 'call', onDone: 'c' } },
      c: { invoke: { src: 'call', onDone: 'd' } },
      d: { type: 'final' },
    },
  });
  return { agents, workflow, bare };
}

const { agents, workflow, bare } = threeSteps('bench', answer);

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

const parallelWorkflow = defineWorkflow({
  id: 'bench-parallel',
  steps: [{ id: 'all', parallel: agents }],
  result: ({ state }) => state,
});

const bareParallel = setup({ actors: { call: fromPromise(answer) } }).createMachine({
  initial: 'all',
  states: {
    all: {
      type: 'parallel',
      onDone: 'done',
      states: Object.fromEntries(
        ['a', 'b', 'c'].map((id) => [
          id,
          {
            initial: 'calling',
            states: { calling: { invoke: { src: 'call', onDone: 'ok' } }, ok: { type: 'final' } },
          },
        ]),
      ),
    },
    done: { type: 'final' },
  },
});

/** 3 agents in parallel + join, per run: bare XState against agentcharts (tracing on). */
export async function parallelBench(runs = 3000, inFlight = 100): Promise<Measure[]> {
  const xstate = () =>
    new Promise<void>((resolve) => {
      const actor = createActor(bareParallel);
      actor.subscribe({ complete: () => resolve() });
      actor.start();
    });
  const on = createRuntime();
  const results = [
    await measure('bare XState, 3 parallel + join', xstate, runs, inFlight),
    await measure(
      'agentcharts, 3 parallel + join',
      () => on.start(parallelWorkflow, {}).done,
      runs,
      inFlight,
    ),
  ];
  await on.stop();
  return results;
}

export interface Throughput {
  name: string;
  runsPerSecond: number;
  heapPerRunBytes: number;
}

export const heapUsed = (): number => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
};

/**
 * 10,000 runs in flight, 3 sequential agents of `agentMs` each (timers): runs/s to finish them all,
 * and the heap each in-flight run holds (measured while every run waits in its first agent).
 */
export async function inFlightBench(inFlight = 10_000, agentMs = 5): Promise<Throughput[]> {
  let gate: Promise<void> = Promise.resolve();
  const slow = async () => {
    await gate;
    await new Promise((r) => setTimeout(r, agentMs));
    return { content: 'ok', confidence: 0.9 };
  };
  const { workflow: slowWorkflow, bare: bareSlow } = threeSteps('bench-slow', slow);
  const runtime = createRuntime();
  const kinds: Array<[string, () => Promise<unknown>]> = [
    [
      'bare XState, 3 invoked promises',
      () =>
        new Promise<void>((resolve) => {
          const actor = createActor(bareSlow);
          actor.subscribe({ complete: () => resolve() });
          actor.start();
        }),
    ],
    ['agentcharts workflow, tracing on', () => runtime.start(slowWorkflow, {}).done],
  ];
  const out: Throughput[] = [];
  for (const [name, once] of kinds) {
    // Warm-up, then the heap with every run held at its first agent, then the throughput.
    await Promise.all(Array.from({ length: 500 }, once));
    let open!: () => void;
    gate = new Promise<void>((r) => {
      open = r;
    });
    const before = heapUsed();
    const started = performance.now();
    const all = Array.from({ length: inFlight }, once);
    await new Promise((r) => setTimeout(r, 50));
    const held = heapUsed();
    open();
    await Promise.all(all);
    const seconds = (performance.now() - started - 50) / 1000;
    out.push({ name, runsPerSecond: inFlight / seconds, heapPerRunBytes: (held - before) / inFlight });
    // Let go of this kind's runs and results now: the next kind's baseline must not include them.
    all.length = 0;
    gate = Promise.resolve();
  }
  await runtime.stop();
  return out;
}

export function printParallelReport(results: Measure[]): void {
  for (const r of results) console.log(`${r.name.padEnd(36)} ${r.usPerRun.toFixed(1).padStart(8)} µs/run`);
  console.log(
    `parallel: agentcharts / bare XState: ${(results[1]!.usPerRun / results[0]!.usPerRun).toFixed(1)}x (target ≤ 3x)`,
  );
}

export function printInFlightReport(results: Throughput[]): void {
  for (const r of results) {
    console.log(
      `${r.name.padEnd(36)} ${r.runsPerSecond.toFixed(0).padStart(7)} runs/s  ${(r.heapPerRunBytes / 1024).toFixed(1).padStart(6)} KB heap per in-flight run`,
    );
  }
  const [bare, ours] = results as [Throughput, Throughput];
  console.log(
    `10,000 in flight: ${((100 * ours.runsPerSecond) / bare.runsPerSecond).toFixed(0)}% of bare XState's runs/s (target ≥ 40%); ` +
      `heap per run ${(ours.heapPerRunBytes / bare.heapPerRunBytes).toFixed(2)}x (target ≤ 2x)`,
  );
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
  const on = byName.get('agentcharts workflow, tracing on')! / byName.get('bare XState, 3 invoked promises')!;
  console.log(`sequential: workflow (tracing on) / bare XState: ${on.toFixed(1)}x (target ≤ 3x)`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printWorkflowReport(await workflowBench());
  printParallelReport(await parallelBench());
  printInFlightReport(await inFlightBench());
}
