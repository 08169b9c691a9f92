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
  /** The median over rounds. */
  usPerRun: number;
  /** Each round's figure, in order: rounds alternate between the kinds compared. */
  rounds: number[];
}

/**
 * µs per run of each kind, `runs` runs kept `inFlight` at a time, after a warm-up. The kinds take
 * turns, round by round, so that each round compares them under the same conditions (this machine's
 * load and the heap's state drift over a process's life): a ratio is then taken per round, and
 * reported as the median with its range.
 */
async function measure(
  kinds: Array<[string, () => Promise<unknown>]>,
  runs: number,
  inFlight: number,
  rounds = 5,
): Promise<Measure[]> {
  const batch = async (once: () => Promise<unknown>, n: number) => {
    for (let done = 0; done < n; done += inFlight) {
      await Promise.all(Array.from({ length: Math.min(inFlight, n - done) }, once));
    }
  };
  for (const [, once] of kinds) await batch(once, Math.min(runs, 500));
  const out: Measure[] = kinds.map(([name]) => ({ name, usPerRun: 0, rounds: [] }));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < kinds.length; k++) {
      // A macrotask, then a full collection: the last kind's garbage is not this one's to collect.
      await new Promise((r) => setTimeout(r, 10));
      (globalThis as { gc?: () => void }).gc?.();
      const started = performance.now();
      await batch(kinds[k]![1], runs);
      out[k]!.rounds.push(((performance.now() - started) * 1000) / runs);
    }
  }
  for (const m of out) m.usPerRun = median(m.rounds);
  return out;
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** `ours` / `base`, round by round: the median and the range, as text. */
export function roundRatio(ours: Measure, base: Measure): { median: number; text: string } {
  const ratios = ours.rounds.map((r, i) => r / base.rounds[i]!);
  const m = median(ratios);
  return {
    median: m,
    text: `${m.toFixed(1)}x (rounds ${Math.min(...ratios).toFixed(1)}–${Math.max(...ratios).toFixed(1)}x)`,
  };
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
  const results = await measure(
    [
      ['plain async functions', plain],
      ['bare XState, 3 invoked promises', xstate],
      ['3 guarded agent calls (runAgent)', guarded],
      ['agentcharts workflow, tracing off', () => off.start(workflow, {}).done],
      ['agentcharts workflow, tracing on', () => on.start(workflow, {}).done],
    ],
    runs,
    inFlight,
  );
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
  const results = await measure(
    [
      ['bare XState, 3 parallel + join', xstate],
      ['agentcharts, 3 parallel + join', () => on.start(parallelWorkflow, {}).done],
    ],
    runs,
    inFlight,
  );
  await on.stop();
  return results;
}

export interface Throughput {
  name: string;
  /** Medians over the rounds. */
  runsPerSecond: number;
  heapPerRunBytes: number;
  /** Each round's runs/s: rounds alternate between the kinds compared. */
  rounds: number[];
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
export async function inFlightBench(inFlight = 10_000, agentMs = 5, rounds = 3): Promise<Throughput[]> {
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
  for (const [, once] of kinds) await Promise.all(Array.from({ length: 500 }, once));
  const perRound = kinds.map(() => ({ rate: [] as number[], heap: [] as number[] }));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < kinds.length; k++) {
      const once = kinds[k]![1];
      // The heap with every run held at its first agent, then the throughput. A macrotask first:
      // until then V8 keeps what the last round's WeakRefs pointed to, which the heap would count.
      await new Promise((r) => setTimeout(r, 10));
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
      perRound[k]!.rate.push(inFlight / seconds);
      perRound[k]!.heap.push((held - before) / inFlight);
      // Let go of this kind's runs and results now: the next kind's baseline must not include them.
      all.length = 0;
      gate = Promise.resolve();
    }
  }
  const out: Throughput[] = kinds.map(([name], k) => ({
    name,
    runsPerSecond: median(perRound[k]!.rate),
    heapPerRunBytes: median(perRound[k]!.heap),
    rounds: perRound[k]!.rate,
  }));
  await runtime.stop();
  return out;
}

export function printParallelReport(results: Measure[]): void {
  for (const r of results) console.log(`${r.name.padEnd(36)} ${r.usPerRun.toFixed(1).padStart(8)} µs/run`);
  console.log(
    `parallel: agentcharts / bare XState: ${roundRatio(results[1]!, results[0]!).text} (target ≤ 3x)`,
  );
}

export function printInFlightReport(results: Throughput[]): void {
  for (const r of results) {
    console.log(
      `${r.name.padEnd(36)} ${r.runsPerSecond.toFixed(0).padStart(7)} runs/s  ${(r.heapPerRunBytes / 1024).toFixed(1).padStart(6)} KB heap per in-flight run`,
    );
  }
  const [bare, ours] = results as [Throughput, Throughput];
  const shares = ours.rounds.map((r, i) => (100 * r) / bare.rounds[i]!);
  console.log(
    `10,000 in flight: ${median(shares).toFixed(0)}% of bare XState's runs/s (rounds ${Math.min(...shares).toFixed(0)}–${Math.max(...shares).toFixed(0)}%; target ≥ 40%); ` +
      `heap per run ${(ours.heapPerRunBytes / bare.heapPerRunBytes).toFixed(2)}x (target ≤ 2x)`,
  );
}

export function printWorkflowReport(results: Measure[]): void {
  const base = results[0]!.usPerRun;
  const byName = new Map(results.map((r) => [r.name, r]));
  for (const r of results) {
    console.log(
      `${r.name.padEnd(36)} ${r.usPerRun.toFixed(1).padStart(8)} µs/run  ${(r.usPerRun / base).toFixed(0).padStart(5)}x plain`,
    );
  }
  const bare = byName.get('bare XState, 3 invoked promises')!;
  const off = byName.get('agentcharts workflow, tracing off')!;
  const on = byName.get('agentcharts workflow, tracing on')!;
  const tracing = roundRatio(on, off);
  console.log(`tracing on / off: ${tracing.median.toFixed(2)}x (target ≤ 1.3x)`);
  console.log(`workflow (tracing off) / bare XState: ${roundRatio(off, bare).text}`);
  console.log(`sequential: workflow (tracing on) / bare XState: ${roundRatio(on, bare).text} (target ≤ 3x)`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printWorkflowReport(await workflowBench());
  printParallelReport(await parallelBench());
  printInFlightReport(await inFlightBench());
}
