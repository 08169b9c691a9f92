import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelAgents } from '../src/cli/demo.js';

/** The compiled CLI, run as a user runs it: a process, its exit code, what it printed. */
const built = 'dist/.test-cli';
const bin = `${built}/src/cli/index.js`;

function agentcharts(args: string[], nodeArgs: string[] = []) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    // No timeout here: the test's own timeout catches a hang.
    execFile(process.execPath, [...nodeArgs, bin, ...args], (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, out: stdout, err: stderr }),
    );
  });
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

beforeAll(async () => {
  // Compile the CLI and the example (tsc 7: a second or two); vitest cannot hand TS to a child.
  await new Promise<void>((resolve, reject) =>
    execFile('node_modules/.bin/tsc', ['-p', 'test/fixtures/cli/tsconfig.json'], (error, stdout) =>
      error ? reject(new Error(`${error.message}\n${stdout}`)) : resolve(),
    ),
  );
}, 60_000);

describe('the compiled agentcharts command', () => {
  it("--version reads agentcharts' package.json from wherever the build put the CLI", async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
    expect(await agentcharts(['--version'])).toEqual({ code: 0, out: `${version}\n`, err: '' });
  });

  it('check --help and load --help exit 0 with the options', async () => {
    const check = await agentcharts(['check', '--help']);
    expect([check.code, check.err]).toEqual([0, '']);
    expect(check.out).toContain('usage: agentcharts check <module> [options]');
    const load = await agentcharts(['load', '--help']);
    expect([load.code, load.err]).toEqual([0, '']);
    expect(load.out).toContain('--drain <time>');
  });

  it('check on the compiled example the README shows: 8/8, exit 0', async () => {
    const { code, out } = await agentcharts(['check', `${built}/examples/report.js`]);
    expect(out).toContain('8/8 pass');
    expect(code).toBe(0);
  });

  it('an error with --json is JSON on stdout, exit 2', async () => {
    const { code, out, err } = await agentcharts(['load', 'nowhere.js', '--json']);
    expect(code).toBe(2);
    expect(err).toBe('');
    expect(JSON.parse(out)).toEqual({
      error: { kind: 'usage', message: expect.stringMatching(/^cannot find module nowhere.js/) },
    });
  });

  it('demo --model without the ai package: one line, then the mock agents; exit 0, no stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentcharts-demo-'));
    dirs.push(dir);
    // Real time on purpose (about 2 s): this checks what a user's process does, not our timing logic.
    const { code, out, err } = await agentcharts(
      ['demo', '--model', 'openai:gpt-4o-mini', '--out', dir, '--concurrency', '12'],
      ['--import', './test/fixtures/cli/no-ai.mjs'],
    );
    expect(out.split('\n')[0]).toBe(
      '--model openai:gpt-4o-mini: the ai package is not installed (npm install ai and a provider package, e.g. @ai-sdk/openai); using the mock agents',
    );
    expect(out).toMatch(/12 runs in .*: 2 completed, 10 explicit fallbacks, 0 failed/);
    // stderr has the escalations' JSON lines (the demo's reviewer), nothing else.
    expect(err).not.toMatch(/unexpected error|\n\s+at /);
    expect(code).toBe(0);
  }, 60_000);
});

describe('demo --model: what it says when the model cannot be used', () => {
  it('agentcharts/model failing to load for another reason: named in one line, mocks used', async () => {
    const lines: string[] = [];
    const agents = await modelAgents('openai:gpt-4o-mini', { log: (t) => lines.push(t) }, () =>
      Promise.reject(new SyntaxError('Unexpected token\n    at a stack frame')),
    );
    expect(agents).toEqual({});
    expect(lines).toEqual([
      '--model openai:gpt-4o-mini: agentcharts/model could not be loaded (Unexpected token); using the mock agents\n',
    ]);
  });

  it('a provider that is not set up: the reason, mocks used', async () => {
    const lines: string[] = [];
    const agents = await modelAgents('nope:model', { log: (t) => lines.push(t) });
    expect(agents).toEqual({});
    expect(lines[0]).toMatch(
      /^--model nope:model: expected provider:model with provider one of openai, .*; using the mock agents/,
    );
  });
});
