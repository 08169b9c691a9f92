/**
 * What a run's length costs: runs of a bounded loop (one agent step per iteration, each writing a
 * fresh ~1 KB output to the shared state) of 3, 30 and 300 steps, with the state log, tracing and a
 * store on. Per step: time, heap the finished run keeps (its log), store bytes, and the store's
 * bytes read back. Cost proportional to the work means these stay flat as runs get longer.
 * Then 10 steps of 0.9 MB outputs on the file store: the run file against the data written, and the
 * run stopped half-way and resumed by a new runtime on the same folder. Then single runs of 300,
 * 1,000 and 3,000 steps with a store, and each read back: time, store bytes, read time and the heap
 * the read run holds, per step; and the same for a run whose shared state grows by an `append` of
 * each step's output (every agent call gets that whole state as its input), and for one whose state
 * is a map that gains a key per step (a `merge`).
 *
 *   npx tsc -p tsconfig.build.json && node --expose-gc dist/bench/run-length.js
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { Run } from '../src/index.js';
import { createRuntime, defineAgent, defineWorkflow } from '../src/index.js';
import { fileStore } from '../src/store/file.node.js';
import { memoryBackend } from '../src/store/memory.js';
import { recordStore } from '../src/store/record-store.js';

const Note = z.object({ content: z.string(), confidence: z.number(), round: z.number() });

/** A flat ~1 KB string, distinct per call. */
const text = (n: number, size: number): string =>
  JSON.parse(JSON.stringify(`${n}:`.padEnd(size, String.fromCharCode(97 + (n % 26)))));

function loop(steps: number, size: number) {
  let calls = 0;
  const writer = defineAgent({
    id: 'writer',
    output: Note,
    run: async ({ input }) => {
      const round = ((input as { state?: { writer?: { round: number } } }).state?.writer?.round ?? 0) + 1;
      return { content: text(++calls, size), confidence: 0.9, round };
    },
  });
  return loopOf(`loop-${steps}`, writer, steps, steps + 10);
}

/**
 * A loop whose shared state grows: each step appends its ~1 KB output to `notes` (`append`), or
 * merges it, with a key of its own, into `scores` (`merge`); each agent call gets the whole state
 * (the default input), as a transcript or a table of findings would.
 */
function growingLoop(steps: number, size: number, reducer: 'append' | 'merge') {
  let calls = 0;
  const key = reducer === 'append' ? 'notes' : 'scores';
  const writer = defineAgent({
    id: 'writer',
    output: Note.passthrough(),
    run: async () => {
      calls++;
      const note = { content: text(calls, size), confidence: 0.9, round: calls };
      return reducer === 'append' ? note : { ...note, [`k${calls}`]: calls };
    },
  });
  return defineWorkflow({
    id: `${key}-${steps}`,
    maxSteps: steps + 10,
    reducers: { [key]: reducer },
    output: z.unknown(),
    steps: [
      { agent: writer, writes: key, next: [{ if: () => calls >= steps, goto: 'end' }, { goto: 'writer' }] },
    ],
    result: () => ({ rounds: calls }),
  } as never);
}

/** `writer` in a bounded loop: it runs until its own output says it did `steps` rounds. */
function loopOf(id: string, writer: ReturnType<typeof defineAgent>, steps: number, maxSteps: number) {
  return defineWorkflow({
    id,
    maxSteps,
    output: z.unknown(),
    steps: [
      {
        agent: writer,
        input: ({ state }: { state: unknown }) => ({ state }),
        next: [
          {
            if: ({ state }: { state: unknown }) =>
              (state as { writer: { round: number } }).writer.round >= steps,
            goto: 'end',
          },
          { goto: 'writer' },
        ],
      },
    ],
    result: ({ state }: { state: unknown }) => ({
      rounds: (state as { writer: { round: number } }).writer.round,
    }),
  } as never);
}

const gc = (globalThis as { gc?: () => void }).gc;
/** The heap in use, after a macrotask (until then V8 keeps what WeakRefs pointed to) and a full collection. */
const heap = async () => {
  await new Promise((r) => setTimeout(r, 10));
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
};

export interface LengthScenario {
  steps: number;
  usPerStep: number;
  heapBytesPerStep: number;
  storeBytesPerStep: number;
  logEntriesPerStep: number;
}

/** One long run with a store, and the same run read back (what a restart does). */
export interface LongScenario {
  steps: number;
  usPerStep: number;
  storeBytesPerStep: number;
  readUsPerStep: number;
  readHeapBytesPerStep: number;
}

