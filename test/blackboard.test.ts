import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { z } from 'zod';
import { blackboardMachine } from '../machines/blackboard.js';
import type { WriteResult } from '../machines/blackboard-outcome.js';
import { isWriteAccepted, isWriteConflict, isWriteRejected } from '../machines/blackboard-outcome.js';
import { createBlackboard } from '../src/blackboard.js';
import { isOptionsError } from '../src/errors.js';
import { createStateLog } from '../src/log/state-log.js';

const State = z.object({
  topic: z.string(),
  draft: z.object({ title: z.string(), body: z.string() }).optional(),
  notes: z.object({ summary: z.string().default(''), tags: z.array(z.string()).default([]) }).default({
    summary: '',
    tags: [],
  }),
  findings: z.array(z.object({ claim: z.string(), by: z.string() })).default([]),
  scores: z.record(z.string(), z.number()).default({}),
  tokens: z.number().int().nonnegative().default(0),
  corpus: z
    .object({ a: z.array(z.number()), b: z.array(z.number()) })
    .default({ a: [1, 2, 3], b: [4, 5, 6] }),
});

const makeBoard = (extra: Partial<Parameters<typeof createBlackboard<typeof State>>[0]> = {}) =>
  createBlackboard({
    schema: State,
    initial: { topic: 'batteries' },
    reducers: { findings: 'append', scores: 'merge', tokens: 'sum' },
    ...extra,
  });

/** Narrow a result to a rejection with the given reason, or fail the test. */
function rejected<R extends Exclude<WriteResult, { ok: true }>['reason']>(
  result: WriteResult,
  reason: R,
): Extract<WriteResult, { reason: R }> {
  expect(result).toMatchObject({ ok: false, reason });
  return result as Extract<WriteResult, { reason: R }>;
}

describe('blackboard: reads and versions', () => {
  it('starts at version 0 with the schema defaults, frozen', () => {
    const board = makeBoard();
    const { version, state } = board.read();
    expect(version).toBe(0);
    expect(state).toEqual({
      topic: 'batteries',
      notes: { summary: '', tags: [] },
      findings: [],
      scores: {},
      tokens: 0,
      corpus: { a: [1, 2, 3], b: [4, 5, 6] },
    });
    expect(Object.isFrozen(state)).toBe(true);
    expect(Object.isFrozen(state.notes.tags)).toBe(true);
  });

  it('accepts a write that names the current version, and answers with the new one', () => {
    const board = makeBoard();
    const result = board.write({
      key: 'topic',
      value: 'solid-state',
      agentId: 'planner',
      expectedVersion: 0,
    });
    expect(result).toEqual({
      ok: true,
      version: 1,
      op: 'set',
      key: 'topic',
      agentId: 'planner',
      writeId: '1',
      at: expect.any(Number),
    });
    expect(isWriteAccepted(result)).toBe(true);
    expect(board.read()).toMatchObject({ version: 1, state: { topic: 'solid-state' } });
  });

  it('returns frozen state: a writer cannot mutate it (strict mode throws)', () => {
    const board = makeBoard();
    board.write({ key: 'draft', value: { title: 't', body: 'b' }, agentId: 'w', expectedVersion: 0 });
    const { state } = board.read() as unknown as {
      state: { topic: string; draft: { title: string }; findings: unknown[] };
    };
    expect(() => {
      state.topic = 'hacked';
    }).toThrow(TypeError);
    expect(() => {
      state.draft.title = 'hacked';
    }).toThrow(TypeError);
    expect(() => state.findings.push({ claim: 'x', by: 'y' })).toThrow(TypeError);
    expect(board.read().state.draft?.title).toBe('t');
  });

  it('keeps no link to the writer’s object: mutating it after the write changes nothing', () => {
    const board = makeBoard();
    const draft = { title: 't', body: 'b' };
    board.write({ key: 'draft', value: draft, agentId: 'w', expectedVersion: 0 });
    draft.title = 'changed later';
    expect(board.read().state.draft?.title).toBe('t');
    expect(Object.isFrozen(draft)).toBe(false);
  });
});

