import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createService, type Service } from '../examples/http-service.js';
import { reviewedReport } from '../examples/reviewed-report.js';
import { createRuntime } from '../src/index.js';
import { settle, testClock } from './helpers/clock.js';

/** examples/http-service.ts, driven over loopback with fetch. */
let service: Service;
const notices: string[] = [];

beforeAll(async () => {
  // A simulated clock: no real timers; the mock agents answer at once.
  const runtime = createRuntime({ clock: testClock(), onEscalation: (n) => void notices.push(n.reviewId) });
  service = await createService({ runtime, port: 0 });
});
afterAll(() => service.close());

/** What the service answers, loosely: the assertions check the shapes. */
interface Reply {
  runId?: string;
  status?: string;
  result?: { status: string; output: unknown; reason?: string; steps: Array<{ stepId: string }> };
  reviews?: Array<{ reviewId: string; runId: string }>;
  outcome?: unknown;
  error?: { code: string; message: string; issues?: Array<{ path: string }>; outcome?: unknown };
}

async function call(method: string, path: string, body?: unknown, raw?: string) {
  const res = await fetch(`${service.url}${path}`, {
    method,
    ...(body !== undefined || raw !== undefined
      ? { headers: { 'content-type': 'application/json' }, body: raw ?? JSON.stringify(body) }
      : {}),
  });
  return { status: res.status, body: (await res.json()) as Reply };
}

/** Poll the run until it reaches `status`; between polls only the event loop turns. */
async function until(runId: string, status: string) {
  for (let i = 0; i < 200; i++) {
    const { body } = await call('GET', `/runs/${runId}`);
    if (body.status === status) return body;
    await settle();
  }
  throw new Error(`run ${runId} never reached ${status}`);
}

// Review ids are URL-safe: they go into a path as they are, no escaping.
const reviewPath = (id: string, action: string) => `/reviews/${id}/${action}`;

async function pausedRun(topic: string) {
  const started = await call('POST', '/runs', { topic });
  expect(started.status).toBe(202);
  const runId = started.body.runId!;
  const paused = await until(runId, 'awaitingReview');
  return { runId, paused, reviewId: paused.reviews![0]!.reviewId };
}