export interface RunLengthReport {
  scenarios: LengthScenario[];
  long: LongScenario[];
  /** The same, for a run whose shared state grows by an `append` per step. */
  growing: LongScenario[];
  /** The same, for a run whose shared state is a map that gains a key per step (`merge`). */
  map: LongScenario[];
  big: {
    steps: number;
    dataBytes: number;
    fileBytes: number;
    ratio: number;
    resumed: string;
    resumedRounds: unknown;
  };
}

async function lengthScenario(steps: number): Promise<LengthScenario> {
  const workflow = loop(steps, 1000);
  const runs = Math.max(3, Math.round(1500 / steps));
  // Time: runs one after another, after a warm-up.
  {
    const runtime = createRuntime({ store: recordStore(memoryBackend()) });
    for (let i = 0; i < 2; i++) await runtime.start(workflow, {}).done;
    await runtime.stop();
  }
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    const runtime = createRuntime({ store: recordStore(memoryBackend()) });
    gc?.();
    const started = performance.now();
    for (let i = 0; i < runs; i++) await runtime.start(workflow, {}).done;
    best = Math.min(best, ((performance.now() - started) * 1000) / (runs * steps));
    await runtime.stop();
  }
  // Bytes the store holds for these runs.
  const backend = memoryBackend();
  const stored = createRuntime({ store: recordStore(backend) });
  for (let i = 0; i < runs; i++) await stored.start(workflow, {}, { runId: `r${i}` }).done;
  await stored.stop();
  const storeBytes = [...backend.runs.values()].reduce(
    (n, lines) => n + lines.reduce((m, l) => m + l.length + 1, 0),
    0,
  );
  // Heap a finished run keeps while its handle is held: its state log and trace.
  const runtime = createRuntime();
  const kept: Run[] = [];
  const before = await heap();
  for (let i = 0; i < runs; i++) {
    const run = runtime.start(workflow, {});
    await run.done;
    kept.push(run as Run);
  }
  await runtime.stop();
  const after = await heap();
  const entries = kept.reduce((n, r) => n + r.log().length, 0);
  const heapPerStep = (after - before) / (runs * steps);
  kept.length = 0;
  return {
    steps,
    usPerStep: best,
    heapBytesPerStep: heapPerStep,
    storeBytesPerStep: storeBytes / (runs * steps),
    logEntriesPerStep: entries / (runs * steps),
  };
}

/**
 * Past the 300 steps above: the shared state's journal turns its generation over every 256
 * commits, a persisted snapshot carries the run's whole step list, and a run read back holds every
 * log entry. Each of these once made a long run's step cost its length.
 */
async function longScenario(
  steps: number,
  kind: 'loop' | 'append' | 'merge' = 'loop',
): Promise<LongScenario> {
  const workflow = kind === 'loop' ? loop(steps, 1000) : growingLoop(steps, 1000, kind);
  const backend = memoryBackend();
  const runtime = createRuntime({ store: recordStore(backend) });
  const started = performance.now();
  await runtime.start(workflow, {}, { runId: 'long' }).done;
  const usPerStep = ((performance.now() - started) * 1000) / steps;
  await runtime.stop();
  const lines = backend.runs.get('long') ?? [];
  const storeBytes = lines.reduce((n, l) => n + l.length + 1, 0);
  const before = await heap();
  const read = performance.now();
  const run = await recordStore(backend).load('long');
  const readUs = (performance.now() - read) * 1000;
  const kept = (await heap()) - before;
  if (run.entries.length === 0) throw new Error('the long run read back no entries');
  return {
    steps,
    usPerStep,
    storeBytesPerStep: storeBytes / steps,
    readUsPerStep: readUs / steps,
    readHeapBytesPerStep: kept / steps,
  };
}