describe('blackboard: stale writes are refused, never applied silently', () => {
  it('reports a conflict with who wrote what since the writer’s version', () => {
    const clock = new SimulatedClock();
    const board = makeBoard({ clock });
    const seen = board.read();
    clock.increment(5);
    board.write({ key: 'topic', value: 'one', agentId: 'alice', expectedVersion: 0 });
    clock.increment(5);
    board.write({ key: 'notes.summary', value: 'two', agentId: 'bob', expectedVersion: 1 });
    const result = board.write({
      key: 'topic',
      value: 'three',
      agentId: 'carol',
      expectedVersion: seen.version,
    });
    const conflict = rejected(result, 'conflict');
    expect(isWriteConflict(result)).toBe(true);
    expect(conflict.conflict).toEqual({
      expectedVersion: 0,
      currentVersion: 2,
      omitted: 0,
      since: [
        { version: 1, agentId: 'alice', key: 'topic', op: 'set', at: 5, writeId: '1' },
        { version: 2, agentId: 'bob', key: 'notes.summary', op: 'set', at: 10, writeId: '2' },
      ],
    });
    expect(conflict.message).toBe(
      'stale write to "topic" by carol: expected version 0, current is 2 (2 writes since: v1 topic by alice, v2 notes.summary by bob)',
    );
    expect(board.read()).toMatchObject({ version: 2, state: { topic: 'one' } });
  });

  it('counts commits older than the journal window as omitted', () => {
    const board = makeBoard({ conflictWindow: 2 });
    for (let v = 0; v < 6; v++)
      board.write({ key: 'topic', value: `t${v}`, agentId: `a${v}`, expectedVersion: v });
    const conflict = rejected(
      board.write({ key: 'topic', value: 'x', agentId: 'late', expectedVersion: 0 }),
      'conflict',
    );
    expect(conflict.conflict.since.map((c) => c.version)).toEqual([5, 6]);
    expect(conflict.conflict.omitted).toBe(4);
  });

  it('refuses a write without a version to a key with no reducer (missingVersion)', () => {
    const board = makeBoard();
    const result = rejected(board.write({ key: 'topic', value: 'x', agentId: 'a' }), 'missingVersion');
    expect(result.currentVersion).toBe(0);
    expect(result.message).toContain('has no expectedVersion');
    expect(board.read().version).toBe(0);
  });

  it('accepts a write without a version to a key declared lastWriteWins', () => {
    const board = makeBoard({ reducers: { topic: 'lastWriteWins' } });
    expect(board.write({ key: 'topic', value: 'x', agentId: 'a' })).toMatchObject({
      ok: true,
      op: 'lastWriteWins',
    });
    expect(board.write({ key: 'topic', value: 'y', agentId: 'b' })).toMatchObject({ ok: true, version: 2 });
    expect(board.read().state.topic).toBe('y');
  });

  it('still honours an expected version given for a reducer key', () => {
    const board = makeBoard();
    board.write({ key: 'tokens', value: 1, agentId: 'a' });
    rejected(board.write({ key: 'tokens', value: 1, agentId: 'b', expectedVersion: 0 }), 'conflict');
    expect(board.read().state.tokens).toBe(1);
  });
});

