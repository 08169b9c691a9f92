import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { WriteAccepted } from '../machines/blackboard-outcome.js';
import { reviewIdOf } from '../machines/workflow-step-helpers.js';
import { createRuntime, defineAgent, defineWorkflow } from '../src/index.js';
import type { LogEntry } from '../src/log/state-log.js';
import type { RestateClient, RestateStateLog } from '../src/restate/index.js';
import { createRestateClient, isRestateError } from '../src/restate/index.js';
import { isReviewError } from '../src/review/errors.js';
import type { PendingReview } from '../src/review/records.js';
import type { RunEvent } from '../src/trace/events.js';
import type { Balancer, Server, Worker } from './fixtures/restate/cluster.js';
import {
  BUILT,
  compileFixtures,
  freePort,
  sql,
  startBalancer,
  startServer,
  startWorker,
} from './fixtures/restate/cluster.js';
import { makeWorkflows } from './fixtures/restate/workflows.mjs';

/**
 * agentcharts/restate end to end: the real restate-server on loopback (free ports, a temporary data
 * folder), worker processes serving the fixture workflows behind an HTTP/2 balancer, and the client
 * in this process. Real processes and real time on purpose: this is about what the engine keeps when
 * workers die. Waits are on events (a worker's output lines, a run's result) or bounded polls of
 * the server's state (vi.waitFor), never sleeps.
 */

let server: Server;
let balancer: Balancer;
let client: RestateClient;
const workers: Worker[] = [];

async function worker(version = ''): Promise<Worker> {
  const w = startWorker([version, server.ingressUrl]);
  workers.push(w);
  await w.port;
  return w;
}
const portOf = (w: Worker) => w.port;
const only = async (...ws: Worker[]) => {
  balancer.upstreams = await Promise.all(ws.map(portOf));
};

beforeAll(async () => {
  await compileFixtures();
  server = await startServer();
  const [a, b] = await Promise.all([worker(), worker()]);
  balancer = await startBalancer([await a.port, await b.port]);
  client = createRestateClient({ ingressUrl: server.ingressUrl, adminUrl: server.adminUrl });
  // The server takes a moment after listening before it accepts registrations.
  await vi.waitFor(() => client.registerDeployment(balancer.url), { timeout: 20_000, interval: 100 });
}, 60_000);

afterAll(async () => {
  for (const w of workers) w.kill();
  await balancer?.stop();
  server?.stop();
});

const expected = (topic: string) => ({ report: `final(draft(notes(${topic})))` });

/** The attempts the server had journaled as finished by `before`: `ctx.run` commands with their completion. */
async function recordedAttempts(before: number): Promise<Set<string>> {
  const rows = await sql(
    server.adminUrl,
    "SELECT id, entry_type, name, entry_json, appended_at FROM sys_journal WHERE entry_type = 'Command: Run' OR entry_type = 'Notification: Run'",
  );
  const commands = new Map<string, string>();
  const completed = new Set<string>();
  for (const row of rows) {
    const json = JSON.parse(String(row.entry_json));
    if (row.entry_type === 'Command: Run') {
      const name = String(row.name ?? '');
      if (name.startsWith('attempt '))
        commands.set(`${row.id}#${json.Command.Run.completion_id}`, name.slice(8));
    } else {
      const id = json.Notification?.Completion?.Run?.completion_id;
      if (id !== undefined && Date.parse(String(row.appended_at)) < before) completed.add(`${row.id}#${id}`);
    }
  }
  return new Set([...commands].filter(([k]) => completed.has(k)).map(([, key]) => key));
}

