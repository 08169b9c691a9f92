import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { BlackboardPolicy, BoardState } from '../machines/blackboard-write.js';
import { applyWrite } from '../machines/blackboard-write.js';
import { peekIn } from '../machines/key-path.js';
import { LazyValue } from '../machines/lazy-value.js';
import { LONG, LongList } from '../machines/long-list.js';
import { defineAgent } from '../src/agent.js';
import { createBlackboard } from '../src/blackboard.js';
import { diffValues } from '../src/log/diff.js';
import { createRuntime } from '../src/runtime.js';
import { applyPatch, makePatch } from '../src/store/codec.js';
import { memoryBackend } from '../src/store/memory.js';
import { recordStore } from '../src/store/record-store.js';
import { defineWorkflow } from '../src/workflow/define.js';
import { boardWrites } from './helpers/board.js';
import { testClock } from './helpers/clock.js';
import { writerLoop } from './helpers/workflows.js';

const policy: BlackboardPolicy = {
  schema: null,
  reducers: { a: 'append', 'm.b': 'append', n: 'sum' },
  custom: {},
};
const { empty, write } = boardWrites(policy);

const appendMany = (board: BoardState, key: string, n: number, from = 0) => {
  let b = board;
  for (let i = 0; i < n; i++) b = write(b, key, { i: from + i });
  return b;
};

const builds = () => vi.spyOn(LazyValue.prototype, 'data');
afterEach(() => vi.restoreAllMocks());

