import { afterEach, describe, expect, it, vi } from 'vitest';
import { fromPromise, setup } from 'xstate';
import { workflow as report } from '../examples/report.js';
import { checkMachine } from '../src/cli/check.js';
import { formatLoad, main } from '../src/cli/index.js';
import { percentile, runLoad } from '../src/cli/load.js';
import { testClock } from './helpers/clock.js';

/** Run the CLI in-process, capturing what it prints. */
async function cli(...argv: string[]) {
  const log: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { log: (t) => log.push(t), err: (t) => err.push(t) });
  return { code, out: log.join('\n'), err: err.join('\n') };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('agentcharts check', () => {
  it("the README's example, examples/report.ts, passes all eight items: exit 0", async () => {
    const { code, out } = await cli('check', 'examples/report.ts');
    expect(code).toBe(0);
    expect(out).toContain('✓ 1. shared state is immutable and conflict-safe, with history');
    expect(out).toContain('✓ 6. low confidence escalates to a human');
    expect(out).not.toContain('✗');
    expect(out).toContain('8/8 pass');
  });

  it('names a missing human review: 7 of 8 pass, exit 1', async () => {
    const { code, out } = await cli('check', 'test/fixtures/cli/unreviewed.ts');
    expect(code).toBe(1);
    expect(out).toContain('✓ 1. shared state is immutable and conflict-safe, with history');
    expect(out).toContain('✗ 6. low confidence escalates to a human');
    expect(out).toContain('    step writer: no human review');
    expect(out).toContain('7/8 pass');
  });

  it('--json gives every item with pass and findings', async () => {
    const { code, out } = await cli('check', 'test/fixtures/cli/unreviewed.ts', '--json');
    expect(code).toBe(1);
    const parsed = JSON.parse(out);
    expect(parsed.items.map((i: { item: number; pass: boolean }) => [i.item, i.pass])).toEqual([
      [1, true],
      [2, true],
      [3, true],
      [4, true],
      [5, true],
      [6, false],
      [7, true],
      [8, true],
    ]);
    const example = JSON.parse((await cli('check', 'examples/report.ts', '--json')).out);
    expect(example).toMatchObject({ export: 'workflow', pass: true });
    expect(example.items.every((i: { pass: boolean }) => i.pass)).toBe(true);
  });

  it('a module without a workflow: the message names each export and its kind', async () => {
    const { code, err } = await cli('check', 'test/fixtures/cli/no-workflow.ts');
    expect(code).toBe(2);
    expect(err).toMatch(/exports no workflow or statechart .*; it exports: /);
    expect(err).toContain("researcher (agent: put it in a workflow's steps)");
    expect(err).toContain('topics (array)');
    expect(err).toContain('makeInput (function)');
    expect(err).toContain('Helper (class)');
    expect(err).toContain('load (object)');
  });

  it('names the edge without a breaker, the missing deadline and the missing output schema', async () => {
    const { defineAgent } = await import('../src/agent.js');
    const { defineWorkflow } = await import('../src/workflow/define.js');
    const { mockRun } = await import('../src/testing/mock-agent.js');
    const { Draft } = await import('./helpers/agents.js');
    const agent = (id: string) =>
      defineAgent({ id, output: Draft, run: mockRun([{ output: { content: 'x', confidence: 1 } }]) });
    const loose = defineWorkflow({
      id: 'loose',
      steps: [
        { agent: agent('researcher'), breaker: false },
        { agent: agent('writer'), minQuality: 'LOW', review: true },
      ],
    });
    const items = checkMachine({ name: 'loose', machine: loose.machine, load: { expected: 10 } });
    const failing = Object.fromEntries(items.filter((i) => !i.pass).map((i) => [i.item, i.findings]));
    expect(failing).toEqual({
      2: ['edge researcher→writer: no circuit breaker', 'step writer: quality gate lets LOW output through'],
      4: ['workflow: no deadlineMs'],
      7: ['final output: no schema'],
    });
  });

  it('names what is missing in a hand-written statechart', () => {
    const machine = setup({ actors: { callModel: fromPromise(async () => 'text') } }).createMachine({
      id: 'handmade',
      initial: 'asking',
      states: { asking: { invoke: { src: 'callModel', onDone: 'done' } }, done: { type: 'final' } },
    });
    const items = checkMachine({ name: 'handmade', machine });
    const failing = Object.fromEntries(items.filter((i) => !i.pass).map((i) => [i.item, i.findings]));
    expect(failing[1]).toEqual(['handmade: no shared-state actor (blackboard) is invoked']);
    expect(failing[3]).toEqual([
      'state asking: invokes "callModel", not a guarded agent (agentActor): no attempt spans',
    ]);
    expect(failing[4]).toEqual(['state asking: invoke "callModel" has no timeout']);
    expect(failing[5]).toEqual(['state asking: invoke "callModel" has no onError fallback']);
    expect(failing[8]).toEqual([
      'handmade: no expected concurrency declared (export const load = { expected: 200 })',
    ]);
  });
});

