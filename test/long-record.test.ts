import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BlackboardPolicy, BoardState } from '../machines/blackboard-write.js';
import { peekIn } from '../machines/key-path.js';
import { defineOwn, LazyValue, ownValue } from '../machines/lazy-value.js';
import { appendItems, LONG } from '../machines/long-list.js';
import { LongRecord, mergeEntries, WIDE } from '../machines/long-record.js';
import { diffValues } from '../src/log/diff.js';
import { createRuntime } from '../src/runtime.js';
import { applyPatch, makePatch } from '../src/store/codec.js';
import { memoryBackend } from '../src/store/memory.js';
import { recordStore } from '../src/store/record-store.js';
import { boardWrites } from './helpers/board.js';
import { testClock } from './helpers/clock.js';
import { writerLoop } from './helpers/workflows.js';

const policy: BlackboardPolicy = { schema: null, reducers: { m: 'merge', n: 'sum' }, custom: {} };
const { empty, write } = boardWrites(policy);

/** `n` merges of one new key each, `k<from>`…, into `m`. */
const mergeMany = (board: BoardState, n: number, from = 0) => {
  let b = board;
  for (let i = 0; i < n; i++) b = write(b, 'm', { [`k${from + i}`]: from + i });
  return b;
};
const plain = (value: unknown) => JSON.parse(JSON.stringify(value));
const builds = () => vi.spyOn(LazyValue.prototype, 'data');
afterEach(() => vi.restoreAllMocks());

describe('merge: a wide map is shared between versions, read as a plain frozen object', () => {
  it('keeps narrow maps plain; from WIDE keys on, a merge adds to the version without building it', () => {
    const narrow = mergeMany(empty(), WIDE - 1);
    expect(Object.getOwnPropertyDescriptor(narrow.state, 'm')?.value).toBeTypeOf('object');
    const built = builds();
    const wide = mergeMany(narrow, 1000, WIDE - 1);
    expect(peekIn(wide.state, ['m'])).toBeInstanceOf(LongRecord);
    expect(built).not.toHaveBeenCalled();
    const m = (wide.state as { m: Record<string, number> }).m;
    expect(Object.keys(m)).toEqual(Array.from({ length: WIDE - 1 + 1000 }, (_, i) => `k${i}`));
    expect(m.k500).toBe(500);
    expect(built).toHaveBeenCalledTimes(1);
    expect(Object.isFrozen(m)).toBe(true);
    expect(m).toBe((wide.state as { m: unknown }).m);
    expect(structuredClone(wide.state)).toEqual(plain(wide.state));
  });

  it('keeps every value, key order and earlier version right (a model of plain objects)', () => {
    type Op =
      | { kind: 'merge'; keys: string[]; n: number }
      | { kind: 'sum'; n: number }
      | { kind: 'into'; at: number; n: number }
      | { kind: 'fork'; back: number };
    const key = fc.oneof(
      fc.integer({ min: 0, max: 300 }).map((i) => `k${i}`),
      fc.integer({ min: 0, max: 40 }).map(String),
    );
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('merge' as const),
        keys: fc.array(key, { minLength: 1, maxLength: 40 }),
        n: fc.integer(),
      }),
      fc.record({ kind: fc.constant('sum' as const), n: fc.integer({ min: -5, max: 5 }) }),
      fc.record({ kind: fc.constant('into' as const), at: fc.nat(), n: fc.integer() }),
      fc.record({ kind: fc.constant('fork' as const), back: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops: Op[]) => {
        type Model = { m?: Record<string, number>; n?: number };
        let board = empty();
        let model: Model = {};
        const past: { board: BoardState; model: Model }[] = [];
        for (const o of ops) {
          past.push({ board, model });
          if (o.kind === 'merge') {
            const entries = Object.fromEntries(o.keys.map((k, i) => [k, o.n + i]));
            board = write(board, 'm', entries);
            model = { ...model, m: { ...(model.m ?? {}), ...entries } };
          } else if (o.kind === 'sum') {
            board = write(board, 'n', o.n);
            model = { ...model, n: (model.n ?? 0) + o.n };
          } else if (o.kind === 'into' && model.m) {
            // A write into one key of the map, with the version read.
            const keys = Object.keys(model.m);
            const at = keys[o.at % keys.length]!;
            board = write(board, ['m', at], o.n, board.version);
            model = { ...model, m: { ...model.m, [at]: o.n } };
          } else if (o.kind === 'fork') {
            ({ board, model } = past[o.back % past.length]!);
          }
          const read = plain(board.state);
          expect(read).toEqual(model);
          // Wide once, the map stays a shared version, whatever is written to it.
          if (Object.keys(model.m ?? {}).length >= WIDE)
            expect(peekIn(board.state, ['m'])).toBeInstanceOf(LongRecord);
          expect(Object.keys(read.m ?? {})).toEqual(Object.keys(model.m ?? {}));
        }
        for (const p of past) expect(plain(p.board.state)).toEqual(p.model);
      }),
      { numRuns: 60, seed: 14 },
    );
  });

  it('a write into one key of a wide map makes a new version of it, without building it', () => {
    const wide = mergeMany(empty(), 500);
    const built = builds();
    const after = write(
      write(wide, ['m', 'k7'], -7, wide.version),
      ['m', 'extra'],
      { deep: [1] },
      wide.version + 1,
    );
    expect(built).not.toHaveBeenCalled();
    expect(peekIn(after.state, ['m'])).toBeInstanceOf(LongRecord);
    const m = (after.state as { m: Record<string, unknown> }).m;
    expect(m.k7).toBe(-7);
    expect(m.extra).toEqual({ deep: [1] });
    expect(Object.keys(m).slice(-2)).toEqual(['k499', 'extra']);
    expect((wide.state as { m: Record<string, unknown> }).m.k7).toBe(7);
  });

  it('a merge into a narrow map keeps a long list inside it as it is, unbuilt', () => {
    const notes = appendItems(
      [],
      Array.from({ length: LONG + 6 }, (_, i) => i),
    );
    const map: Record<string, unknown> = {};
    defineOwn(map, 'notes', notes);
    Object.freeze(map);
    const built = builds();
    const next = mergeEntries(map, Object.freeze({ added: 1 })) as Record<string, unknown>;
    expect(built).not.toHaveBeenCalled();
    expect(ownValue(next, 'notes')).toBe(notes);
    expect(Object.isFrozen(next)).toBe(true);
    built.mockRestore();
    expect(plain(next)).toEqual({ notes: Array.from({ length: LONG + 6 }, (_, i) => i), added: 1 });
  });

  it('diffs two versions as plain objects would, without building either', () => {
    const v1 = mergeMany(empty(), 100);
    const v2 = write(write(v1, 'm', { k5: -5, 7: 7, k1000: 1 }), 'm', { k6: -6 });
    const built = builds();
    const changes = diffValues(v1.state, v2.state);
    expect(built).not.toHaveBeenCalled();
    expect(changes).toEqual(diffValues(plain(v1.state), plain(v2.state)));
    expect(changes).toEqual([
      { op: 'replace', path: ['m', 'k5'], from: 5, to: -5 },
      { op: 'replace', path: ['m', 'k6'], from: 6, to: -6 },
      { op: 'add', path: ['m', '7'], to: 7 },
      { op: 'add', path: ['m', 'k1000'], to: 1 },
    ]);
  });

  it('a patch between two versions is one merge; the reader keeps its own shared version', () => {
    const v1 = mergeMany(empty(), 100);
    const v2 = write(v1, 'm', { k5: -5, 7: 7 });
    const built = builds();
    const patch = makePatch(v1.state, v2.state);
    expect(built).not.toHaveBeenCalled();
    expect(patch).toEqual([[['m'], { 7: 7, k5: -5 }, 0, 2]]);
    const read1 = applyPatch(plain(empty().state), plain(makePatch(empty().state, v1.state)));
    const read2 = applyPatch(read1, plain(patch));
    expect(peekIn(read2, ['m'])).toBeInstanceOf(LongRecord);
    expect(plain(read2)).toEqual(plain(v2.state));
    expect(Object.keys((read2 as { m: object }).m)).toEqual(Object.keys((v2.state as { m: object }).m));
  });
});

