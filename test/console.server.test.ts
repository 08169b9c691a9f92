import { afterEach, describe, expect, it } from 'vitest';
import { isOptionsError } from '../src/errors.js';
import { createRuntime, type Runtime } from '../src/runtime.js';
import { consoleFixture } from './console-fixture.js';
import { draft } from './helpers/agents.js';

/** The console's HTTP server and JSON API, over loopback, without a browser. */

let runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.map((r) => r.stop()));
  runtimes = [];
});

async function setup() {
  const f = consoleFixture({ console: true });
  runtimes.push(f.runtime);
  const { url } = await f.runtime.console!.ready;
  const api = async (path: string, init?: RequestInit & { json?: unknown }) => {
    const res = await fetch(new URL(`api/${path}`, url), {
      ...init,
      ...(init?.json !== undefined
        ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(init.json) }
        : {}),
    });
    // biome-ignore lint/suspicious/noExplicitAny: JSON answers, asserted field by field
    return { status: res.status, body: (await res.json()) as any };
  };
  return { ...f, url, api };
}

describe('the console server', () => {
  it('listens on 127.0.0.1 at a free port, with a random token in the URL', async () => {
    const { url } = await setup();
    const other = await setup();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{32}\/$/);
    expect(other.url).not.toBe(url);
    expect(new URL(other.url).pathname).not.toBe(new URL(url).pathname);
  });

  it('answers 401 without the token, or with a wrong one, and says nothing about the runtime', async () => {
    const { url, start } = await setup();
    start('secret-run-id');
    const { origin, pathname } = new URL(url);
    // The token with its last character changed (to one it is not: a random token may end in x).
    const last = pathname.at(-2);
    const wrong = `${pathname.slice(0, -2)}${last === 'x' ? 'y' : 'x'}/`;
    for (const path of [
      '/',
      '/api/runs',
      '/index.html',
      `${wrong}api/runs`,
      `${wrong}`,
      '/api/runs/secret-run-id',
    ]) {
      const res = await fetch(origin + path);
      const text = await res.text();
      expect(res.status, path).toBe(401);
      expect(text).not.toContain('secret-run-id');
      expect(text).not.toContain('report');
    }
    expect((await fetch(new URL('api/runs', url))).status).toBe(200);
  });

  it('tells the browser the page may reach its own origin only (Content-Security-Policy), and no referrer', async () => {
    const { url } = await setup();
    const res = await fetch(url);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('lists runs as they start and move, newest first, a page at a time, filterable', async () => {
    const { api, start, release } = await setup();
    for (let i = 1; i <= 7; i++) start(`run-${i}`);
    let page = (await api('runs?limit=3')).body;
    expect(page.total).toBe(7);
    expect(page.runs.map((r: { id: string }) => r.id)).toEqual(['run-7', 'run-6', 'run-5']);
    expect(page.runs[0]).toMatchObject({
      workflowId: 'report',
      status: 'running',
      step: 'researcher · calling',
    });
    page = (await api('runs?limit=3&offset=6')).body;
    expect(page.runs.map((r: { id: string }) => r.id)).toEqual(['run-1']);

    await release('run-1', 'researcher');
    const run1 = (await api('runs?q=run-1')).body.runs[0];
    expect(run1.step).toBe('checks · fact-checker calling, style-checker calling');
    const running = (await api('runs?status=running&limit=500')).body;
    expect(running.total).toBe(7);
    expect(running.counts).toEqual({ running: 7 });
  });

  it('gives a run its statechart (steps, parallel branches, guardrail states), active states, trace and log', async () => {
    const { api, start, release } = await setup();
    start('run-1');
    await release('run-1', 'researcher');
    const { status, body } = await api('runs/run-1');
    expect(status).toBe(200);
    const ids = body.graph.nodes.map((n: { id: string }) => n.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        'workflow.running.researcher',
        'workflow.running.checks.branches',
        'workflow.running.checks.branches.fact-checker',
        'workflow.running.checks.branches.style-checker',
        'workflow.running.writer.reviewing',
        'workflow.running.researcher.calling~agent.running.backingOff',
      ]),
    );
    const node = (id: string) => body.graph.nodes.find((n: { id: string }) => n.id === id);
    expect(node('workflow.running.checks.branches').type).toBe('parallel');
    expect(node('workflow.running.researcher.admitting').guardrail).toBe('breaker');
    expect(node('workflow.running.writer.gating').guardrail).toBe('gate');
    expect(node('workflow.running.writer.reviewing').guardrail).toBe('review');
    expect(node('workflow.running.researcher.calling~agent.running.attempting').guardrail).toBe('attempt');
    const labels = body.graph.edges.map((e: { label: string }) => e.label);
    expect(labels).toEqual(
      expect.arrayContaining([
        'breaker open',
        'gate blocked',
        'needs review',
        'retry',
        'admitted',
        'passed · written',
      ]),
    );
    for (const e of body.graph.edges) {
      expect(ids).toContain(e.source);
      expect(ids).toContain(e.target);
    }
    expect(body.active).toEqual(
      expect.arrayContaining([
        'workflow.running.checks.branches.fact-checker.calling',
        'workflow.running.checks.branches.fact-checker.calling~agent.running.attempting',
      ]),
    );
    expect(body.active).not.toContain('workflow.running.researcher');
    expect(body.spans.some((s: { name: string }) => s.name.includes('researcher'))).toBe(true);

    // The log scrubber: the researcher's write is an entry whose diff adds its output to the shared state.
    const writes = [];
    for (const line of body.log) {
      const entry = (await api(`runs/run-1/log/${line.seq}`)).body;
      if (entry.diff.some((c: { path: string[] }) => c.path[0] === 'researcher')) writes.push(entry);
    }
    expect(writes[0].diff).toContainEqual({
      op: 'add',
      path: ['researcher'],
      to: draft('researcher of run-1', 0.9),
    });
    expect(writes[0].state).toEqual({ researcher: draft('researcher of run-1', 0.9) });
  });

  it('says not found for an unknown run, log entry or route', async () => {
    const { api, start } = await setup();
    start('run-1');
    expect(await api('runs/nope')).toMatchObject({ status: 404, body: { error: 'notFound' } });
    expect((await api('runs/run-1/log/999999')).status).toBe(404);
    expect((await api('elsewhere')).status).toBe(404);
  });

  it('takes review decisions through runtime.reviews: an invalid edit is refused with the schema issues and the review stays open; approving completes the run', async () => {
    const { api, start, release, runtime } = await setup();
    const run = start('run-1');
    await release('run-1', 'researcher');
    await release('run-1', 'fact-checker');
    await release('run-1', 'style-checker');
    await release('run-1', 'writer', draft('unsure report', 0.5));
    expect((await run.result).status).toBe('awaitingReview');
    const [review] = (await api('reviews')).body;
    expect(review).toMatchObject({ runId: 'run-1', agentId: 'writer', output: draft('unsure report', 0.5) });
    expect(review.schema.properties.confidence).toMatchObject({ type: 'number', maximum: 1 });
    expect((await api('runs?q=run-1')).body.runs[0].status).toBe('awaitingReview');

    const bad = await api(`reviews/${encodeURIComponent(review.reviewId)}/edit`, {
      json: { by: 'ana', output: { content: 'x', confidence: 7 } },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error).toBe('invalidEdit');
    expect(bad.body.issues).toEqual([expect.objectContaining({ path: 'confidence' })]);
    expect(runtime.reviews.list().map((r) => r.reviewId)).toEqual([review.reviewId]);

    expect((await api(`reviews/${encodeURIComponent(review.reviewId)}/approve`, { json: {} })).status).toBe(
      400,
    ); // no name
    const ok = await api(`reviews/${review.reviewId}/approve`, { json: { by: 'ana' } });
    expect(ok).toMatchObject({ status: 200, body: { outcome: { decision: 'approved', by: 'ana' } } });
    expect((await run.done).status).toBe('completed');
    expect((await api(`reviews/${review.reviewId}/approve`, { json: { by: 'bo' } })).status).toBe(409);
    expect((await api('runs?q=run-1')).body.runs[0].status).toBe('completed');
    // The finished run's view: its final state lit, and the path it took through the statechart.
    const detail = (await api('runs/run-1')).body;
    expect(detail.active).toEqual(['workflow', 'workflow.completed']);
    expect(detail.visited).toEqual(
      expect.arrayContaining([
        'workflow.running.researcher.calling',
        'workflow.running.checks.branches.style-checker.gating',
        'workflow.running.writer.reviewing',
        'workflow.running.finishing',
      ]),
    );
    expect(detail.visited).not.toContain('workflow.fallback');
  });

  it('rejects with the reason and the reviewer name, ending the run as runtime.reviews does', async () => {
    const { api, start, release } = await setup();
    const run = start('run-1');
    for (const step of ['researcher', 'fact-checker', 'style-checker']) await release('run-1', step);
    await release('run-1', 'writer', draft('unsure report', 0.5));
    await run.result;
    const [review] = (await api('reviews')).body;
    const res = await api(`reviews/${review.reviewId}/reject`, { json: { by: 'ana', reason: 'off topic' } });
    expect(res.body.outcome).toMatchObject({ decision: 'rejected', by: 'ana', reason: 'off topic' });
    expect((await run.done).status).toBe('fallback');
  });

  it('shows the breakers: opened by three failed calls, with the next probe time; later runs fail fast', async () => {
    const { api, start, release, clock } = await setup();
    expect((await api('breakers')).body).toEqual([]);
    for (const id of ['run-1', 'run-2', 'run-3']) {
      const run = start(id);
      await release(id, 'researcher', { content: 42 }); // not a Draft: the call fails validation
      expect((await run.done).status).toBe('fallback');
    }
    const [breaker] = (await api('breakers')).body;
    expect(breaker).toMatchObject({ state: 'open', failures: 3, opens: 1, probeAt: clock.now() + 60_000 });
    expect(breaker.key).toMatch(/researcher/);
    const fast = start('run-4');
    expect(await fast.done).toMatchObject({ status: 'fallback', cause: 'breakerOpen' });
    expect((await api('runs?q=run-4')).body.runs[0]).toMatchObject({ status: 'fallback' });
  });

  it('cancels a run', async () => {
    const { api, start } = await setup();
    const run = start('run-1');
    const res = await api('runs/run-1/cancel', { json: { by: 'ana' } });
    expect(res.status).toBe(200);
    expect(await run.done).toMatchObject({ status: 'cancelled', reason: 'cancelled in the console by ana' });
    expect((await api('runs/run-1/cancel', { json: {} })).status).toBe(409);
  });

  it('bounds and checks request bodies', async () => {
    const { url, api, start } = await setup();
    start('run-1');
    const post = (body: string, type = 'application/json') =>
      fetch(new URL('api/runs/run-1/cancel', url), {
        method: 'POST',
        headers: { 'content-type': type },
        body,
      });
    expect((await post(JSON.stringify({ reason: 'x'.repeat(300 * 1024) }))).status).toBe(413);
    expect((await post('{"reason":')).status).toBe(400);
    expect((await post('reason=x', 'application/x-www-form-urlencoded')).status).toBe(415);
    expect((await api('runs/run-1/cancel', { json: { reason: 'x', extra: 1 } })).status).toBe(400);
    expect((await api('runs?q=run-1')).body.runs[0].status).toBe('running');
  });

  it('redirects the token without its trailing slash to the page', async () => {
    const { url } = await setup();
    const res = await fetch(url.slice(0, -1), { redirect: 'manual' });
    expect(res.status).toBe(308);
    expect(res.headers.get('location')).toBe(new URL(url).pathname);
  });

  it('says why it could not start (a port in use), and the runtime still runs', async () => {
    const { url } = await setup();
    const port = Number(new URL(url).port);
    const f = consoleFixture({ console: { port } });
    runtimes.push(f.runtime);
    await expect(f.runtime.console!.ready).rejects.toThrow(/EADDRINUSE/);
    const run = f.start('run-1');
    await f.release('run-1', 'researcher');
    expect(f.runtime.runs().map((r) => r.id)).toEqual(['run-1']);
    run.cancel();
  });

  it('stops with the runtime', async () => {
    const { url, runtime } = await setup();
    await runtime.stop();
    await expect(fetch(new URL('api/runs', url))).rejects.toThrow();
  });

  it('refuses bad console options at definition time, naming the field and value', () => {
    const error = (() => {
      try {
        createRuntime({ console: { port: 70_000 } });
      } catch (e) {
        return e;
      }
    })();
    expect(isOptionsError(error)).toBe(true);
    expect(String(error)).toMatch(/console/);
    expect(String(error)).toMatch(/70000/);
  });
});