describe('agentcharts/restate on a real restate-server', () => {
  it('runs 100 workflows across 2 worker processes with the outputs of the in-process runtime', async () => {
    const [a, b] = workers as [Worker, Worker];
    const before = [a.lines.length, b.lines.length];
    const runs = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        client.start('report', { topic: `t${i}` }, { runId: `batch-${i}` }),
      ),
    );
    const results = await Promise.all(runs.map((r) => r.done));
    results.forEach((r, i) => {
      expect(r.status).toBe('completed');
      expect(r.status === 'completed' && r.output).toEqual(expected(`t${i}`));
      expect(r.steps.map((s) => [s.stepId, s.status])).toEqual([
        ['researcher', 'passed'],
        ['writer', 'passed'],
        ['editor', 'passed'],
      ]);
    });
    // Both workers took agent calls.
    const callsOf = (w: Worker, from: number) =>
      w.lines.slice(from).filter((l) => l.startsWith('CALL ')).length;
    expect(callsOf(a, before[0]!)).toBeGreaterThan(0);
    expect(callsOf(b, before[1]!)).toBeGreaterThan(0);
    expect(callsOf(a, before[0]!) + callsOf(b, before[1]!)).toBe(300);
    // A parallel step: its branches run side by side as sub-invocations, then the writer reads both.
    const fanned = await Promise.all(
      Array.from({ length: 10 }, (_, i) => client.start('fanout', { topic: `f${i}` }, { runId: `fan-${i}` })),
    );
    (await Promise.all(fanned.map((r) => r.done))).forEach((r, i) => {
      expect(r.status === 'completed' && r.output).toBe(`merged(facts(f${i})+tone(f${i}))`);
      expect(r.steps.map((s) => s.stepId).sort()).toEqual(['facts', 'merger', 'tone']);
    });
    // The trace, from the journal: run → steps → agents → attempts, also handed to exporters
    // (otelExporter(tracer) is one).
    const exported: string[] = [];
    const trace = await client.trace('batch-7', {
      exporters: [{ onSpanEnd: (span) => exported.push(`${span.operation} ${span.status}`) }],
    });
    expect(exported).toContain('run success');
    expect(exported.filter((e) => e === 'attempt success')).toHaveLength(3);
    expect(trace?.agentCalls).toBe(3);
    expect(
      trace?.spans.filter((s) => s.operation === 'attempt').map((s) => s.attributes.idempotencyKey),
    ).toEqual(['batch-7:researcher.1:1', 'batch-7:writer.1:1', 'batch-7:editor.1:1']);
  }, 60_000);

  it('gives the results of the in-process runtime for the same definitions: timeouts, retries, parallel steps', async () => {
    const local = new Map(
      makeWorkflows({ defineAgent, defineWorkflow }, { fixedMs: 5, quiet: true }).map((w) => [w.id, w]),
    );
    const runtime = createRuntime({ tracing: false, onEscalation: () => {} });
    const cases: Array<[string, unknown]> = [
      ['report', { topic: 'same' }],
      ['fanout', { topic: 'same' }],
      ['slow', { topic: 'same' }],
      ['report', { topic: 42 }],
      ['late', {}],
    ];
    const shape = (r: Awaited<ReturnType<RestateClient['run']>['done']>) => ({
      status: r.status,
      ...(r.status === 'completed' || r.status === 'fallback' ? { output: r.output } : {}),
      ...('reason' in r ? { reason: r.reason } : {}),
      steps: r.steps
        .map(({ startedAt: _s, endedAt: _e, ...rest }) => rest)
        .sort((a, b) => a.stepId.localeCompare(b.stepId)),
    });
    try {
      for (const [i, [id, input]] of cases.entries()) {
        const runId = `same-${i}`;
        const here = await runtime.start(local.get(id)!, input, { runId }).done;
        const there = await (await client.start(id, input, { runId })).done;
        expect(shape(there)).toEqual(shape(here));
      }
    } finally {
      await runtime.stop();
    }
    // The attempts behind `slow`, from the journal: a timeout then a success; an invalid output then a fix.
    const trace = await client.trace('same-2');
    expect(trace!.spans.filter((s) => s.operation === 'attempt').map((s) => s.attributes.outcome)).toEqual([
      'timedOut',
      'valid',
      'invalid',
      'valid',
    ]);
    // The run's shared state, readable from the client.
    expect((await client.view('same-0'))!.state).toMatchObject({
      editor: { content: 'final(draft(notes(same)))' },
    });
    const view = await client.view('same-2');
    expect(view!.calls.find((c) => c.stepId === 'sloppy')!.result).toMatchObject({
      status: 'succeeded',
      content: { content: 'fixed(invalid)' },
    });
  }, 60_000);

  it('names reviews as in-process (opaque ids, reviewId and visit) and routes a decision without parsing its id', async () => {
    const local = new Map(
      makeWorkflows({ defineAgent, defineWorkflow }, { fixedMs: 5, quiet: true }).map((w) => [w.id, w]),
    );
    const runtime = createRuntime({ tracing: false, onEscalation: () => {} });
    // Dots in a run id: nothing may be read out of the review id.
    const runId = 'ids.with.dots';
    try {
      expect((await runtime.start(local.get('reviewed')!, { topic: 'id' }, { runId }).result).status).toBe(
        'awaitingReview',
      );
      const run = await client.start('reviewed', { topic: 'id' }, { runId });
      const paused = await run.result;
      expect(paused.status === 'awaitingReview' && paused.reviews.map((r) => r.reviewId)).toEqual([
        reviewIdOf(runId, 'drafter', 1),
      ]);
      const [here] = runtime.reviews.list();
      const [there] = (await client.reviews.list()).filter((p) => p.runId === runId);
      const same = ({ openedAt: _o, expiresAt: _e, ...rest }: PendingReview) => rest;
      expect(there).toBeDefined();
      expect(Object.keys(there!).sort()).toEqual(Object.keys(here!).sort());
      expect(same(there!)).toEqual(same(here!));
      expect(there).toMatchObject({ reviewId: 'ids.with.dots.drafter.1', visit: 1, stepId: 'drafter' });
      // Ids that were never opened, including ones shaped like a real one: unknownReview.
      for (const id of ['ids.with.dots.drafter.2', 'ids.with.drafter.1', `${runId}/drafter.1`, ''])
        await expect(client.reviews.approve(id, { by: 'ann' })).rejects.toSatisfy(
          (e) => isReviewError(e) && e.code === 'unknownReview',
        );
      await client.reviews.approve(there!.reviewId, { by: 'ann' });
      await expect(client.reviews.approve(there!.reviewId, { by: 'bob' })).rejects.toSatisfy(
        (e) => isReviewError(e) && e.code === 'alreadyDecided',
      );
      const done = await run.done;
      expect(done.status === 'completed' && done.output).toBe('polished(draft(id))');
      expect(done.steps[0]!.review).toMatchObject({ reviewId: there!.reviewId, decision: 'approved' });
    } finally {
      await runtime.stop();
    }
  }, 60_000);

  it('gives the progress events of the in-process runtime for the same definitions', async () => {
    const local = new Map(
      makeWorkflows({ defineAgent, defineWorkflow }, { fixedMs: 5, quiet: true }).map((w) => [w.id, w]),
    );
    const runtime = createRuntime({ onEscalation: () => {} });
    // Times and durations differ between the two; everything else must be the same.
    const strip = (events: readonly RunEvent[]) =>
      events.map((e) => {
        const { at: _a, durationMs: _d, ...rest } = e as RunEvent & { durationMs?: number };
        return rest;
      });
    // In-process, a review's `reviewed` event comes just after the next step started (the order
    // XState reports the review actor's end in); on Restate events come in time order: before the
    // reviewed step finishes. The same events either way.
    const causal = (events: readonly RunEvent[]) => {
      const out: RunEvent[] = events.filter((e) => e.type !== 'reviewed');
      for (const r of events.filter((e) => e.type === 'reviewed')) {
        const i = out.findIndex((e) => e.type === 'step.finished' && e.stepId === r.stepId);
        out.splice(i < 0 ? out.length - 1 : i, 0, r);
      }
      return out;
    };
    const cases: Array<[string, unknown]> = [
      ['report', { topic: 'ev' }],
      ['slow', { topic: 'ev' }],
      ['report', { topic: 42 }],
      ['late', {}],
      ['reviewed', { topic: 'ev' }],
      ['expiring', { topic: 'ev' }],
      ['fanout', { topic: 'ev' }],
    ];
    try {
      await Promise.all(
        cases.map(async ([id, input], i) => {
          const runId = `events-${i}`;
          const here = runtime.start(local.get(id)!, input, { runId });
          const seen: RunEvent[] = [];
          here.subscribe((e) => seen.push(e));
          const there = await client.start(id, input, { runId });
          if (id === 'reviewed') {
            expect((await here.result).status).toBe('awaitingReview');
            expect((await there.result).status).toBe('awaitingReview');
            // A paused run's events end with its escalation.
            expect((await client.events(runId))!.map((e) => e.type).slice(-2)).toEqual([
              'agent.finished',
              'escalated',
            ]);
            await runtime.reviews.approve(reviewIdOf(runId, 'drafter', 1), { by: 'ann' });
            await client.reviews.approve(reviewIdOf(runId, 'drafter', 1), { by: 'ann' });
          }
          await here.done;
          await there.done;
          const events = (await client.events(runId))!;
          expect(events.every((e) => e.runId === runId)).toBe(true);
          // In time order.
          expect(events.map((e) => e.at)).toEqual(events.map((e) => e.at).sort((a, b) => a - b));
          if (id === 'expiring') {
            // A review whose expiry also ends the run is reported once, by both.
            const expired = events.filter((e) => e.type === 'reviewed');
            expect(strip(expired)).toEqual([
              expect.objectContaining({ type: 'reviewed', decision: 'expired', stepId: 'hasty' }),
            ]);
          }
          if (id !== 'fanout') {
            expect(strip(events), `${id}`).toEqual(strip(causal(seen)));
            return;
          }
          // Branches side by side interleave by time: the same events, and the same per step.
          const byStep = (evs: readonly RunEvent[], stepId: string) =>
            strip(evs.filter((e) => 'stepId' in e && e.stepId === stepId));
          for (const stepId of ['facts', 'tone', 'merger'])
            expect(byStep(events, stepId)).toEqual(byStep(seen, stepId));
          const sorted = (evs: readonly RunEvent[]) =>
            strip(evs)
              .map((e) => JSON.stringify(e))
              .sort();
          expect(sorted(events)).toEqual(sorted(seen));
        }),
      );
    } finally {
      await runtime.stop();
    }
    // The kinds of events seen across the cases.
    const kinds = new Set(
      (await Promise.all(cases.map((_, i) => client.events(`events-${i}`)))).flatMap((evs) =>
        evs!.map((e) => (e.type === 'fallback' ? `fallback ${e.source}` : e.type)),
      ),
    );
    expect([...kinds].sort()).toEqual(
      [
        'run.started',
        'step.started',
        'agent.started',
        'attempt.started',
        'attempt.finished',
        'agent.finished',
        'escalated',
        'reviewed',
        'fallback review',
        'step.finished',
        'run.completed',
      ].sort(),
    );
    expect(await client.events('never-started')).toBeUndefined();
  }, 60_000);

  it("gives the run's state log from the client: every accepted write and the final state, as in-process", async () => {
    const local = new Map(
      makeWorkflows({ defineAgent, defineWorkflow }, { fixedMs: 5, quiet: true }).map((w) => [w.id, w]),
    );
    const runtime = createRuntime({ onEscalation: () => {} });
    // The in-process run's accepted writes, from its snapshot log: each step's slot in the workflow's
    // entries holds the write's outcome and the value it wrote.
    const commitsOf = (log: readonly LogEntry[]) => {
      const seen = new Map<
        string,
        { version: number; key: string; agentId: string; op: string; value: unknown }
      >();
      for (const entry of log) {
        const slots = (
          entry.state as {
            context?: { slots?: Record<string, { written?: WriteAccepted; output?: unknown }> };
          }
        ).context?.slots;
        for (const slot of Object.values(slots ?? {})) {
          const w = slot.written;
          if (!w?.ok || w.writeId === null || seen.has(w.writeId)) continue;
          seen.set(w.writeId, {
            version: w.version,
            key: w.key,
            agentId: w.agentId,
            op: w.op,
            value: slot.output,
          });
        }
      }
      return [...seen.values()].sort((a, b) => a.version - b.version);
    };
    const plain = (log: RestateStateLog) =>
      log.writes.map(({ version, key, agentId, op, value }) => ({ version, key, agentId, op, value }));
    try {
      for (const [i, id] of ['report', 'slow'].entries()) {
        const runId = `log-${i}`;
        const here = runtime.start(local.get(id)!, { topic: 'log' }, { runId });
        const result = await here.done;
        expect((await (await client.start(id, { topic: 'log' }, { runId })).done).status).toBe('completed');
        const log = (await client.log(runId))!;
        expect(log).toMatchObject({ runId, workflowId: id, status: 'ended', initial: {} });
        expect(plain(log)).toEqual(commitsOf(here.log()));
        expect(log.writes.map((w) => w.version)).toEqual(log.writes.map((_, v) => v + 1));
        // Each write names its step and writer, at a time within the run.
        for (const w of log.writes) {
          expect(w.stepId).toBe(w.agentId);
          expect(w.visit).toBe(1);
          expect(w.at).toBeGreaterThan(0);
        }
        expect(log.version).toBe(log.writes.length);
        expect(result.status).toBe('completed');
        // The same final state as the in-process run's shared state.
        const boards = here.log().filter((e) => e.actorId === id);
        const last = boards.at(-1)!.state as { context: { state: unknown; version: number } };
        expect(log.state).toEqual(last.context.state);
        expect(log.version).toBe(last.context.version);
      }
      expect((await client.log('log-0'))!.state).toMatchObject({
        editor: { content: 'final(draft(notes(log)))' },
      });
    } finally {
      await runtime.stop();
    }
    // A key with a reducer: each write is the item appended (the patch), the state has both.
    const run = await client.start('gathered', { topic: 'g' }, { runId: 'log-gathered' });
    const done = await run.done;
    expect(done.status === 'completed' && done.output).toBe('north(g)+south(g)');
    const log = (await client.log('log-gathered'))!;
    expect(plain(log)).toEqual([
      {
        version: 1,
        key: 'notes',
        agentId: 'north',
        op: 'append',
        value: { content: 'north(g)', confidence: 0.9 },
      },
      {
        version: 2,
        key: 'notes',
        agentId: 'south',
        op: 'append',
        value: { content: 'south(g)', confidence: 0.9 },
      },
      {
        version: 3,
        key: 'summary',
        agentId: 'summary',
        op: 'set',
        value: { content: 'north(g)+south(g)', confidence: 0.9 },
      },
    ]);
    expect(log.state).toEqual({
      notes: [
        { content: 'north(g)', confidence: 0.9 },
        { content: 'south(g)', confidence: 0.9 },
      ],
      summary: { content: 'north(g)+south(g)', confidence: 0.9 },
    });
    expect(await client.log('never-started')).toBeUndefined();
  }, 60_000);

  it('survives a worker killed with SIGKILL mid-run: every run completes, no recorded step runs again, pending reviews are decided from another process', async () => {
    const [a, b] = workers as [Worker, Worker];
    // Reviews pending before the kill.
    const reviewed = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        client.start('reviewed', { topic: `r${i}` }, { runId: `rev-${i}` }),
      ),
    );
    const paused = await Promise.all(reviewed.map((r) => r.result));
    for (const p of paused) expect(p.status).toBe('awaitingReview');
    // Each review's hook ran on the worker that opened it.
    const notified = workers.flatMap((w) => w.lines.filter((l) => l.startsWith('NOTIFY rev-')));
    expect(notified.sort()).toEqual(reviewed.map((r) => `NOTIFY ${r.runId}.drafter.1`).sort());

    // A batch of runs; kill worker A once it is well into its share.
    const calls = new Map<string, number>();
    const count = (line: string) => {
      if (line.startsWith('CALL ')) calls.set(line.slice(5), (calls.get(line.slice(5)) ?? 0) + 1);
    };
    const callsAfterKill: string[] = [];
    let killed = false;
    let killTime = 0;
    const killedAt = new Promise<void>((resolve) => {
      let seen = 0;
      a.onLine((line) => {
        if (!line.startsWith('CALL ') || killed) return;
        if (++seen === 40) {
          killed = true;
          killTime = Date.now();
          a.kill();
          resolve();
        }
      });
    });
    // Every line A printed is from before its death (some are read after the kill).
    a.onLine(count);
    b.onLine((line) => {
      count(line);
      if (killed && line.startsWith('CALL ')) callsAfterKill.push(line.slice(5));
    });
    const runs = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        client.start('report', { topic: `k${i}` }, { runId: `kill-${i}` }),
      ),
    );
    await killedAt;
    await a.exited;
    // What the engine had recorded when A died; only B is left behind the balancer.
    const recorded = await recordedAttempts(killTime);
    await only(b);
    expect(recorded.size).toBeGreaterThan(0);

    // The pending reviews are still there, and this process (neither worker) decides them.
    const pending = await client.reviews.list();
    const ids = reviewed.map((r) => `${r.runId}.drafter.1`);
    expect(pending.map((p) => p.reviewId)).toEqual(expect.arrayContaining(ids));
    // The same review errors as in-process: a bad edit is refused and the review stays pending.
    await expect(client.reviews.edit(ids[1]!, { content: 42 }, { by: 'ann' })).rejects.toSatisfy(
      (e) => isReviewError(e) && e.code === 'invalidEdit' && e.issues.length > 0,
    );
    await expect(client.reviews.approve('rev-none.drafter.1', { by: 'ann' })).rejects.toSatisfy(
      (e) => isReviewError(e) && e.code === 'unknownReview',
    );
    await client.reviews.edit(ids[1]!, { content: 'edited', confidence: 0.9 }, { by: 'ann' });
    // Two people decide one review at once: exactly one wins, the other is told who did.
    const race = await Promise.allSettled([
      client.reviews.approve(ids[2]!, { by: 'ann' }),
      client.reviews.reject(ids[2]!, 'not good', { by: 'bob' }),
    ]);
    expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = race.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(isReviewError(lost.reason) && lost.reason.code).toBe('alreadyDecided');
    const winner = (race.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ by: string }>)
      .value;
    for (const id of ids.filter((_, i) => i !== 1 && i !== 2))
      await client.reviews.approve(id, { by: 'ann' });
    await expect(client.reviews.approve(ids[0]!, { by: 'bob' })).rejects.toSatisfy(
      (e) => isReviewError(e) && e.code === 'alreadyDecided',
    );

    const results = await Promise.all(runs.map((r) => r.done));
    results.forEach((r, i) => {
      expect(r.status).toBe('completed');
      expect(r.status === 'completed' && r.output).toEqual(expected(`k${i}`));
    });
    const reviewedDone = await Promise.all(reviewed.map((r) => r.done));
    reviewedDone.forEach((r, i) => {
      if (i === 2) {
        // The run took the winning decision.
        expect(r.steps.find((st) => st.stepId === 'drafter')!.review).toMatchObject({ by: winner.by });
        return;
      }
      expect(r.status === 'completed' && r.output).toBe(
        i === 1 ? 'polished(edited)' : `polished(draft(r${i}))`,
      );
      expect(r.steps[0]!.review).toMatchObject({ decision: i === 1 ? 'edited' : 'approved', by: 'ann' });
    });
    expect((await client.reviews.list()).filter((p) => ids.includes(p.reviewId))).toEqual([]);
    // The trace of a reviewed run: the gate refused the draft, a human approved it.
    const spans = (await client.trace('rev-0'))!.spans.map((s) => `${s.operation} ${s.name} ${s.status}`);
    expect(spans).toEqual(
      expect.arrayContaining([
        'gate gate drafter fallback',
        'escalation escalation drafter success',
        'gate gate polisher success',
        'run run reviewed success',
      ]),
    );
    // No attempt the engine had recorded ran again (each ran exactly once); only attempts in flight
    // on A when it died ran a second time, on B, with the same idempotency key.
    for (const key of recorded) {
      if (key.startsWith('kill-')) expect(calls.get(key), `${key} was recorded, yet ran again`).toBe(1);
    }
    const twice = [...calls].filter(([, n]) => n > 1).map(([k]) => k);
    for (const key of twice) expect(recorded.has(key)).toBe(false);
    expect(twice.every((k) => callsAfterKill.includes(k))).toBe(true);
    expect([...calls.keys()].filter((k) => k.startsWith('kill-')).length).toBe(180);
  }, 60_000);

  it('shares breakers across workers: one worker opens style-checker→finisher, another fails fast', async () => {
    const b = workers[1]!;
    const c = await worker();
    // Two failing runs on B only: the gate refuses the style checker's weak output twice.
    await only(b);
    for (const i of [0, 1]) {
      const run = await client.start('styled', { topic: `s${i}` }, { runId: `style-${i}` });
      const r = await run.done;
      expect(r.status === 'fallback' && r.cause).toBe('gate');
    }
    // The verdicts reach the shared breaker object as one-way messages: it opens right after.
    await vi.waitFor(
      async () => expect((await client.breaker('style-checker→finisher'))?.value).toBe('open'),
      {
        timeout: 10_000,
        interval: 50,
      },
    );
    // On C, which never saw a failure: no call at all, an explicit breakerOpen fallback.
    await only(c);
    const callsOnC = c.lines.length;
    const run = await client.start('styled', { topic: 's2' }, { runId: 'style-2' });
    const r = await run.done;
    expect(r.status === 'fallback' && r.cause).toBe('breakerOpen');
    expect(r.status === 'fallback' && r.output).toMatch(/circuit|breaker/i);
    expect(c.lines.slice(callsOnC).filter((l) => l.includes('style-2:'))).toEqual([]);
    const spans = (await client.trace('style-2'))!.spans;
    expect(spans.find((s) => s.operation === 'breaker')).toMatchObject({ status: 'fallback' });
    expect(spans.some((s) => s.operation === 'agent')).toBe(false);
    await only(b, c);
  }, 60_000);

  it('lets a probe through a shared breaker after its cooldown, and closes it on success', async () => {
    const start = async (runId: string, strong: boolean) =>
      (await client.start('recovering', { topic: runId, strong }, { runId })).done;
    for (const id of ['mood-0', 'mood-1']) expect((await start(id, false)).status).toBe('fallback');
    const key = 'moody→closer';
    await vi.waitFor(async () => expect((await client.breaker(key))?.value).toBe('open'), {
      timeout: 10_000,
      interval: 50,
    });
    const { probeAt } = (await client.breaker(key))!;
    // Open: a strong run is refused without a call until probeAt (on a slow box it may be past it,
    // and then it is the probe itself).
    const refused = await start('mood-2', true);
    if (refused.status === 'fallback') {
      expect(refused.cause).toBe('breakerOpen');
      expect(refused.detail).toMatchObject({ status: 'breakerOpen', probeAt });
    } else {
      expect(refused.status).toBe('completed');
      expect(Date.now()).toBeGreaterThanOrEqual(probeAt!);
    }
    // The cooldown is an absolute time kept in the breaker object: past it, the next run is the probe.
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(probeAt!), { timeout: 5_000, interval: 20 });
    const probe = await start('mood-3', true);
    expect(probe.status === 'completed' && probe.output).toBe('closed(mood(mood-3))');
    await vi.waitFor(async () => expect((await client.breaker(key))?.value).toBe('closed'), {
      timeout: 10_000,
      interval: 50,
    });
  }, 60_000);

  it('fires a review timeout that fell due while no worker was up', async () => {
    const run = await client.start('expiring', { topic: 'late' }, { runId: 'expire-1' });
    const paused = await run.result;
    expect(paused.status).toBe('awaitingReview');
    const [pending] = (await client.reviews.list()).filter((p) => p.runId === 'expire-1');
    const expiresAt = pending!.expiresAt!;
    expect(expiresAt).toBeGreaterThan(0);
    // Every worker goes down.
    for (const w of workers) w.kill();
    await Promise.all(workers.map((w) => w.exited));
    balancer.upstreams = [];
    // The server, alone, keeps the timer: it fires after expiresAt and the run wants a worker again.
    await vi.waitFor(
      async () => {
        expect(Date.now()).toBeGreaterThan(expiresAt);
        const [row] = await sql(
          server.adminUrl,
          "SELECT status, retry_count FROM sys_invocation WHERE target_service_key = 'expire-1' AND target_handler_name = 'run'",
        );
        expect(row?.status).toBe('backing-off');
      },
      { timeout: 20_000, interval: 100 },
    );
    const startedAfter = Date.now();
    const fresh = await worker();
    await only(fresh);
    const r = await run.done;
    expect(startedAfter).toBeGreaterThan(expiresAt);
    expect(r.status === 'fallback' && r.cause).toBe('reviewExpired');
    expect(r.steps[0]!.review).toMatchObject({ decision: 'expired', by: null });
  }, 60_000);

  it('fails a run resumed by a worker with another version of its workflow, naming both', async () => {
    const run = await client.start('reviewed', { topic: 'v' }, { runId: 'version-1' });
    expect((await run.result).status).toBe('awaitingReview');
    const started = (await client.view('version-1'))!.version;
    for (const w of workers) w.kill();
    await Promise.all(workers.map((w) => w.exited));
    const other = await worker('v2-other');
    await only(other);
    await client.reviews.approve('version-1.drafter.1', { by: 'ann' });
    const r = await run.done;
    expect(r.status).toBe('failed');
    const reason = r.status === 'failed' ? r.reason : '';
    expect(reason).toContain(started);
    expect(reason).toContain('v2-other');
    // Another process learns the same, and exits by itself afterwards (no request left open).
    const waiter = spawn(
      process.execPath,
      ['test/fixtures/restate/await-run.mjs', BUILT, server.ingressUrl, 'version-1'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    waiter.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    const code = await new Promise<number | null>((resolve) => waiter.once('exit', resolve));
    expect(code).toBe(0);
    expect(out).toMatch(/^DONE failed .*v2-other/);
  }, 60_000);

  it('fails a run of a workflow no worker serves, saying so', async () => {
    const run = await client.start('no-such-workflow', {}, { runId: 'unknown-1' });
    const r = await run.done;
    expect(r.status).toBe('failed');
    expect(r.status === 'failed' && r.reason).toMatch(/does not serve workflow "no-such-workflow".*"report"/);
    // `result` settles too (it waits for the run's first pause or its end), for bad input as well.
    expect((await client.run('unknown-1').result).status).toBe('failed');
    const bad = await client.start('report', { topic: 42 }, { runId: 'bad-input-1' });
    const early = await bad.result;
    expect(early.status === 'failed' && early.reason).toMatch(/^input: topic: /);
  });

  it('names the URL when the server is unreachable', async () => {
    const port = await freePort();
    const lost = createRestateClient({ ingressUrl: `http://127.0.0.1:${port}` });
    const error = await lost.start('report', { topic: 'x' }).catch((e: unknown) => e);
    expect(isRestateError(error) && error.code).toBe('unreachable');
    expect((error as Error).message).toContain(`http://127.0.0.1:${port}`);
    expect(() => createRestateClient({ ingressUrl: 'localhost:8080' })).toThrow(/ingressUrl/);
  });
});