describe('agentcharts: bad input gets a clear message and a non-zero exit', () => {
  it.each([
    [['load', 'examples/report.ts', '--bogus'], /Unknown option '--bogus'/],
    [
      ['load', 'examples/report.ts', '--duration', 'soon'],
      /--duration must be a duration like 30s, 500ms or 2m, received "soon"/,
    ],
    [
      ['load', 'examples/report.ts', '--factor', '0'],
      /--factor must be a number from 0.01 to 1000, received "0"/,
    ],
    [['load', 'examples/report.ts', '--throw-rate', '0.7', '--hang-rate', '0.5'], /add up to more than 1/],
    [['load', 'nowhere.js'], /cannot find module nowhere.js/],
    [['load'], /missing <module>/],
    [['check', 'src/testing/random.ts'], /exports no workflow or statechart/],
    [
      ['check', 'examples/report.ts', '--export', 'nope'],
      /has no workflow export named "nope" \(it has: workflow\)/,
    ],
    [['deploy'], /unknown command "deploy"/],
    [['load', 'examples/report.ts', '--duration', '0'], /--duration must be from 1 ms to 24 h, received "0"/],
    [['load', 'examples/report.ts', '--drain', 'later'], /--drain must be a duration like 30s/],
    [
      ['load', 'examples/report.ts', '--expected', '1000000', '--duration', '1s'],
      /--expected 1000000 × --factor 5: 5000000 runs in flight is more than this process can hold: about \d+ \(half of the .* free of a .* heap, at ~64.0 KiB per in-flight run\)/,
    ],
  ])('%j', async (argv, message) => {
    const { code, err } = await cli(...argv);
    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(err).toMatch(/^agentcharts: /);
  });
});

describe('agentcharts: help, version, and errors as JSON', () => {
  it.each([
    ['check', /^agentcharts check — /],
    ['load', /^agentcharts load — /],
    ['demo', /^agentcharts demo — /],
    ['console', /^agentcharts console — /],
  ])("%s --help, -h and help %s print that command's options, exit 0", async (command, title) => {
    for (const argv of [
      [command, '--help'],
      [command, '-h'],
      ['help', command],
    ]) {
      const { code, out, err } = await cli(...argv);
      expect([argv, code, err]).toEqual([argv, 0, '']);
      expect(out).toMatch(title);
      expect(out).toContain(`usage: agentcharts ${command}`);
    }
  });

  it('--help lists every command and how to get its options', async () => {
    const { code, out } = await cli('--help');
    expect(code).toBe(0);
    expect(out).toContain('agentcharts <command> --help');
    expect(out).toContain('agentcharts --version');
    for (const command of ['demo', 'load', 'check', 'console'])
      expect(out).toContain(`agentcharts ${command} `);
  });

  it("--version prints the version in agentcharts' package.json", async () => {
    const { readFileSync } = await import('node:fs');
    const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
    expect((await cli('--version')).out).toBe(version);
    expect((await cli('-v')).code).toBe(0);
    expect(JSON.parse((await cli('--version', '--json')).out)).toEqual({ version });
  });

  it('finds the package.json named agentcharts by walking up, past any other', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { pathToFileURL } = await import('node:url');
    const { packageVersion } = await import('../src/cli/version.js');
    const root = mkdtempSync(join(tmpdir(), 'agentcharts-version-'));
    try {
      mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
      writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'agentcharts', version: '9.8.7' }));
      writeFileSync(join(root, 'dist', 'package.json'), JSON.stringify({ type: 'module' }));
      const from = pathToFileURL(join(root, 'dist', 'cli', 'index.js')).href;
      expect(packageVersion(from)).toBe('9.8.7');
      rmSync(join(root, 'package.json'));
      expect(() => packageVersion(from)).toThrow(/no package.json named "agentcharts" above/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it.each([
    [['load', 'nowhere.js', '--json'], /cannot find module nowhere.js/],
    [['load', 'examples/report.ts', '--bogus', '--json'], /Unknown option '--bogus'/],
    [['check', 'test/fixtures/cli/no-workflow.ts', '--json'], /exports no workflow or statechart/],
  ])('with --json, an error is JSON on stdout too: %j', async (argv, message) => {
    const { code, out, err } = await cli(...argv);
    expect(code).toBe(2);
    expect(err).toBe('');
    const parsed = JSON.parse(out);
    expect(parsed.error.kind).toBe('usage');
    expect(parsed.error.message).toMatch(message);
  });
});

