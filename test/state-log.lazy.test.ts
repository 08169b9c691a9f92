import { describe, expect, it, vi } from 'vitest';
import { assign, createActor, setup } from 'xstate';
import { z } from 'zod';
import { createBlackboard } from '../src/blackboard.js';
import { UNREADABLE } from '../src/log/freeze.js';
import { logInspector } from '../src/log/inspect.js';
import { createStateLog, record } from '../src/log/state-log.js';

/** An object whose one field counts how often it is read. */
const probe = () => {
  const counter = { reads: 0 };
  const value = {
    get n() {
      counter.reads++;
      return 1;
    },
  };
  return { counter, value };
};

describe('state log: entries are projected when read', () => {
  it('reads a recorded state only when an entry is read, once, and gives the same frozen entry again', () => {
    const log = createStateLog();
    const { counter, value } = probe();
    record(log, { actorId: 'a', event: { type: 'e' }, state: { value } });
    expect(log.size).toBe(1);
    expect(counter.reads).toBe(0);
    const [entry] = log.entries();
    expect(counter.reads).toBe(1);
    expect(entry!.state).toEqual({ value: { n: 1 } });
    expect(Object.isFrozen(entry!.state)).toBe(true);
    expect(log.entries()[0]).toBe(entry);
    expect(log.current('a')).toBe(entry);
    expect(log.at(0, 'a')).toBe(entry);
    expect(counter.reads).toBe(1);
  });

  it('logs an actor’s snapshots without reading its context until the log is read', () => {
    const { counter, value } = probe();
    const machine = setup({
      types: { context: {} as { count: number; probe: { n: number } }, events: {} as { type: 'inc' } },
    }).createMachine({
      context: { count: 0, probe: value },
      on: { inc: { actions: assign({ count: ({ context }) => context.count + 1 }) } },
    });
    const log = createStateLog();
    const actor = createActor(machine, { inspect: logInspector(log) }).start();
    for (let i = 0; i < 5; i++) actor.send({ type: 'inc' });
    expect(log.size).toBe(6);
    expect(counter.reads).toBe(0);
    const states = log.history().map((e) => (e.state as { context: { count: number } }).context.count);
    expect(states).toEqual([0, 1, 2, 3, 4, 5]);
    // The probe is the same object in every snapshot: projected once, shared by every entry.
    expect(counter.reads).toBe(1);
    const entries = log.history();
    const probes = entries.map((e) => (e.state as { context: { probe: unknown } }).context.probe);
    expect(new Set(probes).size).toBe(1);
    actor.stop();
  });

  it('hands a listener the frozen entry at once, the same one later reads return', () => {
    const log = createStateLog();
    const { counter, value } = probe();
    const seen: unknown[] = [];
    log.subscribe((entry) => seen.push(entry));
    record(log, { actorId: 'a', event: 'e', state: { value } });
    expect(counter.reads).toBe(1);
    expect(seen).toHaveLength(1);
    expect(Object.isFrozen(seen[0])).toBe(true);
    expect(log.current()).toBe(seen[0]);
  });

  it('projects an actor’s waiting entries once a few have piled up, so live values are not kept', () => {
    const log = createStateLog();
    const probes = Array.from({ length: 40 }, probe);
    for (const p of probes) record(log, { actorId: 'a', event: 'e', state: { value: p.value } });
    const read = probes.filter((p) => p.counter.reads > 0).length;
    // Not all of them (reads are deferred), but all but a few (what waits is bounded).
    expect(read).toBeGreaterThan(0);
    expect(read).toBeGreaterThanOrEqual(40 - 16);
    expect(read).toBeLessThan(40);
    expect(log.history('a')).toHaveLength(40);
  });

  it('turns a hostile value into UNREADABLE when read, reports it, and keeps every entry', () => {
    const onUnreadable = vi.fn();
    const log = createStateLog({ onUnreadable });
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('trap');
        },
      },
    );
    record(log, { actorId: 'a', event: { type: 'x', hostile }, state: { ok: 1, hostile } });
    record(log, { actorId: 'a', event: 'y', state: { ok: 2 } });
    expect(onUnreadable).not.toHaveBeenCalled();
    const entries = log.entries();
    expect(entries.map((e) => e.seq)).toEqual([1, 2]);
    expect(entries[0]!.event).toEqual({ type: 'x', hostile: UNREADABLE });
    expect(entries[0]!.state).toEqual({ ok: 1, hostile: UNREADABLE });
    expect(onUnreadable).toHaveBeenCalled();
    expect(JSON.stringify(entries)).toContain(UNREADABLE);
  });

  it('checks versions when recording, as append does', () => {
    const log = createStateLog();
    record(log, { actorId: 'board', version: 2, event: 'e', state: {} });
    expect(() => record(log, { actorId: 'board', version: 1, event: 'e', state: {} })).toThrow(RangeError);
    expect(() => record(log, { actorId: '', event: 'e', state: {} })).toThrow(TypeError);
    expect(log.size).toBe(1);
  });
});

describe('blackboard: the log keeps a written value as it was written', () => {
  it('records the write event before the caller can change the value', () => {
    const board = createBlackboard({
      schema: z.object({ notes: z.array(z.object({ text: z.string() })) }).partial(),
      reducers: { notes: 'append' },
    });
    const value = { text: 'first' };
    expect(board.write({ key: 'notes', value, agentId: 'a' }).ok).toBe(true);
    value.text = 'changed later';
    const event = board.history().at(-1)!.event as { value: { text: string } };
    expect(event.value).toEqual({ text: 'first' });
    expect(board.read().state.notes).toEqual([{ text: 'first' }]);
  });
});
