/**
 * What durability costs: an fsync per commit in the file store, against no fsync and the memory store.
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/file-store.js [dir]
 *
 * The folder must be on the disk you mean to measure (tmpfs makes fsync free). Each commit carries
 * two log entries and a workflow snapshot of about 2 KiB, which is what a step transition writes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogEntry } from '../src/log/state-log.js';
import { fileStore } from '../src/store/file.node.js';
import { memoryStore } from '../src/store/memory.js';
import type { Store } from '../src/store/store.js';

export interface FileStoreScenario {
  name: string;
  commits: number;
  /** Wall time per commit as the caller sees it (awaiting each one). */
  microsPerCommit: number;
  commitsPerSecond: number;
}

export interface FileStoreReport {
  dir: string;
  /** A bare `appendFile` + `fdatasync` of one 2.5 KiB line, for reference. */
  rawFsyncMicros: number;
  scenarios: FileStoreScenario[];
}

const SNAPSHOT = {
  value: { running: { writer: 'attempting' } },
  context: { notes: 'x'.repeat(2_000), steps: [1, 2, 3] },
};

const entries = (seq: number): LogEntry[] => [
  {
    seq,
    actorId: 'report',
    version: seq,
    at: seq,
    event: { type: 'xstate.done.actor.0.report' },
    state: { value: 'a' },
  },
  {
    seq: seq + 1,
    actorId: 'report/writer',
    version: seq,
    at: seq,
    event: { type: 'tick' },
    state: { value: 'b' },
  },
];

async function rawFsync(dir: string, n: number): Promise<number> {
  const line = `${'y'.repeat(2_500)}\n`;
  const handle = await open(join(dir, 'raw.jsonl'), 'a');
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    await handle.appendFile(line);
    await handle.datasync();
  }
  const micros = ((performance.now() - start) * 1_000) / n;
  await handle.close();
  return micros;
}

/** `runs` runs side by side, each awaiting `perRun` commits in turn. */
async function commits(name: string, store: Store, runs: number, perRun: number): Promise<FileStoreScenario> {
  const ids = Array.from({ length: runs }, (_, i) => `${name.replace(/\W+/g, '-')}-${i}`);
  await Promise.all(
    ids.map((runId) => store.create({ runId, workflowId: 'report', input: {}, startedAt: 0 })),
  );
  const start = performance.now();
  await Promise.all(
    ids.map(async (runId) => {
      for (let c = 0; c < perRun; c++) {
        await store.commit(runId, { at: c, entries: entries(c * 2 + 1), snapshot: SNAPSHOT });
      }
    }),
  );
  const ms = performance.now() - start;
  const total = runs * perRun;
  await store.close();
  return {
    name,
    commits: total,
    microsPerCommit: (ms * 1_000) / perRun,
    commitsPerSecond: total / (ms / 1_000),
  };
}

export async function fileStoreBench(
  dir = mkdtempSync(join(tmpdir(), 'agentcharts-bench-')),
): Promise<FileStoreReport> {
  try {
    const rawFsyncMicros = await rawFsync(dir, 200);
    const scenarios = [
      await commits('file, fsync, 1 run', fileStore({ dir: join(dir, 'a') }), 1, 200),
      await commits('file, no fsync, 1 run', fileStore({ dir: join(dir, 'b'), fsync: false }), 1, 200),
      await commits('file, fsync, 50 runs at once', fileStore({ dir: join(dir, 'c') }), 50, 20),
      await commits(
        'file, no fsync, 50 runs at once',
        fileStore({ dir: join(dir, 'd'), fsync: false }),
        50,
        20,
      ),
      await commits('memory, 1 run', memoryStore(), 1, 2_000),
    ];
    return { dir, rawFsyncMicros, scenarios };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printFileStoreReport(report: FileStoreReport): void {
  console.log(`file store in ${report.dir}: bare append + fdatasync ${report.rawFsyncMicros.toFixed(0)} µs`);
  for (const s of report.scenarios) {
    console.log(
      `${s.name}: ${s.microsPerCommit.toFixed(0)} µs per awaited commit, ` +
        `${Math.round(s.commitsPerSecond).toLocaleString('en')} commits/s (${s.commits} commits)`,
    );
  }
}

// Run when executed directly, not when imported by bench/index.ts.
if (import.meta.url === `file://${process.argv[1]}`)
  printFileStoreReport(await fileStoreBench(process.argv[2]));
