import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent } from '../src/agent.js';
import { createRuntime } from '../src/runtime.js';
import { applyPatch, makePatch } from '../src/store/codec.js';
import { fileStore } from '../src/store/file.node.js';
import { memoryBackend } from '../src/store/memory.js';
import { recordStore } from '../src/store/record-store.js';
import { fnv1a32 } from '../src/store/records.js';
import { defineWorkflow } from '../src/workflow/define.js';
import { Draft } from './helpers/agents.js';
import { settle, testClock } from './helpers/clock.js';
import { entry, newRun, storeError } from './helpers/store-contract.js';
import { writerLoop } from './helpers/workflows.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'agentcharts-changes-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const bytesOf = (backend: ReturnType<typeof memoryBackend>, runId: string) =>
  (backend.runs.get(runId) ?? []).reduce((n, line) => n + line.length + 1, 0);

/** A run whose state gains one 1 KB item per commit, and whose snapshot holds that state too. */
async function growingRun(commits: number) {
  const backend = memoryBackend();
  const store = recordStore(backend);
  await store.create(newRun('run-1'));
  let items: string[] = [];
  for (let i = 1; i <= commits; i++) {
    items = [...items, `${i}:${'x'.repeat(1000)}`];
    const state = Object.freeze({ items: Object.freeze(items), step: i });
    void store.commit('run-1', {
      at: 1000 + i,
      entries: [entry(i, 'report', state)],
      snapshot: { context: state },
    });
  }
  await store.flush('run-1');
  return { backend, store, items };
}

describe('the store persists changes, not copies', () => {
  it('stores bytes in proportion to what each step added, however long the run', async () => {
    const short = await growingRun(10);
    const long = await growingRun(100);
    const perStepShort = bytesOf(short.backend, 'run-1') / 10;
    const perStepLong = bytesOf(long.backend, 'run-1') / 100;
    // Each step adds ~1 KB; copies of the whole state would make the long run ~10x per step.
    expect(perStepLong).toBeLessThan(1.3 * perStepShort);
    expect(perStepLong).toBeLessThan(1300);
  });

  it('loads back every entry and the latest snapshot whole', async () => {
    const { store, items } = await growingRun(20);
    const run = await store.load('run-1');
    expect(run.entries).toHaveLength(20);
    expect(run.entries[19]!.state).toEqual({ items, step: 20 });
    expect(run.entries[4]!.state).toEqual({ items: items.slice(0, 5), step: 5 });
    expect(run.snapshot?.value).toEqual({ context: { items, step: 20 } });
    expect(Object.isFrozen(run.entries[19]!.state)).toBe(true);
  });

  it('stores a long string once per run, wherever it appears again', async () => {
    const backend = memoryBackend();
    const store = recordStore(backend);
    const output = 'o'.repeat(100_000);
    await store.create(newRun('run-1'));
    await store.commit('run-1', {
      at: 1001,
      entries: [{ ...entry(1), event: { type: 'done', output }, state: { output } }],
      snapshot: { context: { output } },
    });
    await store.finish('run-1', { at: 1002, status: 'completed', result: { output } });
    expect(bytesOf(backend, 'run-1')).toBeLessThan(101_000);
    const run = await store.load('run-1');
    expect(run.entries[0]!.event).toEqual({ type: 'done', output });
    expect(run.snapshot?.value).toEqual({ context: { output } });
    expect(run.result).toEqual({ output });
  });

  it('keeps strings that look like its own markers as they are', async () => {
    const store = recordStore(memoryBackend());
    const odd = ['\u0001', '\u00021', '\u0003x', `\u0001${'y'.repeat(300)}`, '\u0002'];
    await store.create(newRun('run-1', { input: { odd } }));
    await store.commit('run-1', { at: 1001, entries: [entry(1, 'a', { odd })], snapshot: { odd } });
    await store.commit('run-1', { at: 1002, entries: [entry(2, 'a', { odd: [...odd, 'z'] })] });
    const run = await store.load('run-1');
    expect(run.meta.input).toEqual({ odd });
    expect(run.entries.map((e) => e.state)).toEqual([{ odd }, { odd: [...odd, 'z'] }]);
    expect(run.snapshot?.value).toEqual({ odd });
  });

  it('a patch turns one JSON value into another, sharing what did not change', () => {
    const json = fc.jsonValue({ maxDepth: 4 });
    fc.assert(
      fc.property(json, json, (a, b) => {
        const from = JSON.parse(JSON.stringify(a));
        const to = JSON.parse(JSON.stringify(b));
        const patch = JSON.parse(JSON.stringify(makePatch(from, to)));
        expect(applyPatch(from, patch)).toEqual(to);
      }),
      { numRuns: 300 },
    );
    // A persistent linked list that grows at its head, and a bounded list that slides: one small op each.
    const list = Object.freeze({ head: { v: 1, prev: { v: 0, prev: null } } });
    const pushed = { head: { v: 2, prev: list.head } };
    expect(makePatch(list, pushed)).toEqual([[['head'], { v: 2 }, 'prev']]);
    expect(applyPatch(list, JSON.parse(JSON.stringify(makePatch(list, pushed))))).toEqual(pushed);
    const window = [1, 2, 3, 4, 5];
    expect(makePatch(window, [3, 4, 5, 6])).toEqual([[[], [6], 2]]);
    expect(applyPatch(window, makePatch(window, [3, 4, 5, 6]))).toEqual([3, 4, 5, 6]);
    // A stored patch only goes through keys that are there: never into a prototype.
    expect(() => applyPatch({ a: {} }, [[['__proto__', 'polluted'], true]])).toThrow(/missing key/);
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    const shared = { big: [1, 2, 3] };
    const next = applyPatch({ shared, n: 1 }, makePatch({ shared, n: 1 }, { shared, n: 2 })) as {
      shared: unknown;
    };
    expect(next.shared).toBe(shared);
  });
});