describe('blackboard: reducers merge concurrent writes deterministically', () => {
  it('append, merge and sum combine writes in arrival order', () => {
    const board = makeBoard();
    board.write({ key: 'findings', value: { claim: 'c1', by: 'a' }, agentId: 'a' });
    board.write({ key: 'findings', value: { claim: 'c2', by: 'b' }, agentId: 'b' });
    board.write({ key: 'scores', value: { a: 0.5 }, agentId: 'a' });
    board.write({ key: 'scores', value: { b: 0.7, a: 0.9 }, agentId: 'b' });
    board.write({ key: 'tokens', value: 120, agentId: 'a' });
    board.write({ key: 'tokens', value: 80, agentId: 'b' });
    const { state, version } = board.read();
    expect(version).toBe(6);
    expect(state.findings).toEqual([
      { claim: 'c1', by: 'a' },
      { claim: 'c2', by: 'b' },
    ]);
    expect(state.scores).toEqual({ a: 0.9, b: 0.7 });
    expect(state.tokens).toBe(200);
  });

  it('validates what a reducer adds and what it produces', () => {
    const board = makeBoard();
    rejected(board.write({ key: 'findings', value: { claim: 1 }, agentId: 'a' }), 'invalid');
    rejected(board.write({ key: 'scores', value: { a: 'high' }, agentId: 'a' }), 'invalid');
    rejected(board.write({ key: 'tokens', value: -5, agentId: 'a' }), 'invalid');
    rejected(board.write({ key: 'tokens', value: '5', agentId: 'a' }), 'invalid');
    expect(board.read().version).toBe(0);
  });

  it('runs a custom reducer and commits its value; a throwing reducer refuses only that write', () => {
    const board = makeBoard({
      reducers: {
        topic: (current, incoming) => {
          if (incoming === 'boom') throw new Error('no');
          return `${current as string} + ${incoming as string}`;
        },
      },
    });
    expect(board.write({ key: 'topic', value: 'anodes', agentId: 'a' })).toMatchObject({
      ok: true,
      op: 'custom',
    });
    const failed = rejected(board.write({ key: 'topic', value: 'boom', agentId: 'b' }), 'reducerFailed');
    expect(failed.error).toEqual({ name: 'Error', message: 'no' });
    expect(board.write({ key: 'topic', value: 'cathodes', agentId: 'c' })).toMatchObject({
      ok: true,
      version: 2,
    });
    expect(board.read().state.topic).toBe('batteries + anodes + cathodes');
  });

  it('enforces refinements on a container when a reducer adds to it', () => {
    const board = createBlackboard({
      schema: z.object({ items: z.array(z.string()).max(2) }),
      initial: { items: [] },
      reducers: { items: 'append' },
    });
    board.write({ key: 'items', value: 'a', agentId: 'x' });
    board.write({ key: 'items', value: 'b', agentId: 'x' });
    const third = rejected(board.write({ key: 'items', value: 'c', agentId: 'x' }), 'invalid');
    expect(third.issues[0]?.path).toBe('items');
    expect(board.read().state.items).toEqual(['a', 'b']);
  });
});

