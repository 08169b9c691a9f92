import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { WriteConflict, WriteResult } from '../machines/blackboard-outcome.js';
import { type Blackboard, createBlackboard } from '../src/blackboard.js';
import { seededRandom } from '../src/testing/random.js';

/**
 * The race that corrupts shared state in multi-agent systems is across `await`: a writer reads
 * version v, thinks, and writes back over what others committed meanwhile. These tests run 1,000
 * writers (5x an expected 200 concurrent agents) doing read → await → write, with interleavings
 * chosen by a seeded generator: no real time passes.
 */

const WRITERS = 1_000;

/** Yield to other writers `n` times; no time passes. */
async function yieldTimes(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

/** A writer's schedule: when it starts and how long it "thinks" between read and write. */
function schedule(seed: number) {
  const random = seededRandom(seed);
  return {
    start: () => Math.floor(random() * 400),
    think: () => 1 + Math.floor(random() * 12),
  };
}

const Counter = z.object({ count: z.number().int(), total: z.number(), seen: z.array(z.string()) });

const counterBoard = (conflictWindow = 256) =>
  createBlackboard({
    schema: Counter,
    initial: { count: 0, total: 0, seen: [] },
    reducers: { total: 'sum', seen: 'append' },
    conflictWindow,
  });

function accepted(board: Blackboard<z.output<typeof Counter>>) {
  return board.history().filter((e) => e.state.context.lastOutcome?.ok === true);
}

describe(`${WRITERS} concurrent writers doing read → await → write`, () => {
  it('a naive shared mutable object loses updates (the contrast)', async () => {
    const shared = { count: 0 };
    const { start, think } = schedule(1);
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        await yieldTimes(start());
        const seen = shared.count;
        await yieldTimes(think());
        shared.count = seen + 1;
      }),
    );
    const lost = WRITERS - shared.count;
    expect(lost).toBeGreaterThan(WRITERS / 10);
  });

  it('with versions, a stale write is refused and reported; no accepted update is lost', async () => {
    const board = counterBoard(WRITERS);
    const { start, think } = schedule(1);
    const results = await Promise.all(
      Array.from({ length: WRITERS }, async (_, i): Promise<WriteResult> => {
        await yieldTimes(start());
        const { version, state } = board.read();
        await yieldTimes(think());
        return board.write({
          key: 'count',
          value: state.count + 1,
          agentId: `w${i}`,
          expectedVersion: version,
        });
      }),
    );
    const ok = results.filter((r) => r.ok);
    const conflicts = results.filter((r): r is WriteConflict => !r.ok && r.reason === 'conflict');
    // Every write has an answer: accepted, or refused as a conflict. Nothing else, nothing silent.
    expect(ok.length + conflicts.length).toBe(WRITERS);
    expect(conflicts.length).toBeGreaterThan(0);
    // Each accepted write was based on the latest state, so the count is exactly the accepted number.
    expect(board.read()).toMatchObject({ version: ok.length, state: { count: ok.length } });
    // Each conflict lists exactly the commits the writer missed, as the log recorded them.
    for (const { conflict } of conflicts) {
      expect(conflict.omitted).toBe(0);
      expect(conflict.since.map((c) => c.version)).toEqual(
        Array.from(
          { length: conflict.currentVersion - conflict.expectedVersion },
          (_, k) => conflict.expectedVersion + k + 1,
        ),
      );
      for (const commit of conflict.since) {
        const entry = board.log.at(commit.version, board.id);
        expect(entry?.agentId).toBe(commit.agentId);
      }
    }
    // Every refusal is in the log too.
    const refusedInLog = board.history().filter((e) => e.state.context.lastOutcome?.ok === false);
    expect(refusedInLog).toHaveLength(conflicts.length);
  });

  it('with versions and retries, all updates land and every retry was a reported conflict', async () => {
    const board = counterBoard();
    const { start, think } = schedule(2);
    let conflicts = 0;
    const attempts = await Promise.all(
      Array.from({ length: WRITERS }, async (_, i) => {
        await yieldTimes(start());
        for (let attempt = 1; ; attempt++) {
          const { version, state } = board.read();
          await yieldTimes(think());
          const result = board.write({
            key: 'count',
            value: state.count + 1,
            agentId: `w${i}`,
            expectedVersion: version,
          });
          if (result.ok) return attempt;
          expect(result.reason).toBe('conflict');
          conflicts++;
          // Back off, as a real agent would, so retries do not keep colliding.
          await yieldTimes(think() * Math.min(attempt, 8) * 4);
        }
      }),
    );
    expect(board.read()).toMatchObject({ version: WRITERS, state: { count: WRITERS } });
    expect(conflicts).toBe(attempts.reduce((a, b) => a + b, 0) - WRITERS);
    expect(conflicts).toBeGreaterThan(0);
    // Each writer committed exactly once.
    const writers = accepted(board).map((e) => e.agentId);
    expect(new Set(writers).size).toBe(WRITERS);
  });

  it('with reducers, writes need no version and all of them merge, in log order', async () => {
    const board = counterBoard();
    const { start, think } = schedule(3);
    const results = await Promise.all(
      Array.from({ length: WRITERS }, async (_, i) => {
        await yieldTimes(start());
        const amount = (i % 7) + 1;
        await yieldTimes(think());
        const sum = board.write({ key: 'total', value: amount, agentId: `w${i}` });
        await yieldTimes(think());
        const list = board.write({ key: 'seen', value: `w${i}`, agentId: `w${i}` });
        return [sum, list];
      }),
    );
    expect(results.flat().every((r) => r.ok)).toBe(true);
    const { state, version } = board.read();
    expect(version).toBe(2 * WRITERS);
    let expectedTotal = 0;
    for (let i = 0; i < WRITERS; i++) expectedTotal += (i % 7) + 1;
    expect(state.total).toBe(expectedTotal);
    expect(state.seen).toHaveLength(WRITERS);
    expect(new Set(state.seen).size).toBe(WRITERS);
    // The list's order is the order of the commits in the log.
    const appended = accepted(board)
      .filter((e) => (e.event as { key: string }).key === 'seen')
      .map((e) => (e.event as { value: string }).value);
    expect(state.seen).toEqual(appended);
  });
});