describe('append: a long list is shared between versions, read as a plain frozen array', () => {
  it('keeps short lists plain; from LONG items on, a write extends the version without building it', () => {
    const short = appendMany(empty(), 'a', LONG - 1);
    expect(Object.getOwnPropertyDescriptor(short.state, 'a')?.value).toHaveLength(LONG - 1);
    const built = builds();
    const long = appendMany(short, 'a', 1000, LONG - 1);
    // Held as a version (a getter on the state), and no write built the list.
    expect(peekIn(long.state, ['a'])).toBeInstanceOf(LongList);
    expect(built).not.toHaveBeenCalled();
    const items = (long.state as { a: { i: number }[] }).a;
    expect(items).toHaveLength(LONG - 1 + 1000);
    expect(items.map((x) => x.i)).toEqual(Array.from({ length: items.length }, (_, i) => i));
    expect(built).toHaveBeenCalledTimes(1);
  });

  it('reads as plain data everywhere: frozen, the same array while held, JSON, structured clone, spread', () => {
    const board = appendMany(empty(), 'a', 200);
    const state = board.state as { a: readonly { i: number }[] };
    const expected = Array.from({ length: 200 }, (_, i) => ({ i }));
    expect(Object.isFrozen(state)).toBe(true);
    expect(Array.isArray(state.a)).toBe(true);
    expect(Object.isFrozen(state.a)).toBe(true);
    expect(Object.isFrozen(state.a[7])).toBe(true);
    expect(state.a).toBe(state.a);
    expect(Object.keys(state)).toEqual(['a']);
    expect(JSON.parse(JSON.stringify(state))).toEqual({ a: expected });
    expect(structuredClone(state)).toEqual({ a: expected });
    expect({ ...state }.a).toEqual(expected);
    expect(state).toEqual({ a: expected });
    // Read through an object that inherits from it, a copy of its descriptors, a foreign receiver.
    expect((Object.create(state) as typeof state).a).toBe(state.a);
    const copied = Object.defineProperties({}, Object.getOwnPropertyDescriptors(state)) as typeof state;
    expect(copied.a).toBe(state.a);
    expect(Reflect.get(state, 'a', new Proxy({}, {}))).toBe(state.a);
  });

  it('leaves every earlier version as it was: appends to an older version start a list of their own', () => {
    const v1 = appendMany(empty(), 'a', 100);
    const v2 = appendMany(v1, 'a', 50, 100);
    // Two writers from the same older version (a fork): neither sees the other's items.
    const forkA = write(v1, 'a', { i: -1 });
    const forkB = write(v1, 'a', { i: -2 });
    const read = (b: BoardState) => (b.state as { a: { i: number }[] }).a.map((x) => x.i);
    expect(read(v1)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(read(v2)).toEqual(Array.from({ length: 150 }, (_, i) => i));
    expect(read(forkA)).toEqual([...read(v1), -1]);
    expect(read(forkB)).toEqual([...read(v1), -2]);
    expect(read(appendMany(forkA, 'a', 2, 7))).toEqual([...read(v1), -1, 7, 8]);
    expect(read(v2)).toHaveLength(150);
  });

  it('writes to other keys and into the list keep every value right (a model of plain arrays)', () => {
    type Op =
      | { kind: 'a' | 'b'; n: number }
      | { kind: 'sum'; n: number }
      | { kind: 'set'; n: number }
      | { kind: 'item'; at: number; n: number }
      | { kind: 'fork'; back: number };
    const op = fc.oneof(
      fc.record({ kind: fc.constant('a' as const), n: fc.integer({ min: 1, max: 40 }) }),
      fc.record({ kind: fc.constant('b' as const), n: fc.integer({ min: 1, max: 40 }) }),
      fc.record({ kind: fc.constant('sum' as const), n: fc.integer({ min: -5, max: 5 }) }),
      fc.record({ kind: fc.constant('set' as const), n: fc.integer() }),
      fc.record({ kind: fc.constant('item' as const), at: fc.nat(), n: fc.integer() }),
      fc.record({ kind: fc.constant('fork' as const), back: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops: Op[]) => {
        type Model = { a?: number[]; m?: { b: number[] }; n?: number; x?: number };
        let board = empty();
        let model: Model = {};
        const past: { board: BoardState; model: Model }[] = [];
        let next = 0;
        for (const o of ops) {
          past.push({ board, model });
          if (o.kind === 'a' || o.kind === 'b') {
            const key = o.kind === 'a' ? 'a' : 'm.b';
            const list = [...((o.kind === 'a' ? model.a : model.m?.b) ?? [])];
            for (let i = 0; i < o.n; i++) {
              board = write(board, key, next);
              list.push(next++);
            }
            model = o.kind === 'a' ? { ...model, a: list } : { ...model, m: { b: list } };
          } else if (o.kind === 'sum') {
            board = write(board, 'n', o.n);
            model = { ...model, n: (model.n ?? 0) + o.n };
          } else if (o.kind === 'set') {
            board = write(board, 'x', o.n, board.version);
            model = { ...model, x: o.n };
          } else if (o.kind === 'item' && model.a && model.a.length > 0) {
            const at = o.at % model.a.length;
            board = write(board, `a.${at}`, o.n, board.version);
            model = { ...model, a: model.a.map((v, i) => (i === at ? o.n : v)) };
          } else if (o.kind === 'fork') {
            ({ board, model } = past[o.back % past.length]!);
          }
          expect(JSON.parse(JSON.stringify(board.state))).toEqual(model);
        }
        // Every version kept reads as it did when it was made.
        for (const p of past) expect(JSON.parse(JSON.stringify(p.board.state))).toEqual(p.model);
      }),
      { numRuns: 60, seed: 14 },
    );
  });

  it('gives a custom reducer or a merge the list as a plain array', () => {
    const custom: BlackboardPolicy = {
      schema: null,
      reducers: { a: 'append', last: 'custom' },
      custom: { last: (current) => (Array.isArray(current) ? current.slice(-2) : current) },
    };
    let board = appendMany(empty(), 'a', 100);
    const { board: merged, outcome } = applyWrite(
      board,
      { type: 'write', key: 'a', value: { z: 1 }, agentId: 'w', expectedVersion: board.version },
      { ...custom, reducers: { a: 'merge' } },
      0,
    );
    expect(outcome.ok).toBe(false);
    expect(outcome.ok ? '' : outcome.message).toContain('merge needs an object to merge into');
    expect(merged).toBeUndefined();
    board = write(board, 'last', null, board.version);
    const { board: after } = applyWrite(
      { ...board, state: Object.freeze({ ...board.state, last: (board.state as { a: unknown[] }).a }) },
      { type: 'write', key: 'last', value: 0, agentId: 'w' },
      custom,
      0,
    );
    expect((after!.state as { last: unknown }).last).toEqual([{ i: 98 }, { i: 99 }]);
  });
});

describe('append: the state log and the store cost what was appended', () => {
  it('a blackboard with its log: no entry builds the list, and every version reads back', () => {
    const board = createBlackboard({
      schema: z.object({ items: z.array(z.object({ i: z.number() })), n: z.number() }).partial(),
      reducers: { items: 'append', n: 'sum' },
    });
    const built = builds();
    for (let i = 0; i < 500; i++) {
      board.write({ key: 'items', value: { i }, agentId: 'a' });
      if (i % 100 === 0) board.write({ key: 'n', value: 1, agentId: 'b' });
    }
    expect(built).not.toHaveBeenCalled();
    const view = board.at(250)!.state.items!;
    expect(view.length).toBeGreaterThan(200);
    expect(view.map((x) => x.i)).toEqual(Array.from({ length: view.length }, (_, i) => i));
    expect(board.diff(board.read().version - 1, board.read().version)).toEqual([
      { op: 'add', path: ['items', 499], to: { i: 499 } },
    ]);
  });

  it('a patch between two versions is the appended items; the reader extends its own version', () => {
    const v1 = appendMany(empty(), 'a', 100);
    const v2 = appendMany(v1, 'a', 3, 100);
    const built = builds();
    const patch = makePatch(v1.state, v2.state);
    expect(patch).toEqual([[['a'], [{ i: 100 }, { i: 101 }, { i: 102 }], 0, 1]]);
    expect(built).not.toHaveBeenCalled();
    // The reader's base holds a version too: applying the patch extends it, unread.
    const base = JSON.parse(JSON.stringify(v1.state));
    const read1 = applyPatch(base, JSON.parse(JSON.stringify(makePatch(empty().state, v1.state))));
    const read2 = applyPatch(read1, JSON.parse(JSON.stringify(patch)));
    expect(read2).toEqual(JSON.parse(JSON.stringify(v2.state)));
    expect(Object.isFrozen(read2)).toBe(true);
  });

  it('a looping workflow with a store: the run writes and reads back its notes without building them', async () => {
    const STEPS = 150;
    const workflow = writerLoop('notes', 'notes', 'append', STEPS, (n) => ({ round: n }));
    const backend = memoryBackend();
    const runtime = createRuntime({ clock: testClock(), store: recordStore(backend) });
    const built = builds();
    const run = runtime.start(workflow, {}, { runId: 'notes' });
    const done = await run.done;
    await runtime.stop();
    expect(done.status).toBe('completed');
    // The log, tracing and the store ran every step and none of them built the list.
    expect(built).not.toHaveBeenCalled();
    const state = run.state().state as { notes: { round: number }[] };
    expect(Object.getOwnPropertyDescriptor(state, 'notes')?.get).toBeTypeOf('function');
    expect(state.notes.map((n) => n.round)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    // Each step's record carries its note, not the list so far.
    const lines = backend.runs.get('notes')!.slice(0, -1);
    expect(Math.max(...lines.slice(-20).map((l) => l.length))).toBeLessThan(
      Math.max(...lines.slice(0, 20).map((l) => l.length)) * 2,
    );

    built.mockClear();
    const loaded = await recordStore(backend).load('notes');
    expect(built).not.toHaveBeenCalled();
    const stored = (loaded.snapshot!.value as { context: { state: typeof state } }).context.state;
    expect(peekIn(stored, ['notes'])).toBeInstanceOf(LongList);
    expect(stored).toEqual(state);
    const log = run.log();
    expect(loaded.entries.at(-1)!.state).toEqual(log.at(-1)!.state);
  });
});

describe('append: a run with a long list resumes after a restart', () => {
  it('goes on appending to the list it read back, every item once and in order', async () => {
    const STEPS = 120;
    const HANG_AT = 90;
    const Note = z.object({ content: z.string(), confidence: z.number(), round: z.number() });
    const loop = (run: () => Promise<z.infer<typeof Note>>) =>
      defineWorkflow({
        id: 'notes',
        maxSteps: STEPS + 5,
        reducers: { notes: 'append' },
        output: z.unknown(),
        steps: [
          {
            agent: defineAgent({ id: 'writer', output: Note, run }),
            writes: 'notes',
            next: [
              {
                if: ({ state }: { state: unknown }) => (state as { notes: unknown[] }).notes.length >= STEPS,
                goto: 'end',
              },
              { goto: 'writer' },
            ],
          },
        ],
        result: ({ state }: { state: unknown }) => (state as { notes: unknown[] }).notes.length,
      });
    const store = recordStore(memoryBackend());
    const clock = testClock();
    let round = 0;
    // The first process hangs in its 90th call and stops there, as a crash would leave it.
    const first = loop(() => {
      round++;
      if (round === HANG_AT) return new Promise(() => {});
      return Promise.resolve({ content: `r${round}`, confidence: 0.9, round });
    });
    const before = createRuntime({ clock, store, workflows: [first] });
    const run = before.start(first, {}, { runId: 'notes' });
    for (let i = 0; i < 50 && round < HANG_AT; i++) await new Promise((r) => setImmediate(r));
    expect(round).toBe(HANG_AT);
    await before.stop();
    expect((await run.done).status).toBe('cancelled');

    round = HANG_AT - 1;
    const second = loop(() => {
      round++;
      return Promise.resolve({ content: `r${round}`, confidence: 0.9, round });
    });
    const after = createRuntime({ clock, store, workflows: [second] });
    const resumed = await after.resume();
    expect(resumed.errors).toEqual([]);
    const done = await resumed.runs[0]!.done;
    expect(done).toMatchObject({ status: 'completed', output: STEPS });
    const state = resumed.runs[0]!.state().state as { notes: { round: number }[] };
    expect(peekIn(state, ['notes'])).toBeInstanceOf(LongList);
    expect(state.notes.map((n) => n.round)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    await after.stop();
  });
});

describe('append: the log diff of a long list', () => {
  it('lists the appended items without building either version, and matches a diff of plain arrays', () => {
    const v1 = appendMany(empty(), 'a', 100);
    const v2 = appendMany(write(v1, 'n', 2), 'a', 3, 100);
    const built = builds();
    const changes = diffValues(v1.state, v2.state);
    expect(built).not.toHaveBeenCalled();
    expect(changes).toEqual(
      diffValues(JSON.parse(JSON.stringify(v1.state)), JSON.parse(JSON.stringify(v2.state))),
    );
    expect(changes).toEqual([
      { op: 'add', path: ['a', 100], to: { i: 100 } },
      { op: 'add', path: ['a', 101], to: { i: 101 } },
      { op: 'add', path: ['a', 102], to: { i: 102 } },
      { op: 'add', path: ['n'], to: 2 },
    ]);
    // A list replaced by something else: the values in the change are plain data.
    const [change] = diffValues(v2.state, { a: 'gone', n: 2 });
    expect(change).toMatchObject({ op: 'replace', path: ['a'], to: 'gone' });
    expect(Array.isArray((change as { from: unknown }).from)).toBe(true);
    expect((change as { from: unknown[] }).from).toHaveLength(103);
  });
});