describe('merge: a looping workflow with a store', () => {
  it('writes, logs and reads back a map that gains a key per step without building it', async () => {
    const STEPS = 200;
    const workflow = writerLoop('scores', 'scores', 'merge', STEPS, (n) => ({ [`k${n}`]: n }));
    const backend = memoryBackend();
    const runtime = createRuntime({ clock: testClock(), store: recordStore(backend) });
    const built = builds();
    const run = runtime.start(workflow, {}, { runId: 'scores' });
    expect((await run.done).status).toBe('completed');
    await runtime.stop();
    // The log, tracing and the store ran every step and none of them built the map.
    expect(built).not.toHaveBeenCalled();
    const state = run.state().state as { scores: Record<string, unknown> };
    expect(peekIn(state, ['scores'])).toBeInstanceOf(LongRecord);
    expect(Object.keys(state.scores)).toHaveLength(2 + STEPS);
    const lines = backend.runs.get('scores')!.slice(1, -1);
    const early = Math.max(...lines.slice(60, 80).map((l) => l.length));
    expect(Math.max(...lines.slice(-20).map((l) => l.length))).toBeLessThan(early + 500);

    built.mockClear();
    const loaded = await recordStore(backend).load('scores');
    expect(built).not.toHaveBeenCalled();
    const stored = (loaded.snapshot!.value as { context: { state: typeof state } }).context.state;
    expect(peekIn(stored, ['scores'])).toBeInstanceOf(LongRecord);
    expect(stored).toEqual(state);
    const log = run.log();
    expect(loaded.entries.at(-1)!.state).toEqual(log.at(-1)!.state);
    expect(loaded.entries[300]!.state).toEqual(log[300]!.state);
  });
});
