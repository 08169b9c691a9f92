/**
 * Heap per run in flight, held at its first, second or third agent: bare XState (three invoked
 * promises) against an agentcharts workflow (tracing on). The in-flight bench holds runs at their
 * first agent; a run further along also keeps its history (state log entries, spans, progress
 * events, step records), which bare XState does not keep.
 *
 *   npx tsc -p tsconfig.build.json && node --expose-gc dist/bench/held-heap.js
 */
import { type AnyStateMachine, createActor, fromPromise, setup } from 'xstate';
import { createRuntime } from '../src/index.js';
import { heapUsed, threeSteps } from './workflow.js';

export interface HeldHeap {
  agent: number;
  bareBytes: number;
  oursBytes: number;
}

/** Bytes per run, `runs` runs held where `call(n)` waits for the gate. */
async function held(runs: number, once: () => Promise<unknown>, open: () => void): Promise<number> {
  // A macrotask first: until then V8 keeps what the last runs' WeakRefs pointed to.
  await new Promise((r) => setTimeout(r, 10));
  const before = heapUsed();
  const all: Promise<unknown>[] = [];
  for (let i = 0; i < runs; i++) all.push(once());
  // Let every run reach the agent that waits (the ones before it answer at once).
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  const bytes = (heapUsed() - before) / runs;
  open();
  await Promise.all(all);
  all.length = 0;
  return bytes;
}

export async function heldHeapBench(runs = 5000): Promise<HeldHeap[]> {
  let waitAt = 1;
  let gate: Promise<void> = Promise.resolve();
  let release: () => void = () => {};
  const answer = async (nth: number) => {
    if (nth === waitAt) await gate;
    return { content: 'ok', confidence: 0.9 };
  };
  // Which agent of its run a call is: each step writes its own key, so the keys written so far.
  const { workflow } = threeSteps('held', async (call?: unknown) =>
    answer(Object.keys((call as { input?: { state?: object } })?.input?.state ?? {}).length + 1),
  );
  const bare = setup({
    actors: { call: fromPromise(({ input }: { input: number }) => answer(input)) },
  }).createMachine({
    initial: 'a',
    states: {
      a: { invoke: { src: 'call', input: 1, onDone: 'b' } },
      b: { invoke: { src: 'call', input: 2, onDone: 'c' } },
      c: { invoke: { src: 'call', input: 3, onDone: 'd' } },
      d: { type: 'final' },
    },
  }) as unknown as AnyStateMachine;
  const runtime = createRuntime();
  const bareRun = () =>
    new Promise<void>((resolve) => {
      const actor = createActor(bare);
      actor.subscribe({ complete: () => resolve() });
      actor.start();
    });
  const oursRun = () => runtime.start(workflow, {}).done;
  const out: HeldHeap[] = [];
  for (let agent = 1; agent <= 3; agent++) {
    waitAt = agent;
    const measure = async (once: () => Promise<unknown>) => {
      await Promise.all(Array.from({ length: 300 }, once));
      gate = new Promise<void>((r) => {
        release = r;
      });
      const bytes = await held(runs, once, () => release());
      gate = Promise.resolve();
      return bytes;
    };
    out.push({ agent, bareBytes: await measure(bareRun), oursBytes: await measure(oursRun) });
  }
  await runtime.stop();
  return out;
}

export function printHeldHeapReport(results: HeldHeap[]): void {
  for (const r of results) {
    console.log(
      `held at agent ${r.agent}: bare XState ${(r.bareBytes / 1024).toFixed(1)} KB, agentcharts ${(r.oursBytes / 1024).toFixed(1)} KB per run = ${(r.oursBytes / r.bareBytes).toFixed(2)}x`,
    );
  }
  const [first, , third] = results;
  if (first && third) {
    console.log(
      `a finished step's history: ${((third.oursBytes - first.oursBytes) / 2 / 1024).toFixed(1)} KB per step (log entries, spans, progress events, step record)`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) printHeldHeapReport(await heldHeapBench());
