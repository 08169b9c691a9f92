import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBlackboard } from '../src/blackboard.js';
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
