import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { defineAgent } from '../src/agent.js';
import { isRunOf } from '../src/run.js';
import { createRuntime } from '../src/runtime.js';
import { memoryStore } from '../src/store/memory.js';
import { mockRun } from '../src/testing/mock-agent.js';
import { defineWorkflow } from '../src/workflow/define.js';
import { Draft, draft } from './helpers/agents.js';
import { settle, testClock } from './helpers/clock.js';

/**
 * Typed workflows: test/fixtures/types holds what must compile and what must not (each mistake
 * under `@ts-expect-error`, so a mistake that stops being an error fails too). They are
 * type-checked against the source and against the declarations a user installs.
 */

const tsc = (args: string[]) =>
  new Promise<{ code: number; out: string }>((resolve) =>
    execFile('node_modules/.bin/tsc', args, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    ),
  );

const probe = 'dist/.test-types-probe';

beforeAll(async () => {
  // The published .d.ts, emitted beside (not into) dist/src, which the package test rebuilds.
  const emitted = await tsc([
    '-p',
    'tsconfig.lib.json',
    '--emitDeclarationOnly',
    '--outDir',
    'dist/.test-types',
  ]);
  if (emitted.code !== 0) throw new Error(`emitting declarations failed:\n${emitted.out}`);
}, 120_000);

describe('typed workflows', () => {
  it('each marked mistake is an error on its line, and the messages name the step or the key', async () => {
    // The fixture without its @ts-expect-error directives, in a folder of its own.
    const text = readFileSync('test/fixtures/types/workflow.ts', 'utf8');
    const lines = text.split('\n');
    const expected = lines.flatMap((line, i) => (line.includes('// @ts-expect-error') ? [i + 2] : []));
    mkdirSync(probe, { recursive: true });
    writeFileSync(join(probe, 'workflow.ts'), text.replaceAll('// @ts-expect-error', '// expected:'));
    writeFileSync(
      join(probe, 'tsconfig.json'),
      JSON.stringify({
        extends: '../../tsconfig.json',
        compilerOptions: { rootDir: '../..' },
        include: ['workflow.ts'],
      }),
    );
    const { out } = await tsc(['-p', join(probe, 'tsconfig.json')]);
    const errorLines = [...out.matchAll(/workflow\.ts\((\d+),\d+\): error/g)].map((m) => Number(m[1]));
    expect(expected.length).toBeGreaterThanOrEqual(12);
    expect([...new Set(errorLines)].sort((a, b) => a - b)).toEqual(expected);
    // What a user reads: the step, the key, the target by name.
    // (tsc escapes the quotes in a property name)
    expect(out).toMatch(
      /step \\?"researcher\\?": its agent expects an input the default \{ input, state \} does not give/,
    );
    expect(out).toContain('"state.checker: the state schema does not accept what its step writes"');
    expect(out).toContain(`Type '"nowhere"' is not assignable to type '"checker" | "end" | "summariser"'`);
    expect(out).toContain(`Property 'topic' is missing in type '{ subject: string; }'`);
  }, 120_000);

  it('type-check against the source: the right things compile, every marked mistake is an error', async () => {
    const { code, out } = await tsc(['-p', 'test/fixtures/types/tsconfig.src.json']);
    expect(out).toBe('');
    expect(code).toBe(0);
  }, 120_000);

  it('type-check against the emitted .d.ts the same way', async () => {
    const { code, out } = await tsc(['-p', 'test/fixtures/types/tsconfig.dts.json']);
    expect(out).toBe('');
    expect(code).toBe(0);
  }, 120_000);
});

describe('isRunOf', () => {
  it('tells which workflow a resumed run is of', async () => {
    const clock = testClock();
    const store = memoryStore();
    const hangs = defineAgent({ id: 'slow', output: Draft, run: mockRun([{ hang: true }], { clock }) });
    const quick = defineAgent({
      id: 'quick',
      output: Draft,
      run: mockRun([{ output: draft('x', 0.9) }], { clock }),
    });
    const a = defineWorkflow({ id: 'a', steps: [hangs] });
    const b = defineWorkflow({ id: 'b', steps: [quick] });
    const before = createRuntime({ clock, store, workflows: [a, b] });
    before.start(a, null, { runId: 'r1' });
    await settle();
    await before.stop(); // unfinished in the store

    const after = createRuntime({ clock, store, workflows: [a, b] });
    const { runs } = await after.resume();
    expect(runs.map((r) => [r.id, r.workflowId])).toEqual([['r1', 'a']]);
    expect(isRunOf(runs[0]!, a)).toBe(true);
    expect(isRunOf(runs[0]!, b)).toBe(false);
    await after.stop();
  });
});
