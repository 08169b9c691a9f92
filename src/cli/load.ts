import type { Clock } from '../../machines/clock.js';
import type { RunResult, RunTerminal } from '../run-result.js';
import { createRuntime } from '../runtime.js';
import type { Workflow } from '../workflow/define.js';
import { withAgents } from '../workflow/define.js';
import type { FaultPlan } from './faults.js';
import { withFaults } from './faults.js';

/** The agentcharts load test: a workflow at `factor` × the expected concurrency, faults injected. */

export interface Slo {
  p50Ms?: number;
  p95Ms?: number;
  p99Ms?: number;
  /** Highest share of runs that may end in a fallback (0–1). */
  maxFallbackRate?: number;
  /** Highest share of runs that may fail (0–1). */
  maxFailedRate?: number;
  minThroughput?: number;
}

export interface LoadOptions {
  workflow: Workflow;
  /** The input of run `i`. */
  input: (i: number) => unknown;
  expected: number;
  factor: number;
  /** Stop starting runs after this long (ms); in-flight runs finish. */
  durationMs: number;
  /** Or stop after this many runs, whichever comes first. */
  maxRuns?: number;
  faults: FaultPlan;
  slo: Slo;
  clock?: Clock;
  /** Called about every `progressEveryMs` with the figures so far. */
  onProgress?: (progress: LoadProgress) => void;
  progressEveryMs?: number;
}

export interface LoadProgress {
  elapsedMs: number;
  durationMs: number;
  started: number;
  finished: number;
  inFlight: number;
}

export interface LoadReport {
  workflowId: string;
  concurrency: number;
  runs: number;
  elapsedMs: number;
  throughput: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  outcomes: Record<RunTerminal['status'], number>;
  /** Agent calls, and the extra attempts faults cost (absorbed by retries unless a run fell back). */
  attempts: { calls: number; total: number; retried: number };
  /** Fallbacks by cause and step, e.g. `agent@researcher`. */
  fallbackCauses: Record<string, number>;
  /** Accepted shared-state writes that are not in a run's final state. Must be 0. */
  lostUpdates: number;
  /** Promise rejections nobody handled during the test. Must be 0. */
  unhandledRejections: number;
  heapGrowthBytes: number;
  breakers: Record<string, string>;
  slo: Array<{ name: string; limit: number; actual: number; pass: boolean }>;
  pass: boolean;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

/** Accepted writes a completed run made that its final state does not reflect. */
function lostUpdatesOf(result: RunResult, finalVersion: number): number {
  const accepted = result.steps.filter((s) => s.status === 'passed').length;
  return Math.max(0, accepted - finalVersion);
}

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const clock = options.clock;
  const now = () => clock?.now() ?? performance.now();
  const concurrency = Math.max(1, Math.round(options.expected * options.factor));
  const workflow = withAgents(options.workflow, (agent) => withFaults(agent, options.faults, clock));
  const runtime = createRuntime(clock ? { clock } : {});

  let unhandled = 0;
  const onUnhandled = () => {
    unhandled++;
  };
  const hasProcess = typeof process !== 'undefined' && typeof process.on === 'function';
  if (hasProcess) process.on('unhandledRejection', onUnhandled);
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heapBefore = hasProcess ? process.memoryUsage().heapUsed : 0;

  const started = now();
  const latencies: number[] = [];
  const outcomes: Record<RunTerminal['status'], number> = {
    completed: 0,
    fallback: 0,
    failed: 0,
    cancelled: 0,
  };
  const causes: Record<string, number> = {};
  let lost = 0;
  let calls = 0;
  let attemptsTotal = 0;
  let launched = 0;
  let finished = 0;
  let lastProgress = started;
  const maxRuns = options.maxRuns ?? Number.POSITIVE_INFINITY;
  const more = () => launched < maxRuns && now() - started < options.durationMs;

  const report = () =>
    options.onProgress?.({
      elapsedMs: now() - started,
      durationMs: options.durationMs,
      started: launched,
      finished,
      inFlight: launched - finished,
    });

  // Closed loop: each worker starts its next run when the previous one ends.
  const worker = async () => {
    while (more()) {
      const i = launched++;
      const run = runtime.start(workflow, options.input(i) as never, { runId: `load-${i}` });
      const result = await run.done;
      finished++;
      latencies.push(result.durationMs);
      outcomes[result.status]++;
      for (const step of result.steps) {
        if (step.attempts === 0) continue;
        calls++;
        attemptsTotal += step.attempts;
      }
      if (result.status === 'fallback') {
        const key = `${result.cause}${result.stepId ? `@${result.stepId}` : ''}`;
        causes[key] = (causes[key] ?? 0) + 1;
      }
      if (result.status === 'completed') lost += lostUpdatesOf(result, run.state().version);
      if (options.onProgress && now() - lastProgress >= (options.progressEveryMs ?? 250)) {
        lastProgress = now();
        report();
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  report();
  const elapsedMs = Math.max(1, now() - started);

  const breakers = Object.fromEntries([...runtime.breakers()].map(([key, b]) => [key, b.state().value]));
  await runtime.stop();
  if (hasProcess) process.off('unhandledRejection', onUnhandled);
  gc?.();
  const heapGrowthBytes = hasProcess ? process.memoryUsage().heapUsed - heapBefore : 0;

  latencies.sort((a, b) => a - b);
  const runs = latencies.length;
  const throughput = (runs / elapsedMs) * 1000;
  const latencyMs = {
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? 0,
  };
  const rate = (n: number) => (runs === 0 ? 0 : n / runs);
  const slo: LoadReport['slo'] = [
    { name: 'lost shared-state updates', limit: 0, actual: lost, pass: lost === 0 },
    { name: 'unhandled rejections', limit: 0, actual: unhandled, pass: unhandled === 0 },
  ];
  const s = options.slo;
  const atMost = (name: string, limit: number | undefined, actual: number) => {
    if (limit !== undefined) slo.push({ name, limit, actual, pass: actual <= limit });
  };
  atMost('p50 latency (ms)', s.p50Ms, latencyMs.p50);
  atMost('p95 latency (ms)', s.p95Ms, latencyMs.p95);
  atMost('p99 latency (ms)', s.p99Ms, latencyMs.p99);
  atMost('fallback rate', s.maxFallbackRate, rate(outcomes.fallback));
  atMost('failed rate', s.maxFailedRate, rate(outcomes.failed));
  if (s.minThroughput !== undefined) {
    slo.push({
      name: 'throughput (runs/s)',
      limit: s.minThroughput,
      actual: throughput,
      pass: throughput >= s.minThroughput,
    });
  }
  return {
    workflowId: options.workflow.id,
    concurrency,
    runs,
    elapsedMs,
    throughput,
    latencyMs,
    outcomes,
    attempts: { calls, total: attemptsTotal, retried: attemptsTotal - calls },
    fallbackCauses: causes,
    lostUpdates: lost,
    unhandledRejections: unhandled,
    heapGrowthBytes,
    breakers,
    slo,
    pass: slo.every((x) => x.pass),
  };
}
