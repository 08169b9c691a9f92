/**
 * agentcharts on Restate against the in-process runtime, in the same run: the fixture workflow
 * `report` (three agents in sequence, each answering after AGENT_MS) on one restate-server on this
 * machine with 1, 2 and 3 worker processes behind a loopback balancer, and on createRuntime().
 * Reports per-run latency alone (p50/p99 of sequential runs) and under load (runs/s and p50/p99 with
 * CONCURRENCY runs in flight). Not part of `npm test` or `npm run bench` (it starts processes).
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/restate.js [runs] [concurrency] [fsync|nofsync]
 */
import { z } from 'zod';
import { createRuntime, defineAgent, defineWorkflow } from '../src/index.js';
import { createRestateClient } from '../src/restate/index.js';
import {
  compileFixtures,
  type Server,
  startBalancer,
  startServer,
  startWorker,
  type Worker,
} from '../test/fixtures/restate/cluster.js';

const RUNS = Number(process.argv[2] ?? 300);
const CONCURRENCY = Number(process.argv[3] ?? 50);
const FSYNC = (process.argv[4] ?? 'fsync') === 'fsync';
const SEQUENTIAL = 30;
const AGENT_MS = 5;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

interface Row {
  name: string;
  seqP50: number;
  seqP99: number;
  runsPerSec: number;
  loadP50: number;
  loadP99: number;
}

async function measure(name: string, runOne: (id: string) => Promise<unknown>): Promise<Row> {
  for (let i = 0; i < 10; i++) await runOne(`${name}-warm-${i}`);
  const seq: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const t = performance.now();
    await runOne(`${name}-seq-${i}`);
    seq.push(performance.now() - t);
  }
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < RUNS) {
        const i = next++;
        const t = performance.now();
        await runOne(`${name}-load-${i}`);
        lat.push(performance.now() - t);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  return {
    name,
    seqP50: pct(seq, 50),
    seqP99: pct(seq, 99),
    runsPerSec: RUNS / secs,
    loadP50: pct(lat, 50),
    loadP99: pct(lat, 99),
  };
}

// The same definition as the worker fixture's `report`, run in this process.
const Draft = z.object({ content: z.string(), confidence: z.number() });
const agent = (
  id: string,
  make: (input: { input: { topic: string }; state: Record<string, { content: string }> }) => string,
) =>
  defineAgent({
    id,
    output: Draft,
    limits: { maxIterations: 2, attemptTimeoutMs: 10_000 },
    retry: { initialDelayMs: 20, factor: 2, maxDelayMs: 100, jitter: 0 },
    run: ({ input }) =>
      new Promise((resolve) =>
        setTimeout(() => resolve({ content: make(input as never), confidence: 0.9 }), AGENT_MS),
      ),
  });
const report = defineWorkflow({
  id: 'report',
  input: z.object({ topic: z.string() }),
  steps: [
    agent('researcher', ({ input }) => `notes(${input.topic})`),
    agent('writer', ({ state }) => `draft(${state.researcher!.content})`),
    agent('editor', ({ state }) => `final(${state.writer!.content})`),
  ],
  result: ({ state }) => ({ report: (state as Record<string, { content: string }>).editor!.content }),
});

async function main() {
  await compileFixtures();
  const rows: Row[] = [];
  const runtime = createRuntime({ tracing: false });
  rows.push(
    await measure('in-process', async (id) => {
      const r = await runtime.start(report, { topic: id }, { runId: id }).done;
      if (r.status !== 'completed') throw new Error(`in-process run ${id}: ${r.status}`);
    }),
  );
  await runtime.stop();

  const env = { QUIET: '1', AGENT_MS: String(AGENT_MS), RESTATE_LOGGING: 'ERROR' };
  let server: Server | undefined;
  const workers: Worker[] = [];
  try {
    server = await startServer(FSYNC ? {} : { RESTATE_BIFROST__LOCAL__ROCKSDB_DISABLE_WAL_FSYNC: 'true' });
    const balancer = await startBalancer([]);
    const client = createRestateClient({ ingressUrl: server.ingressUrl, adminUrl: server.adminUrl });
    for (let n = 1; n <= 3; n++) {
      const w = startWorker(['', server.ingressUrl], env);
      workers.push(w);
      await w.port;
      balancer.upstreams = await Promise.all(workers.map((x) => x.port));
      if (n === 1) {
        for (let i = 0; ; i++) {
          try {
            await client.registerDeployment(balancer.url);
            break;
          } catch (error) {
            if (i > 100) throw error;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      }
      rows.push(
        await measure(`restate, ${n} worker${n > 1 ? 's' : ''}`, async (id) => {
          const run = await client.start('report', { topic: id }, { runId: `${id}-${n}` });
          const r = await run.done;
          if (r.status !== 'completed') throw new Error(`restate run ${id}: ${r.status}`);
        }),
      );
    }
    await balancer.stop();
  } finally {
    for (const w of workers) w.kill();
    server?.stop();
  }

  const base = rows[0]!;
  console.log(
    `report workflow (3 agents × ${AGENT_MS} ms), ${RUNS} runs at ${CONCURRENCY} in flight, server WAL fsync ${FSYNC ? 'on' : 'off'}\n`,
  );
  console.log(
    '| setup | run alone p50 / p99 (ms) | runs/s under load | under load p50 / p99 (ms) | runs/s vs in-process |',
  );
  console.log('|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${r.seqP50.toFixed(1)} / ${r.seqP99.toFixed(1)} | ${r.runsPerSec.toFixed(1)} | ${r.loadP50.toFixed(0)} / ${r.loadP99.toFixed(0)} | ${(r.runsPerSec / base.runsPerSec).toFixed(3)}x |`,
    );
  }
}

await main();
