/**
 * What guarding an agent's result costs: `adoptUntrusted` (a real promise followed with the
 * intrinsic `then`, anything else adopted by hand, bounded) against a bare `await`, in the same run.
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/agent-result.js
 */
import { adoptUntrusted } from '../machines/thenable.js';

const output = { content: 'ok', confidence: 0.9 };

async function viaAwait(value: unknown) {
  return await value;
}

async function viaAdopt(value: unknown) {
  const adopted = await adoptUntrusted(value);
  return adopted.ok ? adopted.value : undefined;
}

export interface AdoptMeasure {
  what: string;
  awaitUs: number;
  adoptUs: number;
}

async function perCall(f: (value: unknown) => Promise<unknown>, make: () => unknown, n: number) {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    const started = performance.now();
    for (let i = 0; i < n; i++) await f(make());
    best = Math.min(best, ((performance.now() - started) * 1000) / n);
  }
  return best;
}

export async function agentResultBench(n = 100_000): Promise<AdoptMeasure[]> {
  const cases: Array<[string, () => unknown]> = [
    ['a plain value', () => output],
    ['a native promise', () => Promise.resolve(output)],
  ];
  const results: AdoptMeasure[] = [];
  for (const [what, make] of cases) {
    results.push({
      what,
      awaitUs: await perCall(viaAwait, make, n),
      adoptUs: await perCall(viaAdopt, make, n),
    });
  }
  return results;
}

export function printAgentResultReport(results: AdoptMeasure[]): void {
  for (const r of results) {
    console.log(
      `${`run returns ${r.what}`.padEnd(32)} await ${r.awaitUs.toFixed(2)} µs, adopt ${r.adoptUs.toFixed(2)} µs: +${(r.adoptUs - r.awaitUs).toFixed(2)} µs per attempt`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) printAgentResultReport(await agentResultBench());
