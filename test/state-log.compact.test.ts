import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBlackboard } from '../src/blackboard.js';
import { compact, expand, isCompact, RecordPatch } from '../src/log/compact.js';
import { diffValues } from '../src/log/diff.js';
import { createStateLog, record } from '../src/log/state-log.js';

type State = { round: number; meta: { list: readonly number[]; label: string }; other: readonly number[] };

/** How a long list changes from one entry to the next. */
type Move = 'push' | 'pushMany' | 'replaceLast' | 'same' | 'reset' | 'relabel';

function apply(state: State, move: Move, n: number): State {
  const list = state.meta.list;
  const meta = (next: readonly number[]) => ({ ...state.meta, list: next });
  switch (move) {
    case 'push':
      return { ...state, round: n, meta: meta([...list, n]) };
    case 'pushMany':
      return { ...state, round: n, meta: meta([...list, n, n + 1, n + 2]) };
    case 'replaceLast':
      return { ...state, round: n, meta: meta([...list.slice(0, -1), -n]) };
    case 'same':
      return { ...state, round: n };
    case 'reset':
      return { ...state, round: n, meta: meta(list.slice(0, Math.floor(list.length / 3))) };
    case 'relabel':
      return { ...state, round: n, meta: { ...state.meta, label: `l${n}` }, other: [...state.other, n] };
  }
}

describe('state log: earlier states are kept compact and read back whole', () => {
  it('reads back every version of a growing list exactly as appended, through at, history and diff', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom<Move>('push', 'pushMany', 'replaceLast', 'same', 'reset', 'relabel'), {
          minLength: 1,
          maxLength: 300,
        }),
        fc.boolean(),
        (moves, lazily) => {
          const log = createStateLog({ clock: { now: () => 0 } });
          const base = Array.from({ length: 20 }, (_, i) => i);
          let state: State = { round: 0, meta: { list: base, label: 'l' }, other: [] };
          const expected: unknown[] = [];
          const add = (s: State) => {
            // A deep copy taken now: what the entry must read back as.
            expected.push(structuredClone(s));
            const input = { actorId: 'a', event: { type: 'step' }, state: s };
            if (lazily) record(log, input);
            else log.append(input);
          };
          add(state);
          moves.forEach((move, i) => {
            state = apply(state, move, i + 1);
            add(state);
          });
          // Reading the latest first projects them all: the earlier ones are then rebuilt from
          // their compact form (reading in order would meet each while it is still the latest).
          expect(log.current('a')?.state).toEqual(expected.at(-1));
          const history = log.history('a');
          expect(history.map((e) => e.state)).toEqual(expected);
          for (let v = 0; v < expected.length; v += 7) {
            expect(log.at(v)?.state).toEqual(expected[v]);
            expect(Object.isFrozen((log.at(v)!.state as State).meta.list)).toBe(true);
          }
          const last = expected.length - 1;
          expect(log.diff(0, last)).toEqual(diffValues(expected[0], expected[last]));
          expect(log.diff(last >> 1, last)).toEqual(diffValues(expected[last >> 1], expected[last]));
        },
      ),
      { numRuns: 60, seed: 14 },
    );
  });

  it('gives the same entry object for as long as it is held', () => {
    const log = createStateLog();
    let list: readonly number[] = Object.freeze([]);
    for (let i = 0; i < 100; i++) {
      list = Object.freeze([...list, i]);
      log.append({ actorId: 'a', event: 'push', state: { list } });
    }
    const early = log.at(40)!;
    const again = log.at(40)!;
    expect(again).toBe(early);
    expect(log.history('a')[40]).toBe(early);
    expect((early.state as { list: number[] }).list).toEqual(Array.from({ length: 41 }, (_, i) => i));
  });
});

describe('blackboard: append writes read back at every version', () => {
  it('at(v), history and diff see each version of the list', () => {
    const board = createBlackboard({
      schema: z.object({ items: z.array(z.object({ i: z.number() })), n: z.number() }).partial(),
      reducers: { items: 'append', n: 'sum' },
    });
    const writes = 300;
    for (let i = 0; i < writes; i++) {
      const result = board.write({ key: 'items', value: { i }, agentId: 'a' });
      expect(result.ok).toBe(true);
      if (i % 50 === 0) board.write({ key: 'n', value: 1, agentId: 'b' });
    }
    const final = board.read();
    expect(final.state.items).toHaveLength(writes);
    expect(Object.isFrozen(final.state.items)).toBe(true);
    // Every version: the items written before it, in order.
    let count = 0;
    for (let v = 0; v <= final.version; v++) {
      const view = board.at(v)!;
      const items = view.state.items ?? [];
      if (v > 0) expect(Object.isFrozen(items)).toBe(true);
      expect(items.map((x) => x.i)).toEqual(Array.from({ length: items.length }, (_, i) => i));
      expect(items.length).toBeGreaterThanOrEqual(count);
      count = items.length;
    }
    expect(count).toBe(writes);
    const history = board.history();
    expect(history.at(-1)!.state.context.state).toEqual(final.state);
    expect(board.diff(final.version - 1, final.version)).toEqual([
      { op: 'add', path: ['items', writes - 1], to: { i: writes - 1 } },
    ]);
  });
});