describe('reading a run as a stream of records, with a cap', () => {
  it('refuses a record over the cap, naming the run and step; what was stored stays', async () => {
    const backend = memoryBackend();
    const store = recordStore(backend, { maxRecordBytes: 10_000 });
    await store.create(newRun('run-1'));
    await store.commit('run-1', { at: 1001, entries: [entry(1)], snapshot: { n: 1 } });
    const error = await storeError(
      store.commit('run-1', {
        at: 1002,
        entries: [entry(2, 'report', { big: 'b'.repeat(20_000) })],
        stepId: 'writer',
      }),
    );
    expect(error).toMatchObject({ code: 'tooLarge', runId: 'run-1' });
    expect(error.message).toMatch(/run "run-1".*step "writer".*over the store's cap.*maxRecordBytes/);
    await store.commit('run-1', { at: 1003, entries: [entry(3)], snapshot: { n: 3 } });
    const run = await store.load('run-1');
    expect(run.entries.map((e) => [e.seq, e.state])).toEqual([
      [1, { value: 's1' }],
      [3, { value: 's3' }],
    ]);
    expect(run.snapshot?.value).toEqual({ n: 3 });
  });

  it('a stored line over the cap is not read whole: a clear error naming where', async () => {
    const dir = tempDir();
    const big = fileStore({ dir, fsync: false, maxRecordBytes: 1_000_000 });
    await big.create(newRun('run-1'));
    await big.commit('run-1', { at: 1001, entries: [entry(1, 'a', { big: 'b'.repeat(200_000) })] });
    await big.close();
    const small = fileStore({ dir, fsync: false, maxRecordBytes: 100_000 });
    const error = await storeError(small.load('run-1'));
    expect(error).toMatchObject({ code: 'tooLarge', runId: 'run-1', line: 2 });
    expect(error.message).toMatch(/run-1\.jsonl line 2 is over this store's cap.*larger maxRecordBytes/);
    expect((await big.load('run-1').catch((e) => e)).code).toBe('closed');
    const reopened = fileStore({ dir, fsync: false, maxRecordBytes: 1_000_000 });
    expect((await reopened.load('run-1')).entries).toHaveLength(1);
  });

  it('reads records across read chunks, and a torn last line is dropped', async () => {
    const dir = tempDir();
    const store = fileStore({ dir, fsync: false });
    await store.create(newRun('run-1'));
    for (let i = 1; i <= 5; i++) {
      await store.commit('run-1', {
        at: 1000 + i,
        entries: [entry(i, `actor${i}`, { s: `${i}`.repeat(50_000) })],
      });
    }
    await store.close();
    const file = join(dir, 'runs', 'run-1.jsonl');
    writeFileSync(file, `${readFileSync(file, 'utf8')}{"v":2,"sum":"1234`);
    const run = await fileStore({ dir, fsync: false }).load('run-1');
    expect(run.entries.map((e) => (e.state as { s: string }).s.length)).toEqual([
      50_000, 50_000, 50_000, 50_000, 50_000,
    ]);
    expect(run.tornTail).toBe(true);
  });

  it('loads a run written in the previous format (1)', async () => {
    const dir = tempDir();
    const v1 = (rec: object) => {
      const body = JSON.stringify(rec);
      return `{"v":1,"sum":"${fnv1a32(body).toString(16).padStart(8, '0')}","rec":${body}}`;
    };
    const lines = [
      v1({ t: 'meta', n: 1, runId: 'old', workflowId: 'report', input: { topic: 't' }, startedAt: 1000 }),
      v1({ t: 'commit', n: 2, runId: 'old', at: 1001, entries: [entry(1), entry(2)], snapshot: { step: 1 } }),
    ];
    const store = fileStore({ dir, fsync: false });
    await store.create(newRun('probe')); // makes the folders
    writeFileSync(join(dir, 'runs', 'old.jsonl'), `${lines.join('\n')}\n`);
    const run = await store.load('old');
    expect(run.entries).toEqual([entry(1), entry(2)]);
    expect(run.snapshot?.value).toEqual({ step: 1 });
    // …and goes on in the current format.
    await store.commit('old', { at: 1002, entries: [entry(3)], snapshot: { step: 2 } });
    const again = await fileStore({ dir, fsync: false }).load('old');
    expect(again.entries).toEqual([entry(1), entry(2), entry(3)]);
    expect(again.snapshot?.value).toEqual({ step: 2 });
  });

  it('loads a run written in format 2, where a string may start with \\u0004, and goes on in format 3', async () => {
    const dir = tempDir();
    const v2 = (rec: object) => {
      const body = JSON.stringify(rec);
      return `{"v":2,"sum":"${fnv1a32(body).toString(16).padStart(8, '0')}","rec":${body}}`;
    };
    const state = { note: '\u0004 not a reference in format 2' };
    const lines = [
      v2({ t: 'meta', n: 1, runId: 'old', workflowId: 'report', input: { topic: 't' }, startedAt: 1000 }),
      v2({ t: 'commit', n: 2, runId: 'old', at: 1001, snapshot: { step: 1, context: { state } } }),
      v2({ t: 'commit', n: 3, runId: 'old', at: 1002, sd: [[['step'], 2]], entries: [entry(1, 'a', state)] }),
    ];
    const store = fileStore({ dir, fsync: false });
    await store.create(newRun('probe'));
    writeFileSync(join(dir, 'runs', 'old.jsonl'), `${lines.join('\n')}\n`);
    const run = await store.load('old');
    expect(run.snapshot?.value).toEqual({ step: 2, context: { state } });
    expect(run.entries[0]!.state).toEqual(state);
    // Format 3: the shared state is written once, where the snapshot has it.
    const next = Object.freeze({ note: 'next', list: Object.freeze(['x'.repeat(100)]) });
    await store.commit('old', {
      at: 1003,
      entries: [entry(2, 'b', { input: { state: next } })],
      snapshot: { step: 3, context: { state: next } },
    });
    const last = readFileSync(join(dir, 'runs', 'old.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .at(-1)!;
    expect(last.startsWith('{"v":3,')).toBe(true);
    expect(last.split('x'.repeat(100))).toHaveLength(2);
    const again = await fileStore({ dir, fsync: false }).load('old');
    expect(again.snapshot?.value).toEqual({ step: 3, context: { state: next } });
    expect(again.entries[1]!.state).toEqual({ input: { state: next } });
    // One object, as in the run that wrote it.
    const read = again.snapshot?.value as { context: { state: unknown } };
    expect((again.entries[1]!.state as { input: { state: unknown } }).input.state).toBe(read.context.state);
  });

  it('refuses a format-3 record whose reference has no shared state, or is malformed, as corrupt', async () => {
    const v3 = (rec: object) => {
      const body = JSON.stringify(rec);
      return `{"v":3,"sum":"${fnv1a32(body).toString(16).padStart(8, '0')}","rec":${body}}`;
    };
    const meta = v3({ t: 'meta', n: 1, runId: 'bad', workflowId: 'w', input: {}, startedAt: 1000 });
    for (const [state, why] of [
      ['\u0004', /corrupt record .* line 2: a reference to the shared state, with no shared state/],
      ['\u0004x', /corrupt record .* line 2: a shared-state reference is malformed/],
    ] as const) {
      const dir = tempDir();
      const store = fileStore({ dir, fsync: false });
      await store.create(newRun('probe'));
      const commit = v3({ t: 'commit', n: 2, runId: 'bad', at: 1001, entries: [entry(1, 'a', { state })] });
      writeFileSync(join(dir, 'runs', 'bad.jsonl'), `${meta}\n${commit}\n`);
      const error = await storeError(store.load('bad'));
      expect(error).toMatchObject({ code: 'corrupt', runId: 'bad', line: 2 });
      expect(error.message).toMatch(why);
    }
  });
});

describe('a run whose record is over the store cap', () => {
  it('ends in an explicit fallback; what was stored stays and the run is finished there', async () => {
    const dir = tempDir();
    const clock = testClock();
    const small = defineAgent({
      id: 'small',
      output: Draft,
      run: async () => ({ content: 'ok', confidence: 0.9 }),
    });
    const huge = defineAgent({
      id: 'huge',
      output: Draft,
      run: async () => ({ content: 'h'.repeat(300_000), confidence: 0.9 }),
    });
    const after = defineAgent({
      id: 'after',
      output: Draft,
      run: async () => ({ content: 'no', confidence: 0.9 }),
    });
    const workflow = defineWorkflow({
      id: 'capped',
      input: z.object({}),
      output: z.unknown(),
      steps: [small, huge, after],
    });
    const store = fileStore({ dir, fsync: false, maxRecordBytes: 100_000 });
    const errors: string[] = [];
    const runtime = createRuntime({ clock, store, onObserverError: (e) => errors.push(String(e)) });
    const run = runtime.start(workflow, {}, { runId: 'capped-1' });
    for (let i = 0; i < 20; i++) await clock.advance(1);
    const done = await run.done;
    expect(done).toMatchObject({ status: 'fallback', cause: 'storeRefused' });
    expect((done as { reason: string }).reason).toMatch(/run "capped-1".*step "huge".*maxRecordBytes/);
    expect(errors.some((e) => /tooLarge|over the store's cap/.test(e))).toBe(true);
    await runtime.stop();
    await store.close();
    const stored = await fileStore({ dir, fsync: false, maxRecordBytes: 100_000 }).load('capped-1');
    expect(stored.meta.status).toBe('fallback');
    expect(stored.entries.length).toBeGreaterThan(0);
    expect(statSync(join(dir, 'runs', 'capped-1.jsonl')).size).toBeLessThan(200_000);
    const { runs } = await fileStore({ dir, fsync: false }).listUnfinished();
    expect(runs).toEqual([]);
  });
});

describe('a stored snapshot keeps values as deep as the blackboard accepts', () => {
  it('a 120-level output waiting for review is stored whole, and the review resumes with it', async () => {
    const clock = testClock();
    let deep: unknown = 'bottom';
    for (let i = 0; i < 120; i++) deep = { d: deep };
    const agent = defineAgent({
      id: 'nester',
      output: z.object({ content: z.unknown(), confidence: z.number() }),
      run: async () => ({ content: deep, confidence: 0.9 }),
    });
    const workflow = defineWorkflow({
      id: 'deep',
      input: z.object({}),
      output: z.unknown(),
      steps: [{ agent, review: { below: 0.95 } }],
    });
    const backend = memoryBackend();
    const store = recordStore(backend);
    const runtime = createRuntime({ clock, store, onEscalation: () => {} });
    const run = runtime.start(workflow, {}, { runId: 'deep-1' });
    for (let i = 0; i < 10; i++) await clock.advance(1);
    expect((await run.result).status).toBe('awaitingReview');
    await store.flush();
    const stored = await store.load('deep-1');
    expect(JSON.stringify(stored.snapshot?.value)).not.toContain('[Deep]');
    await runtime.stop();
    const again = createRuntime({ clock, store, workflows: [workflow], onEscalation: () => {} });
    const { runs } = await again.resume();
    await settle();
    const [review] = again.reviews.list();
    expect(review?.output).toEqual({ content: deep, confidence: 0.9 });
    await again.reviews.approve(review!.reviewId, { by: 'alice' });
    const done = await runs[0]!.done;
    expect(done.status).toBe('completed');
    await again.stop();
  });
});

describe('a run whose shared state is a map that gains a key per step', () => {
  // A reducer of the user's own: each version of the map is a plain object (no shared versions).
  const mergeAll = (current: unknown, incoming: unknown) => ({
    ...(current as object),
    ...(incoming as object),
  });

  it('reads back its log as it ran, earlier states and start events kept as changes', async () => {
    const STEPS = 200;
    const workflow = writerLoop('scores', 'scores', mergeAll, STEPS, (n) => ({ [`k${n}`]: n }));
    const backend = memoryBackend();
    const runtime = createRuntime({ clock: testClock(), store: recordStore(backend) });
    const run = runtime.start(workflow, {}, { runId: 'scores' });
    expect((await run.done).status).toBe('completed');
    await runtime.stop();
    // A step's records carry its key, not the map so far (the state is written once per record).
    const lines = backend.runs.get('scores')!.slice(1, -1);
    const early = Math.max(...lines.slice(60, 80).map((l) => l.length));
    const late = Math.max(...lines.slice(-20).map((l) => l.length));
    expect(late).toBeLessThan(early + 500);
    const live = run.log();
    const loaded = await recordStore(backend).load('scores');
    expect(loaded.entries).toHaveLength(live.length);
    for (const at of [0, 5, 100, Math.floor(live.length / 2), live.length - 2, live.length - 1]) {
      expect(loaded.entries[at]).toEqual(live[at]);
    }
    const starts = loaded.entries.filter((e) => (e.event as { type: string }).type === 'xstate.init');
    expect(starts.length).toBeGreaterThanOrEqual(STEPS);
    // Each start event carries the map so far: kept as a change to the one before, rebuilt when read.
    const rebuilt = starts.filter((e) => Object.getOwnPropertyDescriptor(e, 'event')?.get);
    expect(rebuilt.length).toBeGreaterThan(STEPS / 2);
    const last = starts.at(-1)!.event as { input: { input: { state: { scores: object } } } };
    expect(Object.keys(last.input.input.state.scores)).toHaveLength(2 + STEPS - 1);
  });
});