describe('agentcharts: an internal error', () => {
  it('exits 70 with the stack; with --json, as JSON', async () => {
    const plain = await cli('check', 'test/fixtures/cli/fake-machine.ts');
    expect(plain.code).toBe(70);
    expect(plain.err).toMatch(/^agentcharts: unexpected error: TypeError: .*\n\s+at /);
    const json = await cli('check', 'test/fixtures/cli/fake-machine.ts', '--json');
    expect([json.code, json.err]).toEqual([70, '']);
    expect(JSON.parse(json.out)).toEqual({ error: { kind: 'internal', message: expect.any(String) } });
  });
});

describe('agentcharts load: every run is accounted for, and nothing passes by default', () => {
  const quiet = { latencyMs: [5, 5] as [number, number], throwRate: 0, hangRate: 0, invalidRate: 0, seed: 1 };

  it('runs that pause for a human count as awaitingReview, and the test ends', async () => {
    const { reviewedReport } = await import('../examples/reviewed-report.js');
    const clock = testClock();
    let settled = false;
    const done = runLoad({
      workflow: reviewedReport,
      input: (i) => ({ topic: `t${i}` }),
      expected: 2,
      factor: 2,
      durationMs: 60_000,
      maxRuns: 12,
      faults: quiet,
      slo: {},
      clock,
    }).finally(() => {
      settled = true;
    });
    for (let t = 0; t < 10_000 && !settled; t += 50) await clock.advance(50);
    const r = await done;
    expect(r.runs).toBe(12);
    expect([r.concurrency, r.peakInFlight]).toEqual([4, 4]);
    // Four (the first four in flight) pause for a human; their LOW drafts then open the writer's
    // breaker, so the other eight fall back.
    expect(r.outcomes).toMatchObject({ awaitingReview: 4, fallback: 8 });
    expect(Object.values(r.outcomes).reduce((a, b) => a + b, 0)).toBe(12);
    const paused = r.reasons.find((x) => x.status === 'awaitingReview');
    expect(paused).toMatchObject({ runs: 4 });
    expect(paused!.reason).toMatch(/^paused for a human: writer \(agent "writer" output confidence 0.62/);
    expect(r.unfinished).toBe(0);
  });

  it('runs still going at the drain limit are cancelled and counted as unfinished: the report fails', async () => {
    const { defineAgent } = await import('../src/agent.js');
    const { defineWorkflow } = await import('../src/workflow/define.js');
    const { Draft } = await import('./helpers/agents.js');
    const slow = defineWorkflow({
      id: 'slow',
      steps: [
        defineAgent({
          id: 'slow',
          output: Draft,
          limits: { maxIterations: 1, attemptTimeoutMs: 3_600_000 },
          run: () => ({ content: 'x', confidence: 0.9 }),
        }),
      ],
    });
    const clock = testClock();
    let settled = false;
    const done = runLoad({
      workflow: slow,
      input: () => ({}),
      expected: 3,
      factor: 1,
      durationMs: 1_000,
      drainMs: 5_000,
      faults: { ...quiet, hangRate: 1 },
      slo: {},
      clock,
    }).finally(() => {
      settled = true;
    });
    for (let t = 0; t < 5_900; t += 100) await clock.advance(100);
    expect(settled).toBe(false);
    await clock.advance(100);
    const r = await done;
    expect(settled).toBe(true);
    expect(r.unfinished).toBe(3);
    expect(r.runs).toBe(0);
    expect(r.slo.find((x) => x.name === 'runs unfinished at the drain limit')).toMatchObject({
      actual: 3,
      pass: false,
    });
    expect(r.pass).toBe(false);
  });

  it('a test in which no run finished fails', async () => {
    const r = await runLoad({
      workflow: report,
      input: () => ({ topic: 't' }),
      expected: 1,
      factor: 1,
      durationMs: 0,
      faults: quiet,
      slo: {},
      clock: testClock(),
    });
    expect(r.runs).toBe(0);
    expect(r.slo.find((x) => x.name === 'runs finished')).toMatchObject({
      actual: 0,
      pass: false,
      atLeast: true,
    });
    expect(r.pass).toBe(false);
  });

  it('failed runs fail the report with no SLO declared, and the most frequent reasons are named', async () => {
    const clock = testClock();
    let settled = false;
    // The module's load.input does not match the workflow's input schema: every run fails at start.
    const done = runLoad({
      workflow: report,
      input: (i) => ({ title: `t${i}` }),
      expected: 2,
      factor: 1,
      durationMs: 60_000,
      maxRuns: 10,
      faults: quiet,
      slo: {},
      clock,
    }).finally(() => {
      settled = true;
    });
    for (let t = 0; t < 10_000 && !settled; t += 50) await clock.advance(50);
    const r = await done;
    expect(r.outcomes.failed).toBe(10);
    expect(r.slo.find((x) => x.name === 'failed rate')).toMatchObject({ limit: 0, actual: 1, pass: false });
    expect(r.pass).toBe(false);
    expect(r.reasons).toHaveLength(1);
    expect(r.reasons[0]).toMatchObject({ status: 'failed', runs: 10 });
    const text = formatLoad(r);
    expect(text).toContain('most frequent reasons a run did not complete');
    expect(text).toContain(r.reasons[0]!.reason);
    expect(text).toMatch(/SLO failed: failed rate$/);
    expect(text).toMatch(/✓ +runs finished +10 +≥ 1/);
    expect(text).toMatch(/✗ +failed rate +1 +≤ 0/);
    expect(text).not.toContain('all SLOs met');
  });

  it("the module's input function throwing: those runs failed, with the reason", async () => {
    const clock = testClock();
    let settled = false;
    const done = runLoad({
      workflow: report,
      input: (i) => {
        if (i % 2 === 1) throw new Error(`no topic for ${i}`);
        return { topic: `t${i}` };
      },
      expected: 1,
      factor: 1,
      durationMs: 60_000,
      maxRuns: 4,
      faults: quiet,
      slo: {},
      clock,
    }).finally(() => {
      settled = true;
    });
    for (let t = 0; t < 10_000 && !settled; t += 50) await clock.advance(50);
    const r = await done;
    expect(r.outcomes).toMatchObject({ completed: 2, failed: 2 });
    expect(r.reasons.map((x) => x.reason).sort()).toEqual([
      'load.input(1) threw: no topic for 1',
      'load.input(3) threw: no topic for 3',
    ]);
    expect(r.pass).toBe(false);
  });

  it("the module's load export is checked, naming the field and the value", async () => {
    const { readLoadExport } = await import('../src/cli/load-export.js');
    expect(() => readLoadExport({ expected: 'many' })).toThrow(
      /the module's load.expected must be a positive integer .*, received "many"/,
    );
    expect(() => readLoadExport({ input: 5 })).toThrow(
      /load.input must be a function \(i\) => input, received 5/,
    );
    expect(() => readLoadExport({ slo: { maxFailedRate: 2 } })).toThrow(
      /load.slo.maxFailedRate must be a number from 0 to 1, received 2/,
    );
    expect(() => readLoadExport({ slo: { p99: 100 } })).toThrow(
      /load.slo.p99 must be one of .*\(unknown key\)/,
    );
    expect(readLoadExport({ expected: 3, slo: { p99Ms: 100 } })).toEqual({
      expected: 3,
      slo: { p99Ms: 100 },
    });
    expect(() =>
      readLoadExport({
        get slo() {
          throw new Error('unreadable');
        },
      }),
    ).toThrow(/^the module's load export cannot be read: unreadable$/);
    const { code, err } = await cli('load', 'test/fixtures/cli/bad-load.ts');
    expect(code).toBe(2);
    expect(err).toMatch(
      /^agentcharts: the module's load.slo.p99Ms must be a finite number ≥ 0, received "2s"/,
    );
  });

  it('the capacity bound comes from the heap: half of what is free, at 64 KiB per run in flight', async () => {
    const { loadCapacity, overCapacity } = await import('../src/cli/capacity.js');
    const gib = 1024 ** 3;
    const capacity = loadCapacity({ heap_size_limit: 2 * gib, used_heap_size: gib } as never);
    expect(capacity.maxInFlight).toBe(8192);
    expect(overCapacity(8192, capacity)).toBeUndefined();
    expect(overCapacity(8193, capacity)).toMatch(
      /^8193 runs in flight is more than this process can hold: about 8192 \(half of the 1.0 GiB free of a 2.0 GiB heap/,
    );
  });
});

describe('agentcharts load', () => {
  it('runs at factor × expected concurrency with seeded faults and reports every figure', async () => {
    vi.useFakeTimers();
    const done = runLoad({
      workflow: report,
      input: (i) => ({ topic: `t${i}` }),
      expected: 4,
      factor: 5,
      durationMs: 60_000,
      maxRuns: 200,
      faults: { latencyMs: [10, 50], throwRate: 0.05, hangRate: 0.02, invalidRate: 0.05, seed: 7 },
      slo: { maxFailedRate: 0 },
    });
    await vi.runAllTimersAsync();
    const r = await done;
    expect(r.concurrency).toBe(20);
    expect(r.runs).toBe(200);
    expect(Object.values(r.outcomes).reduce((a, b) => a + b, 0)).toBe(200);
    expect(r.outcomes.completed).toBeGreaterThan(150);
    // Faults were injected: most were absorbed by retries, none hidden.
    expect(r.attempts.retried).toBeGreaterThan(0);
    expect(r.attempts.total).toBe(r.attempts.calls + r.attempts.retried);
    expect(r.outcomes.failed).toBe(0);
    expect(r.lostUpdates).toBe(0);
    expect(r.unhandledRejections).toBe(0);
    expect(r.latencyMs.p50).toBeLessThanOrEqual(r.latencyMs.p95);
    expect(r.latencyMs.p95).toBeLessThanOrEqual(r.latencyMs.p99);
    expect(Object.keys(r.fallbackCauses).every((k) => /^(agent|gate|breakerOpen)@/.test(k))).toBe(true);
    expect(r.pass).toBe(true);
  });

  it('the same seed gives the same outcomes', async () => {
    const once = async () => {
      vi.useFakeTimers();
      const done = runLoad({
        workflow: report,
        input: () => ({ topic: 't' }),
        expected: 2,
        factor: 5,
        durationMs: 60_000,
        maxRuns: 60,
        faults: { latencyMs: [5, 25], throwRate: 0.1, hangRate: 0, invalidRate: 0.1, seed: 3 },
        slo: {},
      });
      await vi.runAllTimersAsync();
      const r = await done;
      vi.useRealTimers();
      return { outcomes: r.outcomes, causes: r.fallbackCauses };
    };
    expect(await once()).toEqual(await once());
  });

  it('a declared SLO that fails makes the report fail', async () => {
    vi.useFakeTimers();
    const done = runLoad({
      workflow: report,
      input: () => ({ topic: 't' }),
      expected: 2,
      factor: 5,
      durationMs: 60_000,
      maxRuns: 40,
      faults: { latencyMs: [100, 100], throwRate: 0, hangRate: 0, invalidRate: 0, seed: 1 },
      slo: { p99Ms: 50 },
    });
    await vi.runAllTimersAsync();
    const r = await done;
    expect(r.slo.find((s) => s.name === 'p99 latency (ms)')).toMatchObject({ pass: false, limit: 50 });
    expect(r.pass).toBe(false);
  });

  it('percentiles use the nearest rank', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(sorted, 50), percentile(sorted, 95), percentile(sorted, 99)]).toEqual([50, 95, 99]);
    expect(percentile([], 99)).toBe(0);
  });
});

