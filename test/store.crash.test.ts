import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileStore } from '../src/store/file.node.js';

/**
 * The file store survives a process killed with SIGKILL mid-way: every write the child saw resolve
 * is there, nothing is corrupt, and a second process takes every run to its end. This checks the
 * storage layer; the runtime's crash test (issue #8) uses the same child-process shape
 * (test/fixtures/crash/child.mjs says how).
 */

const built = 'dist/.test-crash';
const RUNS = 200;
const COMMITS = 20;
const KILL_AFTER = 1_000; // acknowledged commits, of 4,000

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

beforeAll(async () => {
  // Compile just what the child needs (tsc 7: about a second); vitest cannot hand TS to a child.
  await new Promise<void>((resolve, reject) =>
    execFile('node_modules/.bin/tsc', ['-p', 'test/fixtures/crash/tsconfig.json'], (error, stdout) =>
      error ? reject(new Error(`${error.message}\n${stdout}`)) : resolve(),
    ),
  );
}, 60_000);

describe('fileStore: a process killed with SIGKILL mid-way', () => {
  it('loses no acknowledged write, corrupts no run, and a new process finishes every run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentcharts-crash-'));
    dirs.push(dir);
    // Real processes on purpose: this is about what a kill leaves on disk, not about timing.
    const child = spawn(
      process.execPath,
      ['test/fixtures/crash/child.mjs', built, dir, String(RUNS), String(COMMITS)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const created = new Set<string>();
    const acked = new Map<string, number>();
    const finished = new Set<string>();
    let commits = 0;
    let buffer = '';
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        const [kind, runId, k] = line.split(' ');
        if (kind === 'CREATED') created.add(runId!);
        if (kind === 'COMMIT') {
          acked.set(runId!, Number(k));
          if (++commits === KILL_AFTER) child.kill('SIGKILL');
        }
        if (kind === 'FINISHED') finished.add(runId!);
      }
    });
    expect(await exited).toBe('SIGKILL');
    expect(commits).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(finished.size).toBeLessThan(RUNS); // killed mid-way, not after the end

    // A new process (here: a new store on the same folder) looks at what is left.
    const store = fileStore({ dir });
    const { runs, errors } = await store.listUnfinished();
    expect(errors).toEqual([]);
    const ids = await store.runIds();
    for (const runId of created) expect(ids).toContain(runId);
    for (const runId of finished) expect(runs.map((r) => r.meta.runId)).not.toContain(runId);
    for (const run of runs) {
      const { runId } = run.meta;
      const k = (run.snapshot?.value as { k: number } | undefined)?.k ?? 0;
      // Every acknowledged commit is there; at most the one in flight went further.
      expect(k).toBeGreaterThanOrEqual(acked.get(runId) ?? 0);
      expect(run.entries.map((e) => e.seq)).toEqual(Array.from({ length: k }, (_, i) => i + 1));
      expect(run.meta.status).toBe(k > 0 && k % 5 === 0 ? 'awaitingReview' : 'running');
      // Pending reviews (run-owned actors) survive with the run.
      expect(Object.keys(run.actors).length).toBe(Math.floor(k / 5));
    }

    // Resume: carry every unfinished run on from where its log ends.
    await Promise.all(
      runs.map(async (run) => {
        const { runId } = run.meta;
        for (let k = run.entries.length + 1; k <= COMMITS; k++) {
          const entry = {
            seq: k,
            actorId: 'crash',
            version: k,
            at: k,
            event: { type: 'step' },
            state: { k },
          };
          await store.commit(runId, { at: k, entries: [entry], snapshot: { k } });
        }
        await store.finish(runId, { status: 'completed', result: { k: COMMITS }, at: COMMITS + 1 });
      }),
    );
    expect((await store.listUnfinished()).runs).toEqual([]);
    for (const runId of created) {
      const run = await store.load(runId);
      expect(run.meta.status).toBe('completed');
      expect(run.entries).toHaveLength(COMMITS);
    }
    await store.close();
  }, 60_000);
});
