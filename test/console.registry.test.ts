import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { describe, expect, it } from 'vitest';
import { createRunRegistry } from '../src/console/registry.js';
import type { Run } from '../src/run.js';
import type { RunTerminal } from '../src/run-result.js';
import type { Workflow } from '../src/workflow/define.js';

/** The console's run registry: bounded, and kept out of browser bundles with the server. */

function fakeRun(id: string) {
  let end!: (t: RunTerminal) => void;
  const done = new Promise<RunTerminal>((resolve) => {
    end = resolve;
  });
  const run = { id, onLog: () => () => {}, result: done, done } as unknown as Run;
  const finish = () =>
    end({
      status: 'completed',
      runId: id,
      workflowId: 'w',
      output: 1,
      steps: [],
      startedAt: 0,
      endedAt: 1,
      durationMs: 1,
    });
  return { run, finish };
}
const workflow = { id: 'w' } as Workflow;
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('the console run registry', () => {
  it('keeps every run in flight, the newest finished ones with details, and drops the oldest beyond maxRuns', async () => {
    const registry = createRunRegistry({ now: () => 0, maxRuns: 1_000, keepDetails: 10 });
    const runs = Array.from({ length: 3_000 }, (_, i) => fakeRun(`run-${i}`));
    for (const r of runs) registry.track(r.run, workflow);
    expect(registry.size).toBe(3_000); // nothing in flight is ever dropped
    for (const r of runs.slice(0, 2_500)) r.finish();
    await settle();
    expect(registry.size).toBe(1_000);
    expect(registry.get('run-0')).toBeUndefined();
    expect(registry.get('run-2999')?.run).not.toBeNull(); // still running
    expect(registry.get('run-2499')?.run).not.toBeNull(); // among the 10 latest finished
    expect(registry.get('run-2489')?.run).toBeNull(); // finished earlier: summary only
    expect(registry.get('run-2489')?.terminal?.status).toBe('completed');
    expect(registry.get('run-2489')?.terminal).not.toHaveProperty('output'); // compacted
    expect(registry.get('run-2499')?.terminal).toHaveProperty('output', 1);
    expect(registry.list()[0]!.id).toBe('run-2999');
  });

  it('tells listeners which run changed, and survives a throwing listener', async () => {
    const registry = createRunRegistry({ now: () => 0 });
    const seen: string[] = [];
    registry.onChange(() => {
      throw new Error('boom');
    });
    const off = registry.onChange((id) => seen.push(id));
    const r = fakeRun('a');
    registry.track(r.run, workflow);
    r.finish();
    await settle();
    off();
    registry.track(fakeRun('b').run, workflow);
    expect(seen).toEqual(['a', 'a', 'a']); // started, result, ended
  });

  it('is not in a browser bundle of the runtime with the console server', async () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const dir = await mkdtemp(join(tmpdir(), 'agentcharts-console-safe-'));
    try {
      const entry = join(dir, 'entry.ts');
      await writeFile(
        entry,
        `import { createRuntime } from ${JSON.stringify(join(root, 'src/index.ts'))};\nconsole.log(createRuntime);\n`,
      );
      await build({
        configFile: false,
        root: dir,
        logLevel: 'error',
        build: { outDir: join(dir, 'out'), minify: false, rollupOptions: { input: entry } },
      });
      const files = await readdir(join(dir, 'out', 'assets'));
      const code = (
        await Promise.all(files.map((f) => readFile(join(dir, 'out', 'assets', f), 'utf8')))
      ).join('\n');
      expect(code).toContain('createRunRegistry'); // the registry is there…
      // …the HTTP server is not: it is loaded by a dynamic import the bundler does not follow.
      expect(code).not.toContain('MAX_BODY_BYTES');
      expect(code).not.toContain('createServer(');
      expect(code).not.toContain('timingSafeEqual');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
