import { execFile, spawn } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime } from '../src/runtime.js';
import { isStoreError } from '../src/store/errors.js';
import { fileStore } from '../src/store/file.node.js';
import type { Store } from '../src/store/store.js';
import { entry, newRun, storeError } from './helpers/store-contract.js';

/**
 * One owner per store folder, private files, no links followed. The owner in the first tests is a
 * real second process (test/fixtures/store-lock/child.mjs); waits are for its lines, never sleeps.
 */

const built = 'dist/.test-store-lock';
const dirs: string[] = [];
const stores: Store[] = [];
const children: ReturnType<typeof spawn>[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'agentcharts-lock-'));
  dirs.push(dir);
  return dir;
};
const open = (dir: string) => {
  const store = fileStore({ dir, fsync: false });
  stores.push(store);
  return store;
};
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => {});
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

beforeAll(async () => {
  // vitest cannot hand TypeScript to a child: compile what it needs (tsc 7, a second or two).
  await new Promise<void>((resolve, reject) =>
    execFile('node_modules/.bin/tsc', ['-p', 'test/fixtures/store-lock/tsconfig.json'], (error, stdout) =>
      error ? reject(new Error(`${error.message}\n${stdout}`)) : resolve(),
    ),
  );
}, 60_000);

/** A process that owns `dir`; `next(line)` resolves when it prints that line (or its first word). */
function owner(dir: string) {
  const proc = spawn(process.execPath, ['test/fixtures/store-lock/child.mjs', built, dir], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(proc);
  const waiting = new Map<string, (line: string) => void>();
  let buffer = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) {
      const key = line.split(' ')[0]!;
      waiting.get(key)?.(line);
      waiting.delete(key);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    proc,
    exited,
    next: (word: string) => new Promise<string>((resolve) => waiting.set(word, resolve)),
    send: (line: string) => proc.stdin.write(`${line}\n`),
  };
}

const lockFile = (dir: string) => join(dir, 'owner.lock');
const lockOf = (dir: string) =>
  JSON.parse(readFileSync(lockFile(dir), 'utf8')) as { pid: number; host: string };

