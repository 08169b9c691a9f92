import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { defineAgent } from '../src/agent.js';
import { createRuntime } from '../src/runtime.js';
import { defineWorkflow } from '../src/workflow/define.js';
import { draft } from './helpers/agents.js';
import { testClock } from './helpers/clock.js';

/**
 * `inspect: 'browser'` keeps the whole of a long run for an inspector window that connects late
 * (the hosted inspector page takes a while to load). With @statelyai/inspect's default of 200
 * deferred messages, a 12-step run lost its start: the actors' creation, so the inspector could not
 * draw it.
 */
afterEach(() => {
  vi.unstubAllGlobals();
});

const Draft = z.object({ content: z.string(), confidence: z.number() });
const steps = Array.from({ length: 40 }, (_, i) =>
  defineAgent({ id: `agent-${i + 1}`, output: Draft, run: async () => draft(`step ${i + 1}`, 0.9) }),
);
const forty = defineWorkflow({ id: 'forty', deadlineMs: 60_000, maxSteps: 50, steps });

describe("inspect: 'browser' with an inspector window that connects late", () => {
  it('replays a 40-step run from its first message (over 200 messages)', async () => {
    const posted: Array<{ type: string; [k: string]: unknown }> = [];
    const listeners: Array<(e: { data: unknown }) => void> = [];
    vi.stubGlobal('window', {
      open: () => ({ postMessage: (m: { type: string }) => posted.push(m) }),
      addEventListener: (type: string, fn: (e: { data: unknown }) => void) => {
        if (type === 'message') listeners.push(fn);
      },
    });
    const runtime = createRuntime({ inspect: 'browser', clock: testClock() });
    const run = runtime.start(forty, {});
    expect((await run.done).status).toBe('completed');
    await runtime.inspector?.ready; // the inspector is loaded on demand; events wait for it
    expect(posted).toEqual([]);

    for (const fn of listeners) fn({ data: { type: '@statelyai.connected' } });
    expect(posted.length).toBeGreaterThan(200); // more than the package's default would keep
    // The run's start is there: the workflow actor's creation first, then every agent's.
    expect(posted[0]).toMatchObject({ type: '@xstate.actor' });
    const created = posted.filter((m) => m.type === '@xstate.actor').map((m) => JSON.stringify(m));
    for (let i = 1; i <= 40; i++) expect(created.some((m) => m.includes(`agent:agent-${i}`))).toBe(true);
    await runtime.stop();
  });
});
