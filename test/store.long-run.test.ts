import { describe, expect, it } from 'vitest';
import { createActor, createMachine, fromPromise, setup } from 'xstate';
import { z } from 'zod';
import { withItem } from '../machines/lists.js';
import { persistsFrozenAsIs } from '../machines/persisted.js';
import { defineAgent } from '../src/agent.js';
import { createRuntime } from '../src/runtime.js';
import { applyPatch, makePatch } from '../src/store/codec.js';
import { memoryBackend } from '../src/store/memory.js';
import { recordStore } from '../src/store/record-store.js';
import { defineWorkflow } from '../src/workflow/define.js';
import { testClock } from './helpers/clock.js';

/** A persistent linked list of `n` nodes, `tag` in every node (so two chains share nothing). */
const chain = (n: number, tag: string) => {
  let node: unknown = null;
  for (let i = 0; i < n; i++)
    node = Object.freeze({ commit: Object.freeze({ version: i, tag }), prev: node });
  return node;
};
const size = (value: unknown) => JSON.stringify(value).length;
const roundTrip = (a: unknown, b: unknown) => applyPatch(a, JSON.parse(JSON.stringify(makePatch(a, b))));

describe('a patch costs what changed, whatever the shape', () => {
  it('stores a subtree that moved to another key as one op, not a path per difference', () => {
    // A journal's rotation: the head generation becomes the older one, a new head starts.
    const head = chain(256, 'h');
    const before = Object.freeze({ size: 256, head, older: chain(256, 'o') });
    const after = Object.freeze({ size: 1, head: chain(1, 'n'), older: head });
    const patch = makePatch(before, after);
    expect(patch).toContainEqual([['older'], head]);
    // The moved chain once, plus the small changes: not ~1 MB of nested paths.
    expect(size(patch)).toBeLessThan(size(head) + 1000);
    expect(roundTrip(before, after)).toEqual(after);
  });

  it('writes a list made from the previous one by adding an item without reading the old items', () => {
    let reads = 0;
    const items: unknown[] = Array.from({ length: 20 }, (_, i) => i);
    Object.defineProperty(items, '5', {
      enumerable: true,
      get: () => {
        reads++;
        return 5;
      },
    });
    const before = Object.freeze(items);
    const after = Object.freeze(withItem(before, 20));
    reads = 0;
    expect(makePatch(before, after)).toEqual([[[], [20], 0]]);
    expect(reads).toBe(0);
  });

  it('writes two unrelated deep chains in size linear in their length', () => {
    const a = chain(300, 'a');
    const b = chain(300, 'b');
    expect(size(makePatch(a, b))).toBeLessThan(3 * size(b));
    expect(roundTrip(a, b)).toEqual(b);
  });
});

describe("XState's persisted snapshot, without walking what agentcharts froze", () => {
  const machine = () =>
    setup({ actors: { child: fromPromise(async () => 1) } }).createMachine({
      context: ({ spawn }) => ({
        live: { nested: { ref: spawn('child', { id: 'kid' }) }, list: [1, { two: 2 }] },
        frozen: Object.freeze({ deep: Object.freeze({ n: 1 }) }),
        n: 3,
      }),
    });

  it('persists the same JSON as XState does, actor refs in live parts included', () => {
    const plain = createActor(machine()).start();
    const logic = machine();
    persistsFrozenAsIs(logic);
    const quick = createActor(logic).start();
    const expected = JSON.parse(JSON.stringify(plain.getPersistedSnapshot()));
    expect(JSON.parse(JSON.stringify(quick.getPersistedSnapshot()))).toEqual(expected);
    expect(expected.context.live.nested.ref).toEqual({ xstate$$type: 1, id: 'kid' });
    // A context with no actor ref is kept as it is, as XState keeps it.
    expect((quick.getPersistedSnapshot() as unknown as { context: { frozen: unknown } }).context.frozen).toBe(
      quick.getSnapshot().context.frozen,
    );
  });

  it('does not read inside a frozen subtree', () => {
    let reads = 0;
    const watched = Object.freeze(
      Object.defineProperty({}, 'inside', {
        enumerable: true,
        get: () => {
          reads++;
          return { n: 1 };
        },
      }),
    );
    const logic = createMachine({ context: { watched } });
    createActor(logic).start().getPersistedSnapshot();
    const walkedByXState = reads;
    persistsFrozenAsIs(logic);
    reads = 0;
    createActor(logic).start().getPersistedSnapshot();
    expect(walkedByXState).toBeGreaterThan(0);
    expect(reads).toBe(0);
  });
});

describe('a long run with a store', () => {
  // The shared state's journal turns its generation over every 256 commits: twice in this run.
  const STEPS = 520;
  const Note = z.object({ content: z.string(), confidence: z.number(), round: z.number() });

  async function longRun() {
    const writer = defineAgent({
      id: 'writer',
      output: Note,
      run: async ({ input }) => {
        const round = ((input as { state?: { writer?: { round: number } } }).state?.writer?.round ?? 0) + 1;
        return { content: `round ${round}`, confidence: 0.9, round };
      },
    });
    const workflow = defineWorkflow({
      id: 'loop',
      maxSteps: STEPS + 5,
      output: z.unknown(),
      steps: [
        {
          agent: writer,
          input: ({ state }: { state: unknown }) => ({ state }),
          next: [
            {
              if: ({ state }: { state: unknown }) =>
                (state as { writer: { round: number } }).writer.round >= STEPS,
              goto: 'end',
            },
            { goto: 'writer' },
          ],
        },
      ],
      result: ({ state }: { state: unknown }) => (state as { writer: unknown }).writer,
    });
    const backend = memoryBackend();
    const runtime = createRuntime({ clock: testClock(), store: recordStore(backend) });
    const run = runtime.start(workflow, {}, { runId: 'long' });
    const done = await run.done;
    await runtime.stop();
    return { backend, run, done };
  }

  it('writes no record much larger than a step, and reads back the log it ran with', async () => {
    const { backend, run, done } = await longRun();
    expect(done.status).toBe('completed');
    const lines = backend.runs.get('long')!;
    // The last line is the finished record, which carries the result's steps once.
    const commits = lines.slice(0, -1).map((line) => line.length);
    // A step's records are a few KB; the two where the journal turned over carry its older
    // generation once (~70 KB). Before, the second one wrote a path per level of it: ~1 MB.
    expect(Math.max(...commits)).toBeLessThan(100_000);

    const loaded = await recordStore(backend).load('long');
    const log = run.log();
    expect(loaded.entries).toHaveLength(log.length);
    for (const at of [0, 1, 100, Math.floor(log.length / 2), log.length - 2, log.length - 1]) {
      expect(loaded.entries[at]!.state).toEqual(log[at]!.state);
    }
    // An entry whose state is rebuilt when read is still plain data to JSON, and frozen.
    const middle = loaded.entries[Math.floor(log.length / 2)]!;
    expect(JSON.parse(JSON.stringify(middle)).state).toEqual(log[Math.floor(log.length / 2)]!.state);
    const state = middle.state;
    expect(Object.isFrozen(state)).toBe(true);
    expect(middle.state).toBe(state);
    // Earlier states are kept as changes and rebuilt when read, not held whole per entry.
    const rebuilt = loaded.entries.filter((e) => Object.getOwnPropertyDescriptor(e, 'state')?.get);
    expect(rebuilt.length).toBeGreaterThan(log.length / 2);
  });
});
