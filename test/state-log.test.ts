import { describe, expect, it, vi } from 'vitest';
import { assign, createActor, fromPromise, SimulatedClock, setup } from 'xstate';
import { isOptionsError } from '../src/errors.js';
import { diffValues } from '../src/log/diff.js';
import { freezeForLog } from '../src/log/freeze.js';
import { logInspector, type SnapshotEntry } from '../src/log/inspect.js';
import { createStateLog } from '../src/log/state-log.js';
import { settle } from './helpers/clock.js';

const fixedClock = (start = 0) => {
  let t = start;
  return { now: () => t, tick: (ms: number) => (t += ms) };
};

describe('state log: append and read', () => {
  it('numbers entries, stamps them from the clock, and versions each actor on its own', () => {
    const clock = fixedClock(1_000);
    const log = createStateLog({ clock });
    const a0 = log.append({ actorId: 'researcher', event: { type: 'start' }, state: { step: 0 } });
    clock.tick(5);
    const b0 = log.append({
      actorId: 'breaker',
      event: { type: 'ok' },
      state: { value: 'closed' },
      agentId: 'researcher',
    });
    const a1 = log.append({ actorId: 'researcher', event: { type: 'next' }, state: { step: 1 }, at: 42 });
    expect([a0.seq, b0.seq, a1.seq]).toEqual([1, 2, 3]);
    expect([a0.version, b0.version, a1.version]).toEqual([0, 0, 1]);
    expect([a0.at, b0.at, a1.at]).toEqual([1_000, 1_005, 42]);
    expect(b0.agentId).toBe('researcher');
    expect('agentId' in a0).toBe(false);
    expect(log.size).toBe(3);
    expect(log.actors()).toEqual(['researcher', 'breaker']);
    expect(log.entries().map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(log.history('researcher')).toEqual([a0, a1]);
    expect(log.current()).toBe(a1);
    expect(log.current('breaker')).toBe(b0);
    expect(log.current('nobody')).toBeUndefined();
  });

  it('finds the first entry of a version; explicit versions may repeat but never go back', () => {
    const log = createStateLog();
    log.append({ actorId: 'board', version: 0, event: 'init', state: { n: 0 } });
    const v1 = log.append({ actorId: 'board', version: 1, event: 'w1', state: { n: 1 } });
    log.append({ actorId: 'board', version: 1, event: 'refused', state: { n: 1 } });
    log.append({ actorId: 'board', version: 4, event: 'w2', state: { n: 4 } });
    expect(log.at(1)).toBe(v1);
    expect(log.at(1, 'board')).toBe(v1);
    expect(log.at(2)).toBeUndefined();
    expect(log.at(4)?.event).toBe('w2');
    expect(() => log.append({ actorId: 'board', version: 3, event: 'x', state: {} })).toThrow(RangeError);
    expect(() => log.append({ actorId: '', event: 'x', state: {} })).toThrow(TypeError);
    log.append({ actorId: 'other', event: 'x', state: {} });
    expect(() => log.at(1)).toThrow(/pass an actorId/);
  });

  it('freezes what it keeps without freezing the caller’s objects, and shares frozen subtrees', () => {
    const log = createStateLog();
    const shared = Object.freeze({ big: Object.freeze([1, 2, 3]) });
    const live = { counter: 1, nested: { list: [1] }, shared };
    const entry = log.append({ actorId: 'a', event: { type: 'e', payload: live }, state: live });
    expect(Object.isFrozen(entry)).toBe(true);
    expect(Object.isFrozen(entry.state)).toBe(true);
    expect(Object.isFrozen((entry.state as typeof live).nested.list)).toBe(true);
    expect(Object.isFrozen(live)).toBe(false);
    expect(entry.state).not.toBe(live);
    expect((entry.state as typeof live).shared).toBe(shared);
    live.counter = 2;
    expect((entry.state as typeof live).counter).toBe(1);
    expect(Object.isFrozen(log.entries())).toBe(true);
  });

  it('diffs an actor’s states between two versions', () => {
    const log = createStateLog();
    log.append({ actorId: 'a', event: 'init', state: { title: 'x', tags: ['a'], meta: { n: 1 } } });
    log.append({ actorId: 'a', event: 'edit', state: { title: 'y', tags: ['a', 'b'], extra: true } });
    expect(log.diff(0, 1)).toEqual([
      { op: 'replace', path: ['title'], from: 'x', to: 'y' },
      { op: 'add', path: ['tags', 1], to: 'b' },
      { op: 'remove', path: ['meta'], from: { n: 1 } },
      { op: 'add', path: ['extra'], to: true },
    ]);
    expect(() => log.diff(0, 5)).toThrow(RangeError);
  });
});

describe('state log: listeners', () => {
  it('notifies listeners; a throwing listener breaks neither the append nor other listeners', () => {
    const onListenerError = vi.fn();
    const log = createStateLog({ onListenerError });
    const seen: number[] = [];
    log.subscribe(() => {
      throw new Error('bad listener');
    });
    const stop = log.subscribe((entry) => seen.push(entry.seq));
    const entry = log.append({ actorId: 'a', event: 'e', state: {} });
    expect(entry.seq).toBe(1);
    expect(seen).toEqual([1]);
    expect(onListenerError).toHaveBeenCalledWith(expect.objectContaining({ message: 'bad listener' }), entry);
    stop();
    log.append({ actorId: 'a', event: 'e', state: {} });
    expect(seen).toEqual([1]);
    expect(log.size).toBe(2);
  });

  it('validates its options', () => {
    for (const options of [{ clock: 1 }, { clock: {} }, { onListenerError: 'x' }, { colour: 'red' }]) {
      let error: unknown;
      try {
        createStateLog(options as never);
      } catch (e) {
        error = e;
      }
      expect(isOptionsError(error)).toBe(true);
    }
  });
});

describe('diffValues', () => {
  it('reports adds, removes and replaces, with array tails removed last-first', () => {
    expect(diffValues({ a: [1, 2, 3], b: 1 }, { a: [1], c: null })).toEqual([
      { op: 'remove', path: ['a', 2], from: 3 },
      { op: 'remove', path: ['a', 1], from: 2 },
      { op: 'remove', path: ['b'], from: 1 },
      { op: 'add', path: ['c'], to: null },
    ]);
    expect(diffValues([1], { 0: 1 })).toEqual([{ op: 'replace', path: [], from: [1], to: { 0: 1 } }]);
    expect(diffValues(Number.NaN, Number.NaN)).toEqual([]);
  });

  it('never looks inside a subtree shared by both sides', () => {
    const shared = {};
    Object.defineProperty(shared, 'boom', {
      enumerable: true,
      get() {
        throw new Error('walked into a shared subtree');
      },
    });
    expect(diffValues({ shared, n: 1 }, { shared, n: 2 })).toEqual([
      { op: 'replace', path: ['n'], from: 1, to: 2 },
    ]);
  });
});

describe('freezeForLog', () => {
  it('makes a JSON-safe frozen projection of live values', () => {
    const cyclic: Record<string, unknown> = { name: 'c' };
    cyclic.self = cyclic;
    const projected = freezeForLog({
      error: new TypeError('nope'),
      when: new Date(0),
      fn: () => 1,
      big: 10n,
      list: [1, undefined],
      map: new Map([['k', 1]]),
      cyclic,
    });
    expect(projected).toEqual({
      error: { name: 'TypeError', message: 'nope' },
      when: '1970-01-01T00:00:00.000Z',
      big: '10n',
      list: [1, null],
      map: { k: 1 },
      cyclic: { name: 'c', self: '[Circular]' },
    });
    expect(Object.isFrozen((projected as { list: unknown[] }).list)).toBe(true);
  });
});

describe('logInspector: the XState inspection stream into a log', () => {
  const machine = setup({
    types: {
      context: {} as { count: number; items: number[] },
      events: {} as { type: 'inc'; agentId?: string },
    },
  }).createMachine({
    id: 'counter',
    context: { count: 0, items: [] },
    initial: 'idle',
    states: {
      idle: {
        on: {
          inc: {
            actions: assign(({ context }) => ({
              count: context.count + 1,
              items: [...context.items, context.count],
            })),
          },
        },
      },
    },
  });

  it('logs each snapshot, frozen and projected, stamped by the actor’s clock', () => {
    const clock = new SimulatedClock();
    clock.set(500);
    const log = createStateLog();
    const actor = createActor(machine, { clock, systemId: 'counter', inspect: logInspector(log) });
    actor.start();
    clock.increment(10);
    actor.send({ type: 'inc', agentId: 'writer' });
    const entries = log.history('counter') as readonly SnapshotEntry<{ count: number }>[];
    expect(entries.map((e) => [e.version, e.at, e.agentId, (e.event as { type: string }).type])).toEqual([
      [0, 500, undefined, 'xstate.init'],
      [1, 510, 'writer', 'inc'],
    ]);
    expect(entries[1]?.state).toEqual({ value: 'idle', status: 'active', context: { count: 1, items: [0] } });
    expect(Object.isFrozen(entries[1]?.state.context)).toBe(true);
    // The live snapshot is not frozen by logging it: XState owns it.
    expect(Object.isFrozen(actor.getSnapshot().context)).toBe(false);
  });

  it('logs child actors under their own ids, replaces actor refs, and records output', async () => {
    const parent = setup({
      actors: { work: fromPromise(async () => 'result') },
      types: { context: {} as { child: unknown } },
    }).createMachine({
      context: ({ spawn }) => ({ child: spawn('work', { id: 'worker' }) }),
      initial: 'waiting',
      states: { waiting: { on: { 'xstate.done.actor.worker': 'done' } }, done: { type: 'final' } },
    });
    const log = createStateLog();
    const actor = createActor(parent, { systemId: 'parent', inspect: logInspector(log) });
    actor.start();
    await settle();
    const [root] = log.history('parent');
    expect((root!.state as { context: { child: unknown } }).context.child).toEqual({ actor: 'worker' });
    const child = log.actors().find((id) => id !== 'parent')!;
    const done = log.current(child) as SnapshotEntry;
    expect(done.state).toMatchObject({ status: 'done', output: 'result' });
    expect(log.current('parent')?.state).toMatchObject({ value: 'done', status: 'done' });
  });

  it('reports an append failure without stopping the actor', () => {
    const log = createStateLog();
    const onError = vi.fn();
    const actor = createActor(machine, {
      inspect: logInspector(log, { actorId: () => 'fixed', version: () => 0, onError }),
    });
    log.append({ actorId: 'fixed', version: 3, event: 'x', state: {} });
    actor.start();
    actor.send({ type: 'inc' });
    expect(onError).toHaveBeenCalled();
    expect(actor.getSnapshot().context.count).toBe(1);
  });
});