describe('state log: a map that gains keys is kept as changes', () => {
  type Move = 'add' | 'overwrite' | 'addMany' | 'replaceAll' | 'drop' | 'nested' | 'same';
  /** One change to a frozen map, as a merge (or a set of the whole key) would make it. */
  function change(map: Readonly<Record<string, unknown>>, move: Move, n: number) {
    const keys = Object.keys(map);
    switch (move) {
      case 'add':
        return Object.freeze({ ...map, [`k${n}`]: n });
      case 'overwrite':
        return keys.length ? Object.freeze({ ...map, [keys[n % keys.length]!]: -n }) : map;
      case 'addMany':
        return Object.freeze({ ...map, [`a${n}`]: n, [`b${n}`]: { n }, [String(n)]: n });
      case 'replaceAll':
        return Object.freeze(Object.fromEntries(keys.map((k) => [k, n])));
      case 'drop': {
        const { [keys[0] ?? '']: _, ...rest } = map;
        return Object.freeze(rest);
      }
      case 'nested':
        return Object.freeze({ ...map, inner: Object.freeze({ list: Object.freeze([n]), at: n }) });
      case 'same':
        return map;
    }
  }

  it('reads back every version exactly, key order included', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.constantFrom<Move>(
            'add',
            'add',
            'add',
            'overwrite',
            'addMany',
            'replaceAll',
            'drop',
            'nested',
            'same',
          ),
          {
            minLength: 1,
            maxLength: 200,
          },
        ),
        (moves) => {
          const log = createStateLog({ clock: { now: () => 0 } });
          let map: Readonly<Record<string, unknown>> = Object.freeze(
            Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`s${i}`, i])),
          );
          const expected: unknown[] = [];
          const add = () => {
            expected.push(structuredClone({ map }));
            log.append({ actorId: 'a', event: 'step', state: Object.freeze({ map }) });
          };
          add();
          moves.forEach((move, i) => {
            map = change(map, move, i + 1);
            add();
          });
          expect(log.current('a')?.state).toEqual(expected.at(-1));
          const history = log.history('a');
          history.forEach((entry, i) => {
            const read = (entry.state as { map: object }).map;
            expect(read).toEqual((expected[i] as { map: object }).map);
            expect(Object.keys(read)).toEqual(Object.keys((expected[i] as { map: object }).map));
            expect(Object.isFrozen(read)).toBe(true);
          });
        },
      ),
      { numRuns: 60, seed: 14 },
    );
  });

  it('keeps memory linear in the keys written: earlier states hold patches, not whole maps', () => {
    // What the log does per entry: the previous state kept compact against the next one.
    const steps = 2000;
    const states: { map: Readonly<Record<string, number>> }[] = [];
    let map: Readonly<Record<string, number>> = Object.freeze({});
    for (let i = 0; i < steps; i++) {
      map = Object.freeze({ ...map, [`k${i}`]: i });
      states.push(Object.freeze({ map }));
    }
    const kept: unknown[] = [states[0]];
    for (let i = 1; i < steps; i++) kept.push(compact(states[i], states[i - 1], kept[i - 1]));
    // Keys held: in whole maps (each counted once), plus one per patch and per key it carries.
    let keys = 0;
    const seen = new Set<object>();
    const count = (stored: unknown): void => {
      if (typeof stored !== 'object' || stored === null || seen.has(stored)) return;
      seen.add(stored);
      if (stored instanceof RecordPatch) {
        keys += Object.keys(stored.changed).length + 1;
        count(stored.prev);
      } else if ('map' in stored) count((stored as { map: unknown }).map);
      else keys += Object.keys(stored).length;
    };
    for (const stored of kept) count(stored);
    // Linear: a few times the 2,000 keys written, not the ~2,000,000 of a whole map per state.
    expect(keys).toBeLessThan(10 * steps);
    expect(kept.filter((k) => isCompact(k)).length).toBeGreaterThan(steps / 2);
    for (const i of [0, 31, 32, 500, 1000, 1999]) expect(expand(kept[i])).toEqual(states[i]);
  });
});

describe('state log: events that carry a growing value are kept as changes', () => {
  it('reads back every event exactly; an earlier one is rebuilt from changes, not held whole', () => {
    const log = createStateLog({ clock: { now: () => 0 } });
    let map: Readonly<Record<string, number>> = Object.freeze({});
    const events: { type: string; input: { state: { map: typeof map } } }[] = [];
    for (let i = 0; i < 300; i++) {
      map = Object.freeze({ ...map, [`k${i}`]: i });
      // An agent's start event: the shared state, a little larger each time, in its input.
      const event = Object.freeze({
        type: 'xstate.init',
        input: Object.freeze({ state: Object.freeze({ map }) }),
      });
      events.push(event);
      record(log, { actorId: 'agent', event, state: Object.freeze({ visit: i }) });
      record(log, {
        actorId: 'agent',
        event: Object.freeze({ type: 'done' }),
        state: Object.freeze({ visit: i, done: true }),
      });
    }
    const history = log.history('agent').filter((e) => (e.event as { type: string }).type === 'xstate.init');
    expect(history).toHaveLength(300);
    history.forEach((entry, i) => {
      expect(entry.event).toEqual(events[i]);
      expect(Object.keys((entry.event as (typeof events)[0]).input.state.map)).toHaveLength(i + 1);
    });
    // Recorded lazily (as a run records), the entries are built when read: most earlier events are
    // rebuilt from their changes to the one before, the latest of its type is the event itself.
    expect(history.filter((entry, i) => entry.event !== events[i]).length).toBeGreaterThan(150);
    expect(history.at(-1)!.event).toBe(events.at(-1));
    // The same event read twice is the same object while it is held.
    const held = log.history('agent')[400]!;
    expect(held.event).toBe(log.history('agent')[400]!.event);
  });
});
