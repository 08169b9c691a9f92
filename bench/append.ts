/**
 * What `append` writes to one key cost: the heap a blackboard (with its state log) keeps after N
 * appends, and the time per write. From 64 items on, the versions of a list share one array that
 * only grows (machines/long-list.ts): a write pushes one item, and a version becomes a plain frozen
 * array only when it is read. So both the time and the memory of a write are flat in N (issue 14:
 * amortised O(1)).
 *
 * Measured on the shared 2-core dev box (2026-12-02), 2,000 / 8,000 / 32,000 / 128,000 writes:
 *   before (each version a new frozen array): 57-70 / ~90 / 173-201 µs per write (32k: 61% of
 *     the time in copying the list); ~720 B kept per write
 *   now: 18-26 / 18-26 / 20-21 / 22 µs per write; ~880 B kept per write
 * (Memory is measured first, one board per size; time after a warm-up, the better of two boards.)
 *
 * The same for `merge` (one new key per write into one map, machines/long-record.ts).
 *
 *   npx tsc -p tsconfig.build.json && node --expose-gc dist/bench/append.js [merge] [2000 8000 32000]
 */
import { z } from 'zod';
import { createBlackboard } from '../src/blackboard.js';

/** The heap after a full GC; what is let go of only on a later turn (timers) is let go first. */
const heap = async () => {
  await new Promise((resolve) => setTimeout(resolve, 0));
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
};

export interface AppendScenario {
  writes: number;
  retainedBytes: number;
  microsPerWrite: number;
}

/** `append`: one item per write to a list; `merge`: one new key per write to a map. */
export type Growth = 'append' | 'merge';

const makeBoard = () =>
  createBlackboard({
    schema: z
      .object({ items: z.array(z.object({ i: z.number() })), scores: z.record(z.string(), z.number()) })
      .partial(),
    reducers: { items: 'append', scores: 'merge' },
  });

export async function appendBench(
  counts = [2_000, 8_000, 32_000],
  growth: Growth = 'append',
): Promise<AppendScenario[]> {
  const appendTo = (board: ReturnType<typeof makeBoard>, writes: number) => writeTo(board, writes, growth);
  const out: AppendScenario[] = [];
  // Memory first, one board per size: before the time runs have grown the engine's tables.
  const kept: number[] = [];
  for (const writes of counts) {
    const before = await heap();
    const board = makeBoard();
    await appendTo(board, writes);
    kept.push((await heap()) - before);
    void board.read();
  }
  // Time: after a warm-up (JIT, heap sizing), the better of two boards per size.
  await appendTo(makeBoard(), 8_000);
  for (const [i, writes] of counts.entries()) {
    const micros = Math.min(await appendTo(makeBoard(), writes), await appendTo(makeBoard(), writes));
    out.push({ writes, retainedBytes: kept[i]!, microsPerWrite: micros });
  }
  return out;
}

/** µs per write of `writes` appends (or merges) to `board`. */
async function writeTo(board: ReturnType<typeof makeBoard>, writes: number, growth: Growth): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < writes; i++) {
    const write =
      growth === 'append' ? { key: 'items', value: { i } } : { key: 'scores', value: { [`k${i}`]: i } };
    await board.write({ ...write, agentId: 'a' });
  }
  return ((performance.now() - started) * 1000) / writes;
}

export function printAppendReport(results: AppendScenario[], growth: Growth = 'append'): void {
  const what = growth === 'append' ? 'appends to one key' : 'merges of a new key into one map';
  for (const r of results) {
    console.log(
      `${r.writes} ${what}: ${(r.retainedBytes / 1e6).toFixed(1)} MB kept, ${(r.retainedBytes / r.writes).toFixed(0)} B/write, ${r.microsPerWrite.toFixed(0)} µs/write`,
    );
  }
  // What each write added between two runs' sizes: the fixed costs of a board cancel out.
  for (let i = 1; i < results.length; i++) {
    const [p, q] = [results[i - 1]!, results[i]!];
    const marginal = (q.retainedBytes - p.retainedBytes) / (q.writes - p.writes);
    console.log(`  from ${p.writes} to ${q.writes} writes: ${marginal.toFixed(0)} B kept per extra write`);
  }
  const a = results[0];
  const b = results.at(-1);
  if (a && b && a !== b) {
    // Memory from the largest sizes: a small board's figure moves with what earlier boards left in
    // the engine's tables (WeakMap backing stores shrink only later), a large one's hardly.
    const c = results.at(-2)!;
    console.log(
      `kept per write at ${b.writes} vs ${c.writes} writes: ${(b.retainedBytes / b.writes / (c.retainedBytes / c.writes)).toFixed(2)}x (1 = flat, O(1) per write); ` +
        `time per write at ${b.writes} vs ${a.writes} writes: ${(b.microsPerWrite / a.microsPerWrite).toFixed(2)}x`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const growth: Growth = args.includes('merge') ? 'merge' : 'append';
  const counts = args.filter((a) => a !== 'merge').map(Number);
  printAppendReport(await appendBench(counts.length > 0 ? counts : undefined, growth), growth);
}
