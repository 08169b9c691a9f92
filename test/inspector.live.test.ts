import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { InspectionEvent } from 'xstate';
import { defineAgent } from '../src/agent.js';
import { type InspectorRelay, startInspectorRelay } from '../src/inspect/relay.node.js';
import { toStatelyMessage } from '../src/inspect/stately-events.js';
import { createRuntime } from '../src/runtime.js';
import { defineWorkflow } from '../src/workflow/define.js';
import { Draft, draft } from './helpers/agents.js';
import { testClock } from './helpers/clock.js';

/**
 * A viewer that connects late sees every run still in flight, however long ago it started: the
 * relay keeps each live actor's creation and latest snapshot beside its buffer of recent messages
 * (which alone forgets a long run's start). Real sockets on loopback; every wait is for a message
 * or a pong, never a sleep.
 */
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function client(url: string): Promise<{ ws: WebSocket; received: string[] }> {
  const ws = new WebSocket(url);
  const received: string[] = [];
  ws.on('message', (data) => received.push(String(data)));
  cleanup.push(() => ws.terminate());
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, received };
}
/** The relay handles a connection's frames in order, and answers a ping after what it sent before. */
const handled = (ws: WebSocket) =>
  new Promise<void>((resolve) => {
    ws.once('pong', () => resolve());
    ws.ping();
  });

/** The Stately messages of real runs: one waiting for a human, then many short ones. */
async function messagesOfRuns(): Promise<string[]> {
  const messages: string[] = [];
  const observer = (event: InspectionEvent) => {
    const message = toStatelyMessage(event);
    if (message) messages.push(message);
  };
  const unsure = defineAgent({ id: 'unsure', output: Draft, run: async () => draft('maybe', 0.5) });
  const quick = defineAgent({ id: 'quick', output: Draft, run: async () => draft('done', 0.95) });
  const waiting = defineWorkflow({ id: 'waiting', steps: [{ agent: unsure, review: { below: 0.7 } }] });
  const short = defineWorkflow({ id: 'short', steps: [quick] });
  const runtime = createRuntime({ clock: testClock(), observers: [observer], onEscalation: () => {} });
  expect((await runtime.start(waiting, {}, { runId: 'long' }).result).status).toBe('awaitingReview');
  for (let i = 0; i < 20; i++) await runtime.start(short, {}).done;
  return messages; // the runtime is left running: the waiting run is still in flight
}

const parse = (m: string) =>
  JSON.parse(m) as { type: string; name?: string; sessionId: string; rootId: string };

describe('the relay, for a viewer that connects late', () => {
  it('replays every run in flight from its start, and no finished run beyond the recent messages', async () => {
    const messages = await messagesOfRuns();
    const relay: InspectorRelay = await startInspectorRelay({ replay: 20 });
    cleanup.push(() => relay.close());
    const publisher = await client(relay.publishUrl);
    for (const message of messages) publisher.ws.send(message);
    await handled(publisher.ws);
    // The waiting run's creation is long out of the 20 recent messages.
    const root = messages.map(parse).find((m) => m.type === '@xstate.actor' && m.name === 'waiting')!;
    expect(
      messages
        .slice(-20)
        .map(parse)
        .some((m) => m.sessionId === root.sessionId),
    ).toBe(false);

    const viewer = await client(relay.url);
    await handled(viewer.ws);
    const seen = viewer.received.map(parse);
    const created = seen.filter((m) => m.type === '@xstate.actor');
    // The waiting run: its workflow actor, then every actor of it still alive, each with its state.
    expect(created[0]).toMatchObject({ name: 'waiting', sessionId: root.sessionId });
    const live = created.filter((m) => m.rootId === root.sessionId);
    expect(live.length).toBeGreaterThan(1); // the workflow and its escalation, at least
    for (const actor of live)
      expect(seen.some((m) => m.type === '@xstate.snapshot' && m.sessionId === actor.sessionId)).toBe(true);
    // Finished runs are not replayed from the live state: at most what the recent buffer holds.
    const shortRoots = new Set(created.filter((m) => m.name === 'short').map((m) => m.sessionId));
    const recentShortRoots = messages
      .slice(-20)
      .map(parse)
      .filter((m) => m.type === '@xstate.actor' && m.name === 'short')
      .map((m) => m.sessionId);
    expect([...shortRoots].every((id) => recentShortRoots.includes(id))).toBe(true);
    expect(shortRoots.size).toBeLessThan(20); // not the 20 finished runs
    expect(relay.stats().liveActors).toBe(live.length);
  });
});
