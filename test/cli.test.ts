import { afterEach, describe, expect, it, vi } from 'vitest';
import { fromPromise, setup } from 'xstate';
import { workflow as report } from '../examples/report.js';
import { checkMachine } from '../src/cli/check.js';
import { main } from '../src/cli/index.js';
import { percentile, runLoad } from '../src/cli/load.js';

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
  it('reads the report workflow: 7 of 8 pass, escalation is missing, exit 1', async () => {
    const { code, out } = await cli('check', 'examples/report.ts');
    expect(code).toBe(1);
    expect(out).toContain('✓ 1. shared state is immutable and conflict-safe, with history');
    expect(out).toContain('✗ 6. low confidence escalates to a human');
    expect(out).toContain('    step writer: no human review');
    expect(out).toContain('7/8 pass');
  });

  it('--json gives every item with pass and findings', async () => {
    const { code, out } = await cli('check', 'examples/report.ts', '--json');
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
  ])('%j', async (argv, message) => {
    const { code, err } = await cli(...argv);
    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(err).toMatch(/^agentcharts: /);
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
