import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { capText, describeError, MAX_TEXT } from '../machines/untrusted.js';
import { defineAgent } from '../src/agent.js';
import { createReviews } from '../src/review/reviews.js';
import { createRuntime } from '../src/runtime.js';
import { memoryBackend } from '../src/store/memory.js';
import { recordStore } from '../src/store/record-store.js';
import { defineWorkflow } from '../src/workflow/define.js';
import { Draft } from './helpers/agents.js';
import { settle, testClock } from './helpers/clock.js';

const TEN_MB = 10 * 1024 * 1024;

describe('untrusted text is capped and escaped, with the cut recorded', () => {
  it('cuts long text to a few KB and says how much was cut', () => {
    const text = capText('x'.repeat(TEN_MB));
    expect(text.length).toBeLessThan(MAX_TEXT + 64);
    expect(text).toMatch(/…\[cut 10,481,664 characters\]$/);
    expect(capText('short')).toBe('short');
  });

  it('escapes control characters (terminal escapes, NUL, bidi overrides), keeps tab and newline', () => {
    expect(capText('red \u001b[31m x\u0000y\u202ez\tw\nv')).toBe('red \\u001b[31m x\\u0000y\\u202ez\tw\nv');
  });

  it('never cuts a surrogate pair in half', () => {
    const text = capText(`${'a'.repeat(9)}😀tail`, 10);
    expect(text.startsWith('a'.repeat(9))).toBe(true);
    expect(text).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });

  it('describeError caps what any thrown value says', () => {
    const { name, message } = describeError(
      Object.assign(new Error('m'.repeat(TEN_MB)), { name: 'N'.repeat(1000) }),
    );
    expect(message.length).toBeLessThan(MAX_TEXT + 64);
    expect(name.length).toBeLessThan(400);
  });

  it('a 10 MB error message does not become a 10 MB run', async () => {
    const clock = testClock();
    const agent = defineAgent({
      id: 'loud',
      output: Draft,
      limits: { maxIterations: 2, attemptTimeoutMs: 1000 },
      retry: { initialDelayMs: 10, maxDelayMs: 10 },
      run: async () => {
        throw new Error(`\u001b[2J${'e'.repeat(TEN_MB)}`);
      },
    });
    const workflow = defineWorkflow({ id: 'loud', input: z.object({}), output: z.unknown(), steps: [agent] });
    const backend = memoryBackend();
    const store = recordStore(backend);
    const runtime = createRuntime({ clock, store });
    const run = runtime.start(workflow, {}, { runId: 'loud-1' });
    for (let i = 0; i < 10; i++) await clock.advance(10);
    const done = await run.done;
    expect(done.status).toBe('fallback');
    const reason = (done as { reason: string }).reason;
    expect(reason.length).toBeLessThan(2 * MAX_TEXT);
    expect(reason).not.toContain('\u001b');
    await runtime.stop();
    expect((await store.load('loud-1')).meta.status).toBe('fallback');
    const bytes = backend.runs.get('loud-1')!.reduce((n, line) => n + line.length, 0);
    expect(bytes).toBeLessThan(100_000);
  });

  it('a reviewer’s name and reason are capped and escaped', async () => {
    const clock = testClock();
    const reviews = createReviews({ clock, write: () => {} });
    reviews.open({
      reviewId: 'rev-1',
      runId: 'run-1',
      stepId: 'write',
      agentId: 'writer',
      output: { content: 'a', confidence: 0.5 },
      confidence: 0.5,
      reason: 'low',
      trigger: 'lowConfidence',
    });
    await settle();
    const outcome = await reviews.reject('rev-1', `no\u0007${'r'.repeat(TEN_MB)}`, {
      by: `eve\u001b${'n'.repeat(100_000)}`,
    });
    expect(outcome.by?.length).toBeLessThan(400);
    expect(outcome.by?.startsWith('eve\\u001b')).toBe(true);
    expect(outcome.reason.length).toBeLessThan(MAX_TEXT + 64);
    expect(outcome.reason).toMatch(/^no\\u0007r+…\[cut [\d,]+ characters\]$/);
  });
});
