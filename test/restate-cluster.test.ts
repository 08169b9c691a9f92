import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRestateClient } from '../src/restate/index.js';
import type { Balancer, Server, Worker } from './fixtures/restate/cluster.js';
import { compileFixtures, startBalancer, startCluster, startWorker } from './fixtures/restate/cluster.js';

/**
 * A three-node Restate cluster on loopback (replicated metadata and log, replication 2): runs keep
 * completing when one node is killed with SIGKILL mid-way. The workers and the deployment are
 * unchanged; only the engine loses a machine.
 */

let nodes: Server[] = [];
let balancer: Balancer | undefined;
let worker: Worker | undefined;

beforeAll(async () => {
  await compileFixtures();
  nodes = await startCluster(3);
  worker = startWorker(['', nodes[0]!.ingressUrl], { QUIET: '1' });
  balancer = await startBalancer([await worker.port]);
}, 60_000);

afterAll(async () => {
  worker?.kill();
  await balancer?.stop();
  for (const n of nodes) n.stop();
});

describe('agentcharts/restate on a three-node cluster', () => {
  it('completes every run when a node is killed mid-way', async () => {
    const admin = createRestateClient({ ingressUrl: nodes[0]!.ingressUrl, adminUrl: nodes[1]!.adminUrl });
    await vi.waitFor(() => admin.registerDeployment(balancer!.url), { timeout: 30_000, interval: 200 });
    // Runs enter through node 1's ingress; node 3 dies while they run.
    const client = createRestateClient({ ingressUrl: nodes[0]!.ingressUrl });
    // The registration reaches node 1 through the replicated metadata store.
    await vi.waitFor(() => client.breaker('none'), { timeout: 30_000, interval: 200 });
    const first = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        client.start('report', { topic: `c${i}` }, { runId: `cluster-${i}` }),
      ),
    );
    let finished = 0;
    for (const r of first) void r.done.then(() => finished++);
    // Node 3 dies as soon as the first run finishes: the others are still under way.
    await Promise.race(first.map((r) => r.done));
    nodes[2]!.proc.kill('SIGKILL');
    const finishedAtKill = finished;
    const results = await Promise.all(first.map((r) => r.done));
    expect(finishedAtKill).toBeLessThan(30);
    results.forEach((r, i) => {
      expect(r.status === 'completed' && r.output).toEqual({ report: `final(draft(notes(c${i})))` });
    });
    // With two of three nodes, new runs still start and finish.
    const after = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        client.start('report', { topic: `d${i}` }, { runId: `after-${i}` }),
      ),
    );
    for (const [i, r] of (await Promise.all(after.map((a) => a.done))).entries()) {
      expect(r.status === 'completed' && r.output).toEqual({ report: `final(draft(notes(d${i})))` });
    }
  }, 120_000);
});