describe('agentcharts demo', () => {
  it('runs the research reports through every failure mode and writes traces and logs', async () => {
    const { mkdtempSync, readdirSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'agentcharts-demo-'));
    await import('../src/cli/demo.js'); // loaded for real first: module loading is not a timer
    vi.useFakeTimers(); // the mock agents' latency and the scripted reviewer: simulated, not waited for
    let settled = false;
    const running = cli('demo', '--out', dir).finally(() => {
      settled = true;
    });
    for (let t = 0; t < 60_000 && !settled; t += 50) await vi.advanceTimersByTimeAsync(50);
    const { code, out } = await running;
    vi.useRealTimers();
    expect(code).toBe(0);
    expect(out).toMatch(/researcher +✗ .*attempt 3 of 3 timed out after 400 ms/);
    expect(out).toMatch(/fact-checker +✗ .*isDone was not satisfied within 3 iterations/);
    expect(out).toMatch(/⚡ breaker style-checker→writer opened/);
    expect(out).toMatch(/breakerOpen: step style-checker: breaker "style-checker→writer" is open/);
    expect(out).toMatch(/✔ report-02\.writer\.1: approved by demo-reviewer/);
    expect(out).toMatch(/12 runs in .*: 2 completed, 10 explicit fallbacks, 0 failed; latency p50/);
    expect(out).toMatch(/style-checker→writer +open +3/);
    const files = readdirSync(dir).sort();
    expect(files).toHaveLength(24);
    const trace = JSON.parse(readFileSync(join(dir, 'report-01.trace.json'), 'utf8'));
    expect(trace).toMatchObject({ agentCalls: 4, errors: 0 });
    const firstLine = JSON.parse(readFileSync(join(dir, 'report-01.log.jsonl'), 'utf8').split('\n')[0]!);
    expect(firstLine).toMatchObject({ seq: 1 });
    rmSync(dir, { recursive: true, force: true });
  });
});