// ---- property: the final state is the accepted writes applied in log order ----

const Doc = z.object({
  title: z.string().max(40),
  count: z.number(),
  log: z.array(z.string()),
  tags: z.record(z.string(), z.number()),
  mode: z.enum(['draft', 'final']),
});
type Doc = z.output<typeof Doc>;

type Op =
  | { kind: 'title'; suffix: string; versioned: boolean }
  | { kind: 'count'; amount: number }
  | { kind: 'log'; line: string }
  | { kind: 'tags'; tags: Record<string, number> }
  | { kind: 'mode'; mode: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('title' as const),
    suffix: fc.string({ maxLength: 6 }),
    versioned: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('count' as const), amount: fc.integer({ min: -5, max: 5 }) }),
  fc.record({ kind: fc.constant('log' as const), line: fc.string({ maxLength: 4 }) }),
  fc.record({
    kind: fc.constant('tags' as const),
    tags: fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 9 })),
  }),
  fc.record({ kind: fc.constant('mode' as const), mode: fc.constantFrom('draft', 'final', 'bogus') }),
);

/** The reference semantics, on plain mutable data. */
function applyModel(model: Doc, key: string, value: unknown): void {
  const m = model as unknown as Record<string, unknown>;
  if (key === 'count') model.count += value as number;
  else if (key === 'log') model.log.push(value as string);
  else if (key === 'tags') model.tags = { ...model.tags, ...(value as Record<string, number>) };
  else m[key] = value;
}

describe('property: the final state equals the accepted writes applied in log order', () => {
  it('holds for any interleaving of read → await → write', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(opArb, { maxLength: 40 }), async (s, ops) => {
        const initial: Doc = { title: '', count: 0, log: [], tags: {}, mode: 'draft' };
        const board = createBlackboard({
          schema: Doc,
          initial,
          reducers: { count: 'sum', log: 'append', tags: 'merge', mode: 'lastWriteWins' },
        });
        const running = Promise.all(
          ops.map(async (op, i) => {
            const read = board.read();
            await s.schedule(Promise.resolve(), `writer ${i}`);
            const agentId = `agent-${i}`;
            switch (op.kind) {
              case 'title': {
                const value = `${read.state.title}${op.suffix}`;
                return op.versioned
                  ? board.write({ key: 'title', value, agentId, expectedVersion: read.version })
                  : board.write({ key: 'title', value, agentId });
              }
              case 'count':
                return board.write({ key: 'count', value: op.amount, agentId });
              case 'log':
                return board.write({ key: 'log', value: op.line, agentId });
              case 'tags':
                return board.write({ key: 'tags', value: op.tags, agentId });
              case 'mode':
                return board.write({ key: 'mode', value: op.mode, agentId });
            }
          }),
        );
        await s.waitAll();
        const results = await running;

        expect(results).toHaveLength(ops.length);
        const model: Doc = structuredClone(initial);
        const entries = board.history().slice(1);
        expect(entries).toHaveLength(ops.length);
        let version = 0;
        let previous = board.at(0)!.state;
        for (const entry of entries) {
          const outcome = entry.state.context.lastOutcome!;
          if (outcome.ok) {
            version++;
            expect(outcome.version).toBe(version);
            const event = entry.event as { key: string; value: unknown; expectedVersion?: number };
            // A versioned write is accepted only on top of the version it read: no lost update.
            if (event.expectedVersion !== undefined) expect(event.expectedVersion).toBe(version - 1);
            applyModel(model, event.key, event.value);
          } else {
            // A refused write leaves the very same state object behind.
            expect(entry.state.context.state).toBe(previous);
            expect(['conflict', 'invalid', 'missingVersion']).toContain(outcome.reason);
          }
          previous = entry.state.context.state as typeof previous;
        }
        expect(board.read().version).toBe(version);
        expect(board.read().state).toEqual(model);
        expect(results.filter((r) => r.ok)).toHaveLength(version);
      }),
      { numRuns: 150, seed: 20_240_601 },
    );
  });
});
