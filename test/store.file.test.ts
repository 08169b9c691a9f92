import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isOptionsError } from '../src/errors.js';
import { fileStore } from '../src/store/file.node.js';
import { encodeRecord, type RunRecord } from '../src/store/records.js';
import type { Store } from '../src/store/store.js';
import { entry, newRun, storeContract, storeError } from './helpers/store-contract.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'agentcharts-store-'));
  dirs.push(dir);
  return dir;
};
const stores: Store[] = [];
const open = (dir: string, options: { fsync?: boolean; onSync?: (file: string) => void } = {}) => {
  const store = fileStore({ dir, ...options });
  stores.push(store);
  return store;
};
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => {});
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

storeContract('fileStore', () => {
  const dir = tempDir();
  return { store: fileStore({ dir }), reopen: () => fileStore({ dir }) };
});

const runFile = (dir: string, runId: string) => join(dir, 'runs', `${runId}.jsonl`);
const readLines = (file: string) => readFileSync(file, 'utf8').split('\n').slice(0, -1);
const writeLines = (file: string, lines: string[]) => writeFileSync(file, `${lines.join('\n')}\n`);
/** The record inside a stored line. */
const recordOf = (line: string) => (JSON.parse(line) as { rec: RunRecord }).rec;

/** A run of three commits, stored by a store that is then closed. */
async function storedRun(dir: string, runId = 'run-1') {
  const store = open(dir);
  await store.create(newRun(runId));
  await store.commit(runId, { at: 1001, entries: [entry(1), entry(2)], snapshot: { step: 1 } });
  await store.commit(runId, { at: 1002, entries: [entry(3)], snapshot: { step: 2 } });
  await store.commit(runId, { at: 1003, entries: [entry(4)], snapshot: { step: 3 } });
  await store.close();
  return runFile(dir, runId);
}

