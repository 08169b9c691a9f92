import { describe, expect, it } from 'vitest';
import { type AnyActorRef, assign, createActor, fromPromise, setup } from 'xstate';
import { logInspector } from '../src/log/inspect.js';
import type { LogEntry } from '../src/log/state-log.js';
import { createStateLog } from '../src/log/state-log.js';
import { memoryStore } from '../src/store/memory.js';
import { timeline } from '../src/store/replay.js';
import { testClock } from './helpers/clock.js';
import { entry, newRun } from './helpers/store-contract.js';

const log: LogEntry[] = [
  entry(1, 'wf', { value: 'a', n: 0 }),
  entry(2, 'agent', { value: 'x' }),
  entry(3, 'wf', { value: 'b', n: 1 }),
  entry(4, 'agent', { value: 'y' }),
  entry(5, 'wf', { value: 'c', n: 2 }),
];

describe('timeline: stepping through a loaded log', () => {
  it('follows one actor: its states in order, and each as it was at any seq', () => {
    const t = timeline(log, 'wf');
    expect(t.length).toBe(3);
    expect(t.states()).toEqual([
      { value: 'a', n: 0 },
      { value: 'b', n: 1 },
      { value: 'c', n: 2 },
    ]);
    expect(t.at(0)).toBeUndefined();
    expect(t.at(1)?.state).toEqual({ value: 'a', n: 0 });
    expect(t.at(2)?.state).toEqual({ value: 'a', n: 0 }); // seq 2 is the agent's: wf was still at a
    expect(t.at(4)?.seq).toBe(3);
    expect(t.at(99)?.seq).toBe(5);
    expect(t.entry(3)?.seq).toBe(3);
    expect(t.entry(2)).toBeUndefined();
    expect(t.atTime(1003.5)?.seq).toBe(3);
    expect(t.atTime(0)).toBeUndefined();
  });

  it('over all actors: the whole system as it was at a seq', () => {
    const t = timeline(log);
    expect(t.actors()).toEqual(['wf', 'agent']);
    expect(Object.fromEntries(t.world(3))).toEqual({ wf: { value: 'b', n: 1 }, agent: { value: 'x' } });
    expect(Object.fromEntries(t.world(0))).toEqual({});
    expect(() => t.diff(1, 5)).toThrow(/one actor; this one has wf, agent/);
  });

  it('a cursor steps forward and back, and stops at the ends', () => {
    const c = timeline(log, 'wf').cursor();
    expect(c.entry?.seq).toBe(1);
    expect(c.prev()).toBeUndefined();
    expect(c.index).toBe(0);
    expect(c.next()?.seq).toBe(3);
    expect(c.next()?.seq).toBe(5);
    expect(c.next()).toBeUndefined();
    expect(c.entry?.seq).toBe(5);
    expect(c.prev()?.seq).toBe(3);
    expect(c.seek(4)?.seq).toBe(3);
    expect(c.seek(0)).toBeUndefined();
    expect(c.index).toBe(0);
    expect(c.last()?.seq).toBe(5);
    expect(c.first()?.seq).toBe(1);
    expect(timeline(log, 'wf').cursor(4).entry?.seq).toBe(3);
    expect(timeline([], 'wf').cursor().entry).toBeUndefined();
  });

  it('diffs an actor between two points', () => {
    expect(timeline(log, 'wf').diff(1, 5)).toEqual([
      { op: 'replace', path: ['value'], from: 'a', to: 'c' },
      { op: 'replace', path: ['n'], from: 0, to: 2 },
    ]);
  });

  it('refuses entries out of seq order', () => {
    expect(() => timeline([log[1]!, log[0]!])).toThrow(
      'timeline: seq 1 after seq 2: entries must be in seq order',
    );
  });
});

describe('replay: a finished run from the store, re-driven without calling the agent', () => {
  // A small workflow: call an agent, wait a cooldown, finish with its answer.
  const machine = setup({
    types: { context: {} as { answer: string | null } },
    actors: { agent: fromPromise<string>(async () => 'unused') },
  }).createMachine({
    id: 'wf',
    context: { answer: null },
    initial: 'calling',
    states: {
      calling: {
        invoke: {
          src: 'agent',
          onDone: { target: 'cooling', actions: assign({ answer: ({ event }) => event.output }) },
        },
      },
      cooling: { after: { 500: 'done' } },
      done: { type: 'final' },
    },
  });

  it('loads the log, steps through it, and the re-driven actor passes through the same states', async () => {
    const clock = testClock();
    const stateLog = createStateLog({ clock });
    let calls = 0;
    const live = machine.provide({
      actors: {
        agent: fromPromise(async () => {
          calls++;
          return 'forty-two';
        }),
      },
    });
    const actor: AnyActorRef = createActor(live, {
      clock,
      inspect: logInspector(stateLog, { include: (ref) => ref === actor }),
    });
    actor.start();
    await clock.advance(0);
    await clock.advance(500);
    expect(actor.getSnapshot().status).toBe('done');
    expect(calls).toBe(1);

    const store = memoryStore();
    await store.create(newRun('run-1', { workflowId: 'wf' }));
    await store.finish('run-1', {
      status: 'completed',
      result: { answer: 'forty-two' },
      at: 500,
      entries: stateLog.entries(),
    });
    const run = await store.load('run-1');

    const t = timeline(run.entries, run.entries[0]!.actorId);
    const values = t.states().map((s) => (s as { value: string }).value);
    expect(values).toEqual(['calling', 'cooling', 'done']);
    expect(t.events().map((e) => (e as { type: string }).type)).toEqual([
      expect.stringMatching(/^xstate\.done\.actor\./),
      expect.stringMatching(/^xstate\.after\.500\./),
    ]);

    // Re-drive: the agent is a stub that never settles, and the logged events stand in for it.
    const replayed = createActor(
      machine.provide({ actors: { agent: fromPromise(() => new Promise<string>(() => {})) } }),
    );
    const seen: string[] = [];
    replayed.subscribe((s) => seen.push(String(s.value)));
    replayed.start();
    for (const event of t.events()) replayed.send(event as { type: string });
    expect([String(replayed.getSnapshot().value), ...seen]).toEqual(['done', 'calling', 'cooling', 'done']);
    expect(replayed.getSnapshot().context).toEqual({ answer: 'forty-two' });
    expect(calls).toBe(1);
  });
});