async function bigOutputs(): Promise<RunLengthReport['big']> {
  const dir = mkdtempSync(join(tmpdir(), 'agentcharts-run-length-'));
  const steps = 10;
  const size = 900 * 1024;
  try {
    // Stop half-way: the 6th call waits until the runtime stops (its signal aborts).
    let calls = 0;
    let hold = true;
    const writer = defineAgent({
      id: 'writer',
      output: Note,
      run: async ({ input, signal }) => {
        calls++;
        if (hold && calls === 6) {
          await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
        }
        const round = ((input as { state?: { writer?: { round: number } } }).state?.writer?.round ?? 0) + 1;
        return { content: text(calls, size), confidence: 0.9, round };
      },
      limits: { attemptTimeoutMs: 60_000, deadlineMs: 120_000, maxIterations: 2 },
    });
    const workflow = loopOf('big', writer, steps, 50);
    const first = createRuntime({ store: fileStore({ dir, fsync: false }), workflows: [workflow] });
    first.start(workflow, {}, { runId: 'big-1' });
    while (calls < 6) await new Promise((r) => setTimeout(r, 5));
    await first.stop();
    hold = false;
    const second = createRuntime({ store: fileStore({ dir, fsync: false }), workflows: [workflow] });
    const { runs, errors } = await second.resume();
    if (errors.length > 0) throw errors[0];
    const done = await runs[0]!.done;
    await second.stop();
    const fileBytes = statSync(join(dir, 'runs', 'big-1.jsonl')).size;
    // Outputs produced (the held call's retry included), each ~0.9 MB.
    const dataBytes = (calls - 1) * size;
    return {
      steps,
      dataBytes,
      fileBytes,
      ratio: fileBytes / dataBytes,
      resumed: done.status,
      resumedRounds: (done as { output?: unknown }).output,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runLengthBench(): Promise<RunLengthReport> {
  const scenarios: LengthScenario[] = [];
  for (const steps of [3, 30, 300]) scenarios.push(await lengthScenario(steps));
  const long: LongScenario[] = [];
  // A warm-up run first, so that the first figure is not the JIT's.
  await longScenario(100);
  for (const steps of [300, 1000, 3000]) long.push(await longScenario(steps));
  const growing: LongScenario[] = [];
  await longScenario(100, 'append');
  for (const steps of [300, 1000, 3000]) growing.push(await longScenario(steps, 'append'));
  const map: LongScenario[] = [];
  await longScenario(100, 'merge');
  for (const steps of [300, 1000, 3000]) map.push(await longScenario(steps, 'merge'));
  return { scenarios, long, growing, map, big: await bigOutputs() };
}

export function printRunLengthReport(report: RunLengthReport): void {
  const base = report.scenarios[0]!;
  console.log('steps  µs/step  (x3-step)  heap B/step  (x3-step)  store B/step  (x3-step)  log entries/step');
  for (const s of report.scenarios) {
    console.log(
      `${String(s.steps).padStart(5)}  ${s.usPerStep.toFixed(0).padStart(7)}  ${(s.usPerStep / base.usPerStep).toFixed(2).padStart(9)}x` +
        `  ${s.heapBytesPerStep.toFixed(0).padStart(11)}  ${(s.heapBytesPerStep / base.heapBytesPerStep).toFixed(2).padStart(9)}x` +
        `  ${s.storeBytesPerStep.toFixed(0).padStart(12)}  ${(s.storeBytesPerStep / base.storeBytesPerStep).toFixed(2).padStart(9)}x` +
        `  ${s.logEntriesPerStep.toFixed(1).padStart(16)}`,
    );
  }
  printLong('one long run, store on, then read back:', report.long);
  printLong(
    'one long run whose state grows (each step appends its output to `notes`), store on, then read back:',
    report.growing,
  );
  printLong(
    'one long run whose state is a map that gains a key per step (`merge`), store on, then read back:',
    report.map,
  );
  const b = report.big;
  console.log(
    `${b.steps} steps of 0.9 MB outputs, file store, stopped after 5 and resumed: run file ${(b.fileBytes / 1e6).toFixed(1)} MB ` +
      `for ${(b.dataBytes / 1e6).toFixed(1)} MB of outputs = ${b.ratio.toFixed(2)}x (target < 3x); ` +
      `after the restart: ${b.resumed} ${JSON.stringify(b.resumedRounds)}`,
  );
}

function printLong(title: string, rows: LongScenario[]): void {
  const first = rows[0];
  if (!first) return;
  console.log(title);
  console.log('steps  µs/step  (x300)  store B/step  (x300)  read µs/step  (x300)  read heap B/step  (x300)');
  const x = (v: number, w: number) => `${(v / w).toFixed(2).padStart(6)}x`;
  for (const l of rows) {
    console.log(
      `${String(l.steps).padStart(5)}  ${l.usPerStep.toFixed(0).padStart(7)}  ${x(l.usPerStep, first.usPerStep)}` +
        `  ${l.storeBytesPerStep.toFixed(0).padStart(12)}  ${x(l.storeBytesPerStep, first.storeBytesPerStep)}` +
        `  ${l.readUsPerStep.toFixed(0).padStart(12)}  ${x(l.readUsPerStep, first.readUsPerStep)}` +
        `  ${l.readHeapBytesPerStep.toFixed(0).padStart(16)}  ${x(l.readHeapBytesPerStep, first.readHeapBytesPerStep)}`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) printRunLengthReport(await runLengthBench());