describe('fileStore: layout and durability', () => {
  it('writes one JSON-lines file per run, one versioned, checksummed record per line', async () => {
    const dir = tempDir();
    const file = await storedRun(dir);
    expect(readdirSync(join(dir, 'runs'))).toEqual(['run-1.jsonl']);
    const lines = readLines(file);
    expect(lines).toHaveLength(4);
    for (const line of lines)
      expect(line).toMatch(/^\{"v":3,"sum":"[0-9a-f]{8}","rec":\{"t":"(meta|commit)"/);
    expect(lines.map((l) => [recordOf(l).t, recordOf(l).n])).toEqual([
      ['meta', 1],
      ['commit', 2],
      ['commit', 3],
      ['commit', 4],
    ]);
    // The first entry of an actor is whole; the next one is what changed in its state.
    const { state: _, ...second } = entry(2);
    expect(JSON.parse(lines[1]!)).toMatchObject({
      rec: { runId: 'run-1', entries: [entry(1), { ...second, d: [[['value'], 's2']] }] },
    });
  });

  it('fsyncs each write before it resolves, and one fsync covers writes that queued up', async () => {
    const dir = tempDir();
    const synced: string[] = [];
    const store = open(dir, { onSync: (file) => synced.push(file) });
    await store.create(newRun('run-1'));
    const file = runFile(dir, 'run-1');
    // The run's file, then its folder (a new file's name must be durable too).
    expect(synced.filter((f) => f === file)).toHaveLength(1);
    expect(synced).toContain(join(dir, 'runs'));
    synced.length = 0;
    await store.commit('run-1', { at: 1001, entries: [entry(1)] });
    expect(synced).toEqual([file]);
    synced.length = 0;
    // 20 commits called in one turn: one write, one fsync.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.commit('run-1', { at: 1002 + i, entries: [entry(i + 2)] })),
    );
    expect(synced).toEqual([file]);
    expect(readLines(file)).toHaveLength(22);
    synced.length = 0;
    // Commits called while a write is being synced wait for it, then go out together.
    const late: Promise<void>[] = [];
    const hooked = open(dir, {
      onSync: (f) => {
        if (f !== file) return; // the folders, synced once per store
        synced.push(f);
        if (late.length === 0) {
          for (let seq = 23; seq <= 32; seq++)
            late.push(hooked.commit('run-1', { at: 2000, entries: [entry(seq)] }));
        }
      },
    });
    await hooked.commit('run-1', { at: 1999, entries: [entry(22)] });
    await Promise.all(late);
    expect(synced).toEqual([file, file]);
    expect(readLines(file)).toHaveLength(33);
  });

  it('a failing fsync rejects the write as an io error naming the run; the run carries on', async () => {
    const dir = tempDir();
    let fail = false;
    const store = open(dir, {
      onSync: () => {
        if (fail) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      },
    });
    await store.create(newRun('run-1'));
    fail = true;
    const error = await storeError(store.commit('run-1', { at: 1001, entries: [entry(1)] }));
    expect(error).toMatchObject({ code: 'io', runId: 'run-1' });
    expect(error.message).toBe('store: run "run-1": writing failed: EIO: i/o error, fdatasync');
    fail = false;
    // The unsynced line may or may not be there; the store reads the run again and goes on after it.
    await store.commit('run-1', { at: 1002, entries: [entry(2)] });
    expect((await store.load('run-1')).entries.map((e) => e.seq)).toEqual([1, 2]);
  });

  it('with fsync off, nothing is synced', async () => {
    const dir = tempDir();
    const synced: string[] = [];
    const store = open(dir, { fsync: false, onSync: (file) => synced.push(file) });
    await store.create(newRun('run-1'));
    await store.commit('run-1', { at: 1001, entries: [entry(1)] });
    await store.saveBreaker('b', {}, 1);
    expect(synced).toEqual([]);
  });

  it('bad options are OptionsErrors naming the field', () => {
    const error = (() => {
      try {
        fileStore({ dir: '' });
      } catch (e) {
        return e;
      }
    })();
    expect(isOptionsError(error)).toBe(true);
    expect((error as Error).message).toBe('fileStore: dir must be a folder path, received ""');
    expect(() => fileStore({ dir: 'x', fsync: 'yes' } as never)).toThrow(/fileStore: fsync/);
    expect(() => fileStore({ dir: 'x', sync: true } as never)).toThrow(/sync is not a known option/);
  });

  it('unsafe run ids never reach the file system', async () => {
    const dir = tempDir();
    const store = open(dir);
    for (const runId of ['../outside', '..', 'a/b', '/etc/passwd']) {
      expect((await storeError(store.create(newRun(runId)))).code).toBe('invalid');
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a storage failure is an io error naming the run', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'runs'), 'a file where the runs folder should be');
    const error = await storeError(open(dir).create(newRun('run-1')));
    expect(error).toMatchObject({ code: 'io', runId: 'run-1' });
    expect(error.message).toMatch(/^store: run "run-1": writing failed: /);
  });
});

describe('fileStore: a crash mid-write', () => {
  it('ignores a torn last line, and the next write cuts it away first', async () => {
    const dir = tempDir();
    const file = await storedRun(dir);
    const whole = readLines(file);
    // The crash left half of a fifth record.
    appendFileSync(file, whole[3]!.slice(0, 40));
    const store = open(dir);
    const run = await store.load('run-1');
    expect(run.tornTail).toBe(true);
    expect(run.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(run.snapshot?.value).toEqual({ step: 3 });
    expect((await store.listUnfinished()).runs.map((r) => r.meta.runId)).toEqual(['run-1']);
    await store.commit('run-1', { at: 1004, entries: [entry(5)], snapshot: { step: 4 } });
    const lines = readLines(file);
    expect(lines).toHaveLength(5);
    expect(lines.slice(0, 4)).toEqual(whole);
    const after = await open(dir).load('run-1');
    expect(after.tornTail).toBe(false);
    expect(after.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('a run whose first write was cut off does not exist: not listed, and its id can be created', async () => {
    const dir = tempDir();
    const file = await storedRun(dir, 'whole');
    const torn = runFile(dir, 'torn');
    writeFileSync(torn, readLines(file)[0]!.slice(0, 30).replace('whole', 'torn'));
    const store = open(dir);
    expect(await storeError(store.load('torn'))).toMatchObject({ code: 'notFound', runId: 'torn' });
    const { runs, errors } = await store.listUnfinished();
    expect(runs.map((r) => r.meta.runId)).toEqual(['whole']);
    expect(errors).toEqual([]);
    await store.create(newRun('torn'));
    expect((await store.load('torn')).meta.runId).toBe('torn');
  });

  it('an empty file is no run either', async () => {
    const dir = tempDir();
    await storedRun(dir);
    writeFileSync(runFile(dir, 'empty'), '');
    const { runs, errors } = await open(dir).listUnfinished();
    expect(runs.map((r) => r.meta.runId)).toEqual(['run-1']);
    expect(errors).toEqual([]);
  });
});

describe('fileStore: damaged data gives a clear error naming the run and the line', () => {
  const damage = async (edit: (lines: string[]) => string[]) => {
    const dir = tempDir();
    const file = await storedRun(dir);
    writeLines(file, edit(readLines(file)));
    return { dir, file, error: await storeError(open(dir).load('run-1')) };
  };

  it('a line that is not JSON in the middle', async () => {
    const { file, error } = await damage((lines) => lines.with(2, '{"v":2,"sum":"0000'));
    expect(error).toMatchObject({ code: 'corrupt', runId: 'run-1', line: 3, location: `${file} line 3` });
    expect(error.message).toBe(`store: run "run-1": corrupt record at ${file} line 3: not a JSON record`);
  });

  it('a line cut short in the middle (not the last line)', async () => {
    const { error } = await damage((lines) => lines.with(1, lines[1]!.slice(0, 50)));
    expect(error).toMatchObject({ code: 'corrupt', line: 2 });
  });

  it('a record edited by hand: checksum mismatch', async () => {
    const { error } = await damage((lines) => lines.with(2, lines[2]!.replace('"at":1002', '"at":1007')));
    expect(error).toMatchObject({ code: 'corrupt', line: 3 });
    expect(error.message).toMatch(/checksum mismatch/);
  });

  it('a record of another format version', async () => {
    const { error } = await damage((lines) => lines.with(1, lines[1]!.replace('{"v":3,', '{"v":4,')));
    expect(error).toMatchObject({ code: 'wrongVersion', runId: 'run-1', line: 2 });
    expect(error.message).toMatch(
      /record of another format version at .* line 2: written in store format version 4; this agentcharts reads versions 1, 2 and 3 \(the stored format changed/,
    );
  });

  it('a record of another layout that says its version', async () => {
    const { error } = await damage((lines) => lines.with(0, JSON.stringify({ v: 0, type: 'meta' })));
    expect(error).toMatchObject({ code: 'wrongVersion', line: 1 });
  });

  it('a tampered record with a valid checksum whose seq goes backwards', async () => {
    const { error } = await damage((lines) => {
      const rec = recordOf(lines[2]!) as Extract<RunRecord, { t: 'commit' }>;
      return lines.with(2, encodeRecord({ ...rec, entries: [entry(1)] }));
    });
    expect(error).toMatchObject({ code: 'corrupt', line: 3 });
    expect(error.message).toMatch(/log entry seq 1 does not follow seq 2/);
  });

  it('a dropped line', async () => {
    const { error } = await damage((lines) => lines.toSpliced(2, 1));
    expect(error).toMatchObject({ code: 'corrupt', line: 3 });
    expect(error.message).toMatch(/record number 4 where 3 was expected/);
  });

  it('a file copied to another run id', async () => {
    const dir = tempDir();
    const file = await storedRun(dir);
    writeFileSync(runFile(dir, 'copy'), readFileSync(file));
    const error = await storeError(open(dir).load('copy'));
    expect(error).toMatchObject({ code: 'corrupt', runId: 'copy', line: 1 });
    expect(error.message).toMatch(/belongs to run "run-1"/);
  });

  it('a blank line in the middle', async () => {
    const { error } = await damage((lines) => lines.toSpliced(1, 0, ''));
    expect(error).toMatchObject({ code: 'corrupt', line: 2 });
  });

  it('one damaged run does not stop the others from being listed', async () => {
    const dir = tempDir();
    for (const id of ['a', 'b', 'c']) await storedRun(dir, id);
    const b = runFile(dir, 'b');
    writeLines(b, readLines(b).with(1, 'garbage'));
    const { runs, errors } = await open(dir).listUnfinished();
    expect(runs.map((r) => r.meta.runId)).toEqual(['a', 'c']);
    expect(errors.map((e) => [e.code, e.runId, e.line])).toEqual([['corrupt', 'b', 2]]);
    expect(errors[0]!.message).toContain(`${b} line 2`);
  });

  it('a damaged run refuses writes instead of appending after the damage', async () => {
    const { dir, file } = await damage((lines) => lines.with(1, 'garbage'));
    const before = readFileSync(file, 'utf8');
    const error = await storeError(open(dir).commit('run-1', { at: 2000, entries: [entry(5)] }));
    expect(error).toMatchObject({ code: 'corrupt', runId: 'run-1', line: 2 });
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('a finished run is told from its last line, without reading its whole log', async () => {
    const dir = tempDir();
    const store = open(dir);
    await store.create(newRun('done'));
    await store.finish('done', { status: 'completed', result: { ok: 1 }, at: 1001 });
    await storedRun(dir, 'open');
    const file = runFile(dir, 'done');
    // Damage before the finished record is only found when the run is loaded (e.g. for replay).
    writeLines(file, readLines(file).with(0, readLines(file)[0]!.replace('batteries', 'xatteries')));
    const { runs, errors } = await open(dir).listUnfinished();
    expect(runs.map((r) => r.meta.runId)).toEqual(['open']);
    expect(errors).toEqual([]);
    expect((await storeError(open(dir).load('done'))).code).toBe('corrupt');
  });
});

describe('fileStore: breakers', () => {
  const breakersFile = (dir: string) => join(dir, 'breakers.jsonl');

  it('appends breaker snapshots to breakers.jsonl; the latest per key wins', async () => {
    const dir = tempDir();
    const store = open(dir);
    await store.saveBreaker('a', { n: 1 }, 1);
    await store.saveBreaker('b', { n: 1 }, 2);
    await store.saveBreaker('a', { n: 2 }, 3);
    expect(readLines(breakersFile(dir))).toHaveLength(3);
    expect(Object.fromEntries((await open(dir).loadBreakers()).breakers)).toEqual({
      a: { n: 2 },
      b: { n: 1 },
    });
  });

  it('tolerates a torn last line and cuts it before the next append', async () => {
    const dir = tempDir();
    const store = open(dir);
    await store.saveBreaker('a', { n: 1 }, 1);
    await store.close();
    appendFileSync(breakersFile(dir), '{"v":1,"sum":"12345678","rec":{"t":"brea');
    const next = open(dir);
    expect(Object.fromEntries((await next.loadBreakers()).breakers)).toEqual({ a: { n: 1 } });
    await next.saveBreaker('a', { n: 2 }, 2);
    const { breakers, errors } = await open(dir).loadBreakers();
    expect(errors).toEqual([]);
    expect(breakers.get('a')).toEqual({ n: 2 });
  });

  it('a damaged breaker line is an error naming the file and line; the other breakers load', async () => {
    const dir = tempDir();
    const store = open(dir);
    await store.saveBreaker('a', { n: 1 }, 1);
    await store.saveBreaker('b', { n: 1 }, 2);
    await store.close();
    const file = breakersFile(dir);
    writeLines(file, readLines(file).with(0, readLines(file)[0]!.replace('"n":1', '"n":5')));
    const { breakers, errors } = await open(dir).loadBreakers();
    expect([...breakers.keys()]).toEqual(['b']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'corrupt', runId: undefined, location: `${file} line 1` });
    expect(errors[0]!.message).toMatch(
      /^store: breaker record at .*breakers\.jsonl line 1: checksum mismatch/,
    );
  });

  it('compacts a history of superseded snapshots when it loads them', async () => {
    const dir = tempDir();
    const store = open(dir);
    for (let i = 0; i < 100; i++) await store.saveBreaker(i % 2 ? 'a' : 'b', { i }, i);
    const file = breakersFile(dir);
    expect(readLines(file)).toHaveLength(100);
    const size = statSync(file).size;
    const loaded = await store.loadBreakers();
    expect(Object.fromEntries(loaded.breakers)).toEqual({ a: { i: 99 }, b: { i: 98 } });
    expect(readLines(file)).toHaveLength(2);
    expect(statSync(file).size).toBeLessThan(size / 10);
    expect(readdirSync(dir).sort()).toEqual(['breakers.jsonl', 'owner.lock', 'runs']);
    // Writes after the compaction go on the new file.
    await store.saveBreaker('a', { i: 100 }, 100);
    expect((await open(dir).loadBreakers()).breakers.get('a')).toEqual({ i: 100 });
  });
});