describe('blackboard: keys', () => {
  it('writes nested keys by dotted string or array path', () => {
    const board = makeBoard();
    expect(board.write({ key: 'notes.summary', value: 's', agentId: 'a', expectedVersion: 0 }).ok).toBe(true);
    expect(board.write({ key: ['notes', 'tags', 0], value: 'x', agentId: 'a', expectedVersion: 1 }).ok).toBe(
      true,
    );
    expect(board.write({ key: 'scores.alice', value: 3, agentId: 'a', expectedVersion: 2 }).ok).toBe(true);
    expect(board.read().state).toMatchObject({ notes: { summary: 's', tags: ['x'] }, scores: { alice: 3 } });
    rejected(board.write({ key: 'notes.tags.5', value: 'gap', agentId: 'a', expectedVersion: 3 }), 'invalid');
  });

  it.each([
    ['__proto__', '__proto__'],
    ['notes.__proto__.polluted', '__proto__'],
    ['constructor', 'constructor'],
    [['scores', 'prototype'], 'prototype'],
    ['scores.constructor', 'constructor'],
  ] as const)('refuses the key %j (forbidden segment %s)', (key, segment) => {
    const board = makeBoard();
    const result = rejected(
      board.write({ key, value: 1, agentId: 'evil', expectedVersion: 0 }),
      'forbiddenKey',
    );
    expect(result.segment).toBe(segment);
    expect(result.message).toContain(`forbidden segment "${segment}"`);
    expect(board.read().version).toBe(0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses a value carrying a forbidden key anywhere inside it', () => {
    const board = makeBoard();
    const value = JSON.parse('{"a": {"__proto__": {"polluted": true}}}');
    const result = rejected(board.write({ key: 'scores', value, agentId: 'evil' }), 'forbiddenKey');
    expect(result.path).toBe('scores.a.__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses keys the schema does not declare, at the top, nested, or inside the value', () => {
    const board = makeBoard();
    expect(
      rejected(board.write({ key: 'secret', value: 1, agentId: 'a', expectedVersion: 0 }), 'unknownKey').path,
    ).toBe('secret');
    expect(
      rejected(board.write({ key: 'notes.extra', value: 1, agentId: 'a', expectedVersion: 0 }), 'unknownKey')
        .path,
    ).toBe('notes.extra');
    // z.object would strip `extra` silently; the blackboard refuses instead.
    const inValue = rejected(
      board.write({
        key: 'draft',
        value: { title: 't', body: 'b', extra: 1 },
        agentId: 'a',
        expectedVersion: 0,
      }),
      'unknownKey',
    );
    expect(inValue.path).toBe('draft.extra');
    expect(
      rejected(board.write({ key: 'scores', value: { ok: 1, x: {} }, agentId: 'a' }), 'invalid').issues[0]
        ?.path,
    ).toBe('scores.x');
  });

  it('refuses malformed keys and agent ids as invalid', () => {
    const board = makeBoard();
    rejected(board.write({ key: 'notes..summary', value: 's', agentId: 'a', expectedVersion: 0 }), 'invalid');
    rejected(board.write({ key: '', value: 's', agentId: 'a', expectedVersion: 0 }), 'invalid');
    rejected(board.write({ key: 'topic', value: 's', agentId: '', expectedVersion: 0 }), 'invalid');
    rejected(board.write({ key: 'topic', value: 's', agentId: 'a', expectedVersion: 0.5 }), 'invalid');
  });
});

describe('blackboard: schema validation', () => {
  it('refuses a value that does not match the key’s schema, with issues', () => {
    const board = makeBoard();
    const result = rejected(
      board.write({ key: 'draft', value: { title: 42, body: 'b' }, agentId: 'w', expectedVersion: 0 }),
      'invalid',
    );
    expect(result.issues).toEqual([
      { path: 'draft.title', message: 'Invalid input: expected string, received number' },
    ]);
    expect(isWriteRejected(result)).toBe(true);
  });

  it('refuses values that are not JSON data', () => {
    const board = createBlackboard({ schema: z.object({ any: z.unknown() }), initial: { any: null } });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const value of [() => 1, new Date(0), Number.NaN, cyclic, undefined, [1, undefined]]) {
      rejected(board.write({ key: 'any', value, agentId: 'a', expectedVersion: 0 }), 'invalid');
    }
    expect(board.read().version).toBe(0);
  });

  it('checks required siblings when a nested write creates its container', () => {
    const board = makeBoard();
    const result = rejected(
      board.write({ key: 'draft.title', value: 't', agentId: 'a', expectedVersion: 0 }),
      'invalid',
    );
    expect(result.issues[0]?.path).toBe('draft.body');
  });

  it('runs refinements on an object above the written key', () => {
    const board = createBlackboard({
      schema: z.object({
        range: z.object({ min: z.number(), max: z.number() }).refine((r) => r.min <= r.max, 'min above max'),
      }),
      initial: { range: { min: 0, max: 10 } },
    });
    expect(board.write({ key: 'range.min', value: 5, agentId: 'a', expectedVersion: 0 }).ok).toBe(true);
    const result = rejected(
      board.write({ key: 'range.min', value: 50, agentId: 'a', expectedVersion: 1 }),
      'invalid',
    );
    expect(result.issues[0]?.message).toBe('min above max');
  });
});

describe('blackboard: history with structural sharing', () => {
  it('shares untouched subtrees between versions (===) and keeps old versions intact', () => {
    const board = makeBoard();
    const v0 = board.read().state;
    board.write({ key: 'corpus.a', value: [9], agentId: 'a', expectedVersion: 0 });
    const v1 = board.read().state;
    expect(v1).not.toBe(v0);
    expect(v1.corpus).not.toBe(v0.corpus);
    expect(v1.corpus.b).toBe(v0.corpus.b);
    expect(v1.notes).toBe(v0.notes);
    expect(v1.findings).toBe(v0.findings);
    expect(board.at(0)?.state).toBe(v0);
    expect(board.at(0)?.state.corpus.a).toEqual([1, 2, 3]);
    expect(board.at(1)?.state).toBe(v1);
    expect(board.at(7)).toBeUndefined();
  });

  it('appending to a list shares the items already there', () => {
    const board = makeBoard();
    board.write({ key: 'findings', value: { claim: 'c1', by: 'a' }, agentId: 'a' });
    const first = board.read().state.findings[0];
    board.write({ key: 'findings', value: { claim: 'c2', by: 'b' }, agentId: 'b' });
    expect(board.read().state.findings[0]).toBe(first);
  });

  it('diffs two versions', () => {
    const board = makeBoard();
    board.write({ key: 'topic', value: 'x', agentId: 'a', expectedVersion: 0 });
    board.write({ key: 'scores', value: { a: 1 }, agentId: 'a' });
    board.write({ key: 'findings', value: { claim: 'c', by: 'a' }, agentId: 'a' });
    expect(board.diff(0, 3)).toEqual([
      { op: 'replace', path: ['topic'], from: 'batteries', to: 'x' },
      { op: 'add', path: ['findings', 0], to: { claim: 'c', by: 'a' } },
      { op: 'add', path: ['scores', 'a'], to: 1 },
    ]);
    expect(board.diff(3, 3)).toEqual([]);
    expect(() => board.diff(0, 9)).toThrow(RangeError);
  });

  it('logs every write event, accepted or refused, with the outcome in the snapshot', () => {
    const clock = new SimulatedClock();
    const board = makeBoard({ clock });
    clock.increment(100);
    board.write({ key: 'topic', value: 'x', agentId: 'alice', expectedVersion: 0 });
    board.write({ key: 'topic', value: 'y', agentId: 'bob', expectedVersion: 0 });
    const history = board.history();
    expect(
      history.map((e) => [e.seq, e.version, e.agentId, e.event && (e.event as { type: string }).type]),
    ).toEqual([
      [1, 0, undefined, 'xstate.init'],
      [2, 1, 'alice', 'write'],
      [3, 1, 'bob', 'write'],
    ]);
    expect(history[1]?.at).toBe(100);
    expect(history[2]?.state.context.lastOutcome).toMatchObject({
      ok: false,
      reason: 'conflict',
      agentId: 'bob',
    });
    // The log holds the board's own frozen state, not a copy.
    expect(history[1]?.state.context.state).toBe(board.read().state);
    expect(Object.isFrozen(history[2])).toBe(true);
  });
});

describe('blackboard: lifecycle and integration', () => {
  it('refuses writes once closed', () => {
    const board = makeBoard();
    board.write({ key: 'topic', value: 'x', agentId: 'a', expectedVersion: 0 });
    expect(board.close()).toMatchObject({ version: 1 });
    const result = rejected(
      board.write({ key: 'topic', value: 'y', agentId: 'a', expectedVersion: 1 }),
      'closed',
    );
    expect(result.message).toContain('closed');
    expect(board.actor.getSnapshot().output).toMatchObject({ version: 1, state: { topic: 'x' } });
  });

  it('answers a write made from inside another write (a log listener) with reentrant, and loses neither', () => {
    const log = createStateLog();
    const board = makeBoard({ log });
    const inner: WriteResult[] = [];
    log.subscribe((entry) => {
      if (entry.agentId === 'outer') inner.push(board.write({ key: 'tokens', value: 1, agentId: 'inner' }));
    });
    const outer = board.write({ key: 'tokens', value: 1, agentId: 'outer' });
    expect(outer).toMatchObject({ ok: true, version: 1 });
    expect(inner).toHaveLength(1);
    expect(inner[0]).toMatchObject({ ok: false, reason: 'reentrant', agentId: 'inner' });
    expect(board.read().state.tokens).toBe(1);
  });

  it('shares a run log with other actors under its own id', () => {
    const log = createStateLog();
    log.append({ actorId: 'researcher', event: { type: 'start' }, state: { value: 'running' } });
    const board = makeBoard({ log, id: 'shared' });
    board.write({ key: 'tokens', value: 3, agentId: 'researcher' });
    expect(log.actors()).toEqual(['researcher', 'shared']);
    expect(log.history('shared')).toHaveLength(2);
    expect(() => makeBoard({ log, id: 'shared' })).toThrow(/id must not be taken/);
  });

  it('validates its options when defined', () => {
    const cases: [unknown, string][] = [
      [{ schema: z.string() }, 'schema'],
      [{ schema: State, initial: { topic: 1 } }, 'initial.topic'],
      [{ schema: State, initial: { topic: 't', extra: 1 } }, 'initial.extra'],
      [{ schema: State, initial: { topic: 't' }, reducers: { nope: 'sum' } }, 'reducers.nope'],
      [{ schema: State, initial: { topic: 't' }, reducers: { topic: 'sum' } }, 'reducers.topic'],
      [{ schema: State, initial: { topic: 't' }, reducers: { tokens: 'add' } }, 'reducers.tokens'],
      [
        { schema: State, initial: { topic: 't' }, reducers: { 'notes.__proto__': 'merge' } },
        'reducers.notes.__proto__',
      ],
      [{ schema: State, initial: { topic: 't' }, conflictWindow: 0 }, 'conflictWindow'],
      [{ schema: State, initial: { topic: 't' }, colour: 'red' }, 'colour'],
    ];
    for (const [options, field] of cases) {
      let error: unknown;
      try {
        createBlackboard(options as Parameters<typeof createBlackboard>[0]);
      } catch (e) {
        error = e;
      }
      expect(isOptionsError(error), `${field}: ${String(error)}`).toBe(true);
      expect((error as { field: string }).field).toBe(field);
    }
  });

  it('runs as a plain statechart: free-form, driven by events, outcomes emitted, time from the clock', () => {
    const clock = new SimulatedClock();
    clock.set(1_000);
    const actor = createActor(blackboardMachine, { clock, input: { initial: { n: 0 } } });
    const outcomes: unknown[] = [];
    actor.on('outcome', (e) => outcomes.push(e.outcome));
    actor.start();
    actor.send({ type: 'write', key: 'n', value: 1, agentId: 'a', expectedVersion: 0 });
    actor.send({ type: 'write', key: 'n', value: 2, agentId: 'b', expectedVersion: 0 });
    actor.send({ type: 'write', key: 'anything.goes', value: { x: [1] }, agentId: 'c', expectedVersion: 1 });
    const { context } = actor.getSnapshot();
    expect(context.version).toBe(2);
    expect(context.state).toEqual({ n: 1, anything: { goes: { x: [1] } } });
    expect(outcomes.map((o) => (o as { ok: boolean }).ok)).toEqual([true, false, true]);
    expect(context.journal.head?.commit).toMatchObject({ version: 2, agentId: 'c', at: 1_000 });
    // The context is plain JSON: it survives a round trip.
    expect(JSON.parse(JSON.stringify(actor.getPersistedSnapshot()))).toMatchObject({
      context: { version: 2 },
    });
  });

  it('restores from a persisted snapshot and freezes the restored state before building on it', () => {
    const first = createActor(blackboardMachine, {
      input: { initial: { doc: { a: { n: 1 }, b: { n: 2 } } } },
    });
    first.start();
    first.send({ type: 'write', key: 'doc.a.n', value: 5, agentId: 'x', expectedVersion: 0 });
    const persisted = JSON.parse(JSON.stringify(first.getPersistedSnapshot()));
    const restored = createActor(blackboardMachine, { snapshot: persisted, input: {} });
    restored.start();
    restored.send({ type: 'write', key: 'doc.a.n', value: 6, agentId: 'y', expectedVersion: 0 });
    expect(restored.getSnapshot().context.lastOutcome).toMatchObject({ reason: 'conflict' });
    restored.send({ type: 'write', key: 'doc.a.n', value: 6, agentId: 'y', expectedVersion: 1 });
    const { state, version } = restored.getSnapshot().context;
    expect(version).toBe(2);
    const doc = state.doc as { a: { n: number }; b: { n: number } };
    expect(doc.a.n).toBe(6);
    expect(Object.isFrozen(doc.b)).toBe(true);
    expect(restored.getSnapshot().context.journal.head?.prev?.commit).toMatchObject({
      agentId: 'x',
      version: 1,
    });
  });
});

describe('blackboard: hostile arguments are refused as results, never thrown', () => {
  const hostile = {
    toString() {
      throw new Error('no string for you');
    },
  };
  const cases: Array<[string, () => unknown]> = [
    [
      'an agentId whose toString throws',
      () => ({ key: 'topic', value: 'x', agentId: hostile, expectedVersion: 0 }),
    ],
    ['a bigint key', () => ({ key: 10n, value: 1, agentId: 'a', expectedVersion: 0 })],
    ['a bigint inside a key path', () => ({ key: ['scores', 1n], value: 1, agentId: 'a' })],
    ['a key whose toString throws', () => ({ key: hostile, value: 1, agentId: 'a', expectedVersion: 0 })],
    [
      'a request whose getters throw',
      () =>
        new Proxy(
          {},
          {
            get() {
              throw new Error('trap');
            },
          },
        ),
    ],
    [
      'an expectedVersion whose toString throws',
      () => ({ key: 'topic', value: 'x', agentId: 'a', expectedVersion: hostile }),
    ],
    ['no request at all', () => undefined],
  ];
  for (const [what, request] of cases) {
    it(what, () => {
      const board = makeBoard();
      let result: WriteResult | undefined;
      expect(() => {
        result = board.write(request() as never);
      }).not.toThrow();
      expect(result).toMatchObject({ ok: false, reason: 'invalid' });
      expect(typeof (result as { message?: unknown }).message).toBe('string');
      expect(Object.isFrozen(result)).toBe(true);
      expect(board.read().version).toBe(0);
      // The board goes on.
      expect(board.write({ key: 'topic', value: 'next', agentId: 'a', expectedVersion: 0 })).toMatchObject({
        ok: true,
        version: 1,
      });
    });
  }

  it('a schema with keys named like Object.prototype members is an ordinary schema', () => {
    const Odd = z.object({
      toString: z.string().default('t'),
      valueOf: z.number().default(0),
      hasOwnProperty: z.boolean().default(false),
      constructorName: z.string().optional(),
      nested: z.object({ toString: z.string().optional(), n: z.number() }).default({ n: 1 } as never),
    });
    const board = createBlackboard({ schema: Odd, reducers: { valueOf: 'sum' as const } });
    expect(board.read().state).toEqual({
      toString: 't',
      valueOf: 0,
      hasOwnProperty: false,
      nested: { n: 1 },
    });
    // A value without the optional prototype-named key is valid (it is missing, not a function).
    expect(board.write({ key: 'nested', value: { n: 3 }, agentId: 'a', expectedVersion: 0 })).toMatchObject({
      ok: true,
      version: 1,
    });
    expect(board.write({ key: 'toString', value: 'hello', agentId: 'a', expectedVersion: 1 })).toMatchObject({
      ok: true,
    });
    expect(board.write({ key: 'valueOf', value: 2, agentId: 'a' })).toMatchObject({ ok: true, op: 'sum' });
    expect(board.read().state).toMatchObject({ toString: 'hello', valueOf: 2 });
    // A key the schema does not declare is still unknown, even when Object.prototype has it.
    rejected(board.write({ key: 'isPrototypeOf', value: 1, agentId: 'a', expectedVersion: 3 }), 'unknownKey');
  });
});
