/**
 * What the console costs and how it holds up with many runs, measured in one process:
 * - a run's cost with `console: true` (no page open, and one page following the live stream) against
 *   the same runtime without it;
 * - how long the runs page (`GET api/runs?limit=50`) and one run's view take with 10,000 runs kept,
 *   2,000 of them in flight.
 *
 *   npm run bench:console
 */

import { z } from 'zod';
import { createRuntime, defineAgent, defineWorkflow } from '../src/index.js';

const Draft = z.object({ content: z.string(), confidence: z.number() });
const answer = async () => ({ content: 'ok', confidence: 0.9 });
const agents = ['researcher', 'checker', 'writer'].map((id) =>
  defineAgent({ id, output: Draft, run: answer }),
);
const workflow = defineWorkflow({ id: 'bench', output: Draft, steps: agents });

/** µs per run, `runs` runs kept 100 in flight. */
async function perRun(
  runtime: ReturnType<typeof createRuntime>,
  runs: number,
  inFlight = 100,
): Promise<number> {
  (globalThis as { gc?: () => void }).gc?.();
  const started = performance.now();
  for (let done = 0; done < runs; done += inFlight)
    await Promise.all(
      Array.from({ length: Math.min(inFlight, runs - done) }, () => runtime.start(workflow, {}).done),
    );
  return ((performance.now() - started) * 1000) / runs;
}

async function timed(url: string, times = 20): Promise<{ medianMs: number; bytes: number }> {
  const samples: number[] = [];
  let bytes = 0;
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    const res = await fetch(url);
    bytes = (await res.text()).length;
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return { medianMs: samples[Math.floor(samples.length / 2)]!, bytes };
}

const RUNS = 1_000;
const plain = createRuntime();
const quiet = createRuntime({ console: true });
await quiet.console!.ready;
const watched = createRuntime({ console: true });
const { url } = await watched.console!.ready;
const controller = new AbortController();
const stream = await fetch(`${url}api/events`, { signal: controller.signal });
const reader = stream.body!.getReader();
void (async () => {
  try {
    for (;;) if ((await reader.read()).done) break;
  } catch {
    // aborted at the end
  }
})();
// Interleaved rounds (the machine is shared and its load drifts); the best of each.
let base = Number.POSITIVE_INFINITY;
let withConsole = Number.POSITIVE_INFINITY;
let withPage = Number.POSITIVE_INFINITY;
for (const r of [plain, quiet, watched]) await perRun(r, 300); // warm-up
for (let round = 0; round < 3; round++) {
  base = Math.min(base, await perRun(plain, RUNS));
  withConsole = Math.min(withConsole, await perRun(quiet, RUNS));
  withPage = Math.min(withPage, await perRun(watched, RUNS));
}
controller.abort();
await Promise.all([plain.stop(), quiet.stop(), watched.stop()]);

console.log('| runtime (3 agents in sequence that answer at once) | µs per run | ratio |');
console.log('|---|---|---|');
console.log(`| no console | ${base.toFixed(0)} | 1.00x |`);
console.log(
  `| console: true, no page open | ${withConsole.toFixed(0)} | ${(withConsole / base).toFixed(2)}x |`,
);
console.log(
  `| console: true, one page on the live stream | ${withPage.toFixed(0)} | ${(withPage / base).toFixed(2)}x |`,
);

// Many runs: 8,000 finished, 2,000 waiting in their first agent call.
const hanging = defineAgent({
  id: 'slow',
  output: Draft,
  run: ({ signal }) =>
    new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
});
const waiting = defineWorkflow({ id: 'waiting', output: Draft, steps: [hanging] });
/** Heap after 8,000 finished runs and 2,000 in flight, with or without the console. */
async function fill(runtime: ReturnType<typeof createRuntime>): Promise<number> {
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage().heapUsed;
  for (let done = 0; done < 8_000; done += 200)
    await Promise.all(Array.from({ length: 200 }, () => runtime.start(workflow, {}).done));
  for (let i = 0; i < 2_000; i++) runtime.start(waiting, {}, { runId: `waiting-${i}` });
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed - before;
}
const bare = createRuntime();
const heapBare = await fill(bare);
await bare.stop();
const big = createRuntime({ console: true });
const address = (await big.console!.ready).url;
const heapConsole = await fill(big);
const page = await timed(`${address}api/runs?limit=50`);
const last = await timed(`${address}api/runs?limit=50&offset=9950`);
const filtered = await timed(`${address}api/runs?limit=50&status=running`);
const one = await timed(`${address}api/runs/waiting-7`);
console.log('\n| 10,000 runs kept (2,000 in flight) | median ms | bytes |');
console.log('|---|---|---|');
console.log(`| GET api/runs?limit=50 (first page) | ${page.medianMs.toFixed(1)} | ${page.bytes} |`);
console.log(
  `| GET api/runs?limit=50&offset=9950 (last page) | ${last.medianMs.toFixed(1)} | ${last.bytes} |`,
);
console.log(`| GET api/runs?status=running | ${filtered.medianMs.toFixed(1)} | ${filtered.bytes} |`);
console.log(`| GET api/runs/<id> (statechart, trace, log) | ${one.medianMs.toFixed(1)} | ${one.bytes} |`);
console.log(
  `\nheap after 8,000 finished + 2,000 in-flight runs: ${(heapBare / 2 ** 20).toFixed(1)} MB without the console, ` +
    `${(heapConsole / 2 ** 20).toFixed(1)} MB with it (the 200 latest finished runs' logs and traces, summaries of the rest)`,
);
await big.stop();