describe('examples/http-service', () => {
  it('listens on loopback only', () => {
    expect(service.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('a run pauses for review; a bad edit is refused (422), an edit completes it with the edited report', async () => {
    const { runId, paused, reviewId } = await pausedRun('solid-state batteries');
    expect(paused.result).toMatchObject({
      status: 'awaitingReview',
      output: '[Pending human review — confidence 62%]',
    });
    expect(reviewId).toBe(`${runId}.writer.1`);
    expect(encodeURIComponent(reviewId)).toBe(reviewId);

    const { body: listed } = await call('GET', '/reviews');
    expect(listed.reviews).toContainEqual(
      expect.objectContaining({
        reviewId,
        runId,
        stepId: 'writer',
        confidence: 0.62,
        output: { content: 'solid-state batteries: a first draft of the report.', confidence: 0.62 },
      }),
    );

    const bad = await call('POST', reviewPath(reviewId, 'edit'), { output: { content: '' }, by: 'alice' });
    expect(bad.status).toBe(422);
    expect(bad.body.error?.code).toBe('invalidEdit');
    expect(bad.body.error?.issues?.map((i) => i.path)).toEqual(
      expect.arrayContaining(['content', 'confidence']),
    );
    expect((await until(runId, 'awaitingReview')).reviews?.[0]?.reviewId).toBe(reviewId); // still pending

    const edited = {
      content: 'Solid-state batteries: safer and denser; mass production from 2027.',
      confidence: 0.9,
    };
    const ok = await call('POST', reviewPath(reviewId, 'edit'), { output: edited, by: 'alice' });
    expect(ok.status).toBe(200);
    expect(ok.body.outcome).toMatchObject({ decision: 'edited', by: 'alice', output: edited });

    const done = await until(runId, 'completed');
    expect(done.result?.output).toEqual({
      report: edited.content,
      checks: ['Claims verified against two sources.', 'Clear and concise.'],
    });
    expect(done.result?.steps.map((s) => s.stepId)).toEqual([
      'researcher',
      'fact-checker',
      'style-checker',
      'writer',
    ]);
    expect(notices).toContain(reviewId);

    // Deciding again: the first decision stands.
    const again = await call('POST', reviewPath(reviewId, 'approve'), { by: 'bob' });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'alreadyDecided', outcome: { by: 'alice' } });
  });

  it('a rejection ends the run as a fallback naming who and why', async () => {
    const { runId, reviewId } = await pausedRun('sodium-ion cells');
    const res = await call('POST', reviewPath(reviewId, 'reject'), { reason: 'unsourced', by: 'carol' });
    expect(res.status).toBe(200);
    const done = await until(runId, 'fallback');
    expect(done.result).toMatchObject({ status: 'fallback', cause: 'reviewRejected' });
    expect(done.result?.reason).toContain('unsourced');
  });

  it('refuses what it cannot take: unknown ids, bad bodies, bad input, wrong methods', async () => {
    expect((await call('GET', '/runs/nope')).status).toBe(404);
    const unknown = await call('POST', reviewPath('nope.writer.1', 'approve'), { by: 'alice' });
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'unknownReview' } } });

    const { reviewId } = await pausedRun('bad requests');
    const badJson = await call('POST', reviewPath(reviewId, 'approve'), undefined, '{"by":');
    expect(badJson).toMatchObject({ status: 400, body: { error: { code: 'badJson' } } });
    const noBy = await call('POST', reviewPath(reviewId, 'approve'), {});
    expect(noBy).toMatchObject({ status: 400, body: { error: { code: 'badBody' } } });
    const noReason = await call('POST', reviewPath(reviewId, 'reject'), { by: 'alice' });
    expect(noReason.status).toBe(400);
    const big = await call(
      'POST',
      reviewPath(reviewId, 'approve'),
      undefined,
      `"${'x'.repeat(1024 * 1024)}"`,
    );
    expect(big).toMatchObject({ status: 413, body: { error: { code: 'tooLarge' } } });
    // Streamed without a content-length: counted as it arrives.
    const chunk = new TextEncoder().encode(' '.repeat(600 * 1024));
    const streamed = await fetch(`${service.url}${reviewPath(reviewId, 'approve')}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(chunk);
          controller.enqueue(chunk);
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    // None of that decided anything.
    expect((await call('GET', '/reviews')).body.reviews?.map((r) => r.reviewId)).toContain(reviewId);

    const badInput = await call('POST', '/runs', { topic: '' });
    expect(badInput).toMatchObject({ status: 400, body: { error: { code: 'badInput' } } });
    expect(badInput.body.error?.issues).toEqual([expect.objectContaining({ path: 'topic' })]);

    const form = await fetch(`${service.url}/runs`, { method: 'POST', body: 'topic=x' });
    expect(form.status).toBe(415);
    expect((await call('DELETE', '/reviews')).status).toBe(405);
    expect((await call('GET', '/nowhere')).status).toBe(404);
  });
});

describe('close()', () => {
  it('stops the runtime and the server', async () => {
    const runtime = createRuntime({ clock: testClock(), onEscalation: () => {} });
    const own = await createService({ runtime });
    const started = await fetch(`${own.url}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ topic: 'closing' }),
    });
    expect(started.status).toBe(202);
    expect(runtime.runs()).toHaveLength(1);
    await own.close();
    expect(runtime.runs()).toEqual([]); // cancelled
    expect(() => runtime.start(reviewedReport, { topic: 'late' })).toThrow(/stopped/);
    await expect(fetch(`${own.url}/reviews`)).rejects.toThrow();
  });
});
