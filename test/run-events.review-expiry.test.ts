import { describe, expect, it } from 'vitest';
import { defineAgent } from '../src/agent.js';
import { createRuntime } from '../src/runtime.js';
import type { RunEvent } from '../src/trace/events.js';
import { defineWorkflow } from '../src/workflow/define.js';
import { Draft, draft } from './helpers/agents.js';
import { settle, testClock } from './helpers/clock.js';

describe('run events: a review that expires and so ends the run', () => {
  it('reports `reviewed` (expired) once, before run.completed', async () => {
    const writer = defineAgent({ id: 'writer', output: Draft, run: async () => draft('unsure', 0.5) });
    const workflow = defineWorkflow({
      id: 'expiring',
      steps: [{ agent: writer, review: { below: 0.7, timeoutMs: 1_000, onTimeout: 'fallback' } }],
    });
    const clock = testClock();
    const runtime = createRuntime({ clock, onEscalation: () => {} });
    const run = runtime.start(workflow, {});
    const events: RunEvent[] = [];
    run.subscribe((event) => events.push(event));
    expect((await run.result).status).toBe('awaitingReview');
    clock.increment(1_000);
    await settle();
    const done = await run.done;
    expect(done).toMatchObject({ status: 'fallback', cause: 'reviewExpired' });
    const types = events.map((e) => e.type);
    expect(types.filter((t) => t === 'reviewed')).toHaveLength(1);
    expect(events.find((e) => e.type === 'reviewed')).toMatchObject({
      decision: 'expired',
      stepId: 'writer',
    });
    expect(types.indexOf('reviewed')).toBeLessThan(types.indexOf('run.completed'));
    await runtime.stop();
  });
});
