/**
 * What `append` writes to one key cost: the heap a blackboard (with its state log) keeps after N
 * appends, and the time per write. Each version of the list is a plain frozen array (what
 * `board.read()` and every log entry show); the state log keeps earlier versions as "the previous
 * list plus these items", with checkpoints that at least double (src/log/compact.ts), so what is
 * kept per write is flat in N (issue 14: amortised O(1)).
 *
 * Measured on the shared 2-core dev box (2026-12-02), main before → this change:
 *   2,000 writes: 26.9 MB kept (13.4 KB/write) → 2.4 MB (1.2 KB/write)
 *   8,000 writes: 365.8 MB kept (45.7 KB/write) → 6.7 MB (0.84 KB/write)
 *   16,000 writes: 1.55 GB before; 32,000 writes: 24.1 MB (0.75 KB/write) after
 *   each extra write keeps ~720 B, from 2,000 to 8,000 and from 8,000 to 32,000 alike.
 * Time per write is not flat (~90-150 µs at 2-8k, ~500 µs at 32k, noisy on a loaded box): `append`
 * still copies the list into a new frozen array per version, which a plain frozen array needs.
 *
 *   npx tsc -p tsconfig.build.json && node --expose-gc dist/bench/append.js [2000 8000 32000]
 */
import { z } from 'zod';
import { createBlackboard } from '../src/blackboard.js';

const heap = () => {
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

const makeBoard = () =>
  createBlackboard({
    schema: z.object({ items: z.array(z.object({ i: z.number() })) }).partial(),
    reducers: { items: 'append' },
  });

export async function appendBench(counts = [2_000, 8_000, 32_000]): Promise<AppendScenario[]> {
  const out: AppendScenario[] = [];
  // Warm up, so that one-time costs (compiled schemas, JIT) are not counted in the first figure.
  const warm = makeBoard();
  for (let i = 0; i < 200; i++) warm.write({ key: 'items', value: { i }, agentId: 'a' });
  for (const writes of counts) {
    const before = heap();
    const board = makeBoard();
    const started = performance.now();
    for (let i = 0; i < writes; i++) await board.write({ key: 'items', value: { i }, agentId: 'a' });
    const micros = ((performance.now() - started) * 1000) / writes;
    out.push({ writes, retainedBytes: heap() - before, microsPerWrite: micros });
    void board.read();
  }
  return out;
}

export function printAppendReport(results: AppendScenario[]): void {
  for (const r of results) {
    console.log(
      `${r.writes} appends to one key: ${(r.retainedBytes / 1e6).toFixed(1)} MB kept, ${(r.retainedBytes / r.writes).toFixed(0)} B/write, ${r.microsPerWrite.toFixed(0)} µs/write`,
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
    console.log(
      `kept per write: ${(b.retainedBytes / b.writes / (a.retainedBytes / a.writes)).toFixed(2)}x for ${(b.writes / a.writes).toFixed(0)}x the writes (1 = flat, O(1) per write); time per write: ${(b.microsPerWrite / a.microsPerWrite).toFixed(2)}x`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const counts = process.argv.slice(2).map(Number);
  printAppendReport(await appendBench(counts.length > 0 ? counts : undefined));
}
