/**
 * What `append` writes to one key cost: the heap a blackboard (with its state log) keeps after N
 * appends. Each version is its own frozen array today, so this grows with N² (issue 14 asks for
 * amortised O(1); not done yet) — the figure is here so the fix can be measured.
 *
 *   npx tsc -p tsconfig.build.json && node --expose-gc dist/bench/append.js
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

export async function appendBench(counts = [2_000, 8_000]): Promise<AppendScenario[]> {
  const out: AppendScenario[] = [];
  for (const writes of counts) {
    const before = heap();
    const board = createBlackboard({
      schema: z.object({ items: z.array(z.object({ i: z.number() })) }).partial(),
      reducers: { items: 'append' },
    });
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
      `${r.writes} appends to one key: ${(r.retainedBytes / 1e6).toFixed(1)} MB kept, ${r.microsPerWrite.toFixed(0)} µs/write`,
    );
  }
  const [a, b] = results;
  if (a && b) {
    console.log(
      `kept per write grows ${(b.retainedBytes / b.writes / (a.retainedBytes / a.writes)).toFixed(1)}x for ${(b.writes / a.writes).toFixed(0)}x the writes (flat = O(1) per write)`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) printAppendReport(await appendBench());