describe('fileStore: one owner per folder', () => {
  it('a second process is refused with a StoreError `locked` naming the owner, until the owner stops', async () => {
    const dir = tempDir();
    const first = owner(dir);
    const pid = Number((await first.next('OWNED')).split(' ')[1]);
    expect(lockOf(dir)).toMatchObject({ pid, host: hostname() });

    // Every way in is refused: writes, reads, and a runtime's resume() (which used to find nothing wrong).
    const second = open(dir);
    const refused = await storeError(second.create(newRun('run-1')));
    expect(refused.code).toBe('locked');
    expect(refused.message).toContain(`the folder ${dir} is in use by process ${pid} on this machine`);
    expect(refused.message).toContain(`delete ${lockFile(dir)}`);
    expect((await storeError(second.listUnfinished())).code).toBe('locked');
    expect((await storeError(second.load('run-1'))).code).toBe('locked');
    const runtime = createRuntime({ store: second, workflows: [] });
    const resumed = await runtime.resume().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isStoreError(resumed) && resumed.code).toBe('locked');
    expect(existsSync(join(dir, 'runs', 'run-1.jsonl'))).toBe(false);

    // runtime.stop() gives the folder up; the refused store takes it on its next call.
    first.send('stop');
    await first.next('STOPPED');
    expect(existsSync(lockFile(dir))).toBe(false);
    await second.create(newRun('run-1'));
    expect(lockOf(dir).pid).toBe(process.pid);
    first.send('exit');
    expect(await first.exited).toMatchObject({ code: 0 });
  }, 30_000);

  it('takes over the lock of an owner killed with SIGKILL (a dead pid)', async () => {
    const dir = tempDir();
    const first = owner(dir);
    const pid = Number((await first.next('OWNED')).split(' ')[1]);
    first.proc.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    expect(lockOf(dir).pid).toBe(pid); // left behind

    const store = open(dir);
    await store.create(newRun('run-1'));
    expect(lockOf(dir).pid).toBe(process.pid);
    await store.close();
    expect(existsSync(lockFile(dir))).toBe(false);
  }, 30_000);

  it('a process that exits without stopping or closing frees the folder', async () => {
    const dir = tempDir();
    const first = owner(dir);
    await first.next('OWNED');
    expect(existsSync(lockFile(dir))).toBe(true);
    first.send('exit');
    expect(await first.exited).toMatchObject({ code: 0 });
    expect(existsSync(lockFile(dir))).toBe(false);
  }, 30_000);

  it('takes over a lock whose pid now runs another process (started later); never one of another host', async () => {
    const dir = tempDir();
    const live = owner(dir);
    const pid = Number((await live.next('OWNED')).split(' ')[1]);
    live.send('stop');
    await live.next('STOPPED');
    // The same pid, alive, but the lock says it started at another time: the pid was reused.
    const reused = { pid, host: hostname(), since: 'then', procStart: '1', nonce: 'x' };
    writeFileSync(lockFile(dir), JSON.stringify(reused));
    const store = open(dir);
    if (existsSync(`/proc/${pid}/stat`)) {
      await store.runIds();
      expect(lockOf(dir).pid).toBe(process.pid);
      await store.close();
    }
    // A lock written on another machine cannot be checked: refused, never taken over.
    writeFileSync(lockFile(dir), JSON.stringify({ ...reused, host: 'elsewhere.example' }));
    const other = open(dir);
    const error = await storeError(other.runIds());
    expect(error.code).toBe('locked');
    expect(error.message).toContain(`process ${pid} on host elsewhere.example (since then)`);
    // A lock file that is not ours to read is held too.
    writeFileSync(lockFile(dir), 'garbage');
    expect((await storeError(open(dir).runIds())).message).toContain('its lock file is not readable');
    live.send('exit');
    await live.exited;
  }, 30_000);

  it('stores opened on one folder by one process share its ownership; the file goes with the last', async () => {
    const dir = tempDir();
    const a = open(dir);
    const b = open(dir);
    await a.create(newRun('run-1'));
    expect((await b.load('run-1')).meta.runId).toBe('run-1');
    await a.close();
    expect(existsSync(lockFile(dir))).toBe(true);
    await b.close();
    expect(existsSync(lockFile(dir))).toBe(false);
  });
});

describe('fileStore: release() (runtime.stop()) and taking the folder again', () => {
  it('starts again from the folder: what another owner wrote meanwhile is continued, not overwritten', async () => {
    const dir = tempDir();
    const a = open(dir);
    await a.create(newRun('run-1'));
    await a.commit('run-1', { at: 1001, entries: [entry(1)] });
    await a.release();
    expect(existsSync(lockFile(dir))).toBe(false);
    // Another owner takes the folder and goes on with the run.
    const b = open(dir);
    await b.commit('run-1', { at: 1002, entries: [entry(2)] });
    await b.commit('run-1', { at: 1003, entries: [entry(3)] });
    await b.close();
    // The first store takes the folder again and continues after b's records.
    await a.commit('run-1', { at: 1004, entries: [entry(4)] });
    expect(lockOf(dir).pid).toBe(process.pid);
    const run = await open(dir).load('run-1');
    expect(run.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });

  it('a write called during release() is flushed before the folder is given up', async () => {
    const dir = tempDir();
    const store = open(dir);
    await store.create(newRun('run-1'));
    const released = store.release();
    const next = store.commit('run-1', { at: 1001, entries: [entry(1)] });
    await Promise.all([released, next]);
    expect(existsSync(lockFile(dir))).toBe(false);
    // Another owner sees it; then the first store takes the folder again for its next call.
    const other = open(dir);
    expect((await other.load('run-1')).entries).toHaveLength(1);
    await other.close();
    expect((await store.load('run-1')).entries).toHaveLength(1);
    expect(lockOf(dir).pid).toBe(process.pid);
  });

  it('close() is final: a closed store does not come back by itself', async () => {
    const dir = tempDir();
    const store = open(dir);
    await store.create(newRun('run-1'));
    await store.release();
    await store.close();
    expect((await storeError(store.load('run-1'))).code).toBe('closed');
    expect(existsSync(lockFile(dir))).toBe(false);
  });
});

describe('fileStore: private files, no links followed', () => {
  const mode = (path: string) => statSync(path).mode & 0o777;

  it('creates its folders 0700 and its files 0600', async () => {
    const dir = join(tempDir(), 'store');
    const store = open(dir);
    await store.create(newRun('run-1'));
    await store.commit('run-1', { at: 1001, entries: [entry(1)] });
    await store.saveBreaker('b', { n: 1 }, 1);
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(dir, 'runs'))).toBe(0o700);
    expect(mode(join(dir, 'runs', 'run-1.jsonl'))).toBe(0o600);
    expect(mode(join(dir, 'breakers.jsonl'))).toBe(0o600);
    expect(mode(lockFile(dir))).toBe(0o600);
    // The compacted breakers file too.
    for (let i = 0; i < 80; i++) await store.saveBreaker('b', { n: i }, i);
    await store.loadBreakers();
    expect(mode(join(dir, 'breakers.jsonl'))).toBe(0o600);
  });

  /** A file outside the store that a link inside it points to. */
  const victim = (text: string) => {
    const file = join(tempDir(), 'victim.txt');
    writeFileSync(file, text);
    return file;
  };

  it('refuses a run file that is a symbolic link: the target is neither written nor truncated', async () => {
    const dir = tempDir();
    const store = open(dir);
    await store.create(newRun('real'));
    await store.close();
    // An existing run's file replaced by a link, and a link planted where a new run's file will go.
    const target = victim('precious data, no newline');
    rmSync(join(dir, 'runs', 'real.jsonl'));
    symlinkSync(target, join(dir, 'runs', 'real.jsonl'));
    symlinkSync(target, join(dir, 'runs', 'planted.jsonl'));

    const next = open(dir);
    const created = await storeError(next.create(newRun('planted')));
    expect(created).toMatchObject({ code: 'unsafe', runId: 'planted' });
    expect(created.message).toContain('planted.jsonl is a symbolic link');
    expect(await storeError(next.commit('real', { at: 2000, entries: [entry(1)] }))).toMatchObject({
      code: 'unsafe',
      runId: 'real',
    });
    expect((await storeError(next.load('real'))).code).toBe('unsafe');
    const { errors } = await next.listUnfinished();
    expect(errors.map((e) => [e.code, e.runId])).toEqual([
      ['unsafe', 'planted'],
      ['unsafe', 'real'],
    ]);
    expect(readFileSync(target, 'utf8')).toBe('precious data, no newline');
    expect(lstatSync(join(dir, 'runs', 'real.jsonl')).isSymbolicLink()).toBe(true);
  });

  it('refuses a breakers file or a runs folder that is a link', async () => {
    const dir = tempDir();
    const target = victim('');
    symlinkSync(target, join(dir, 'breakers.jsonl'));
    const store = open(dir);
    expect((await storeError(store.saveBreaker('b', { n: 1 }, 1))).code).toBe('unsafe');
    expect((await storeError(store.loadBreakers())).code).toBe('unsafe');
    expect(readFileSync(target, 'utf8')).toBe('');

    const other = tempDir();
    const elsewhere = join(tempDir(), 'elsewhere');
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, join(other, 'runs'));
    const error = await storeError(open(other).create(newRun('run-1')));
    expect(error.code).toBe('unsafe');
    expect(error.message).toContain(`${join(other, 'runs')} is a symbolic link`);
    expect(existsSync(join(elsewhere, 'run-1.jsonl'))).toBe(false);
  });
});
