import type { Clock } from '../../machines/clock.js';
import { MAX_TIMER_MS } from '../../machines/clock.js';
import { describeError } from '../../machines/untrusted.js';
import type { Run } from '../run.js';
import type { RunResult, RunStatus } from '../run-result.js';
import { inputFailed } from '../run-result.js';
import { createRuntime } from '../runtime.js';
import type { Workflow } from '../workflow/define.js';
import { withAgents } from '../workflow/define.js';
import type { FaultPlan } from './faults.js';
import { realTimers, withFaults } from './faults.js';

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
  /**
   * How long in-flight runs may take to finish once the test has ended (ms, default 30 s). Runs
   * still going then are cancelled and counted as unfinished, which fails the report.
   */
  drainMs?: number;
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
  /** The runs in flight asked for (expected × factor), and the most that were (the test may end first). */
  concurrency: number;
  peakInFlight: number;
  runs: number;
  elapsedMs: number;
  throughput: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  /** How each run ended; `awaitingReview` runs paused for a human (nobody reviews in a load test). */
  outcomes: Record<RunStatus, number>;
  /** Runs cancelled because they were still going `drainMs` after the test ended. Must be 0. */
  unfinished: number;
  /** The most frequent reasons runs did not complete, most frequent first. */
  reasons: Array<{ status: RunStatus; reason: string; runs: number }>;
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
  /** Each SLO: `actual` must be at most (or, for `atLeast`, at least) `limit`. */
  slo: Array<{ name: string; limit: number; actual: number; pass: boolean; atLeast?: true }>;
  pass: boolean;
}

/** The default drain limit: in-flight runs get this long to finish after the test. */
export const DEFAULT_DRAIN_MS = 30_000;

/** Distinct failure reasons kept (the rest are counted together), and the longest kept. */
const MAX_REASONS = 200;
const MAX_REASON_CHARS = 300;
const TOP_REASONS = 5;

const OTHER_REASONS = '(other reasons)';

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
  const timers = clock ?? realTimers;
  const now = () => clock?.now() ?? performance.now();
  const concurrency = Math.max(1, Math.round(options.expected * options.factor));
  const workflow = withAgents(options.workflow, (agent) => withFaults(agent, options.faults, clock));
  // Nobody reviews in a load test: paused runs are counted, not announced one line each.
  const runtime = createRuntime({ ...(clock ? { clock } : {}), onEscalation: () => {} });

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
  const outcomes: Record<RunStatus, number> = {
    completed: 0,
    fallback: 0,
    awaitingReview: 0,
    failed: 0,
    cancelled: 0,
  };
  const causes: Record<string, number> = {};
  const reasons = new Map<string, { status: RunStatus; reason: string; runs: number }>();
  let lost = 0;
  let calls = 0;
  let attemptsTotal = 0;
  let launched = 0;
  let finished = 0;
  let unfinished = 0;
  let peakInFlight = 0;
  let lastProgress = started;
  const maxRuns = options.maxRuns ?? Number.POSITIVE_INFINITY;
  const drainMs = options.drainMs ?? DEFAULT_DRAIN_MS;
  const more = () => launched < maxRuns && now() - started < options.durationMs;

  const report = () =>
    options.onProgress?.({
      elapsedMs: now() - started,
      durationMs: options.durationMs,
      started: launched,
      finished,
      inFlight: launched - finished,
    });

  // The drain limit: settles `drainMs` after the test's duration, whatever the runs do.
  let cutOff = false;
  let drainTimer: unknown;
  const drained = new Promise<'cutOff'>((resolve) => {
    drainTimer = timers.setTimeout(
      () => {
        cutOff = true;
        resolve('cutOff');
      },
      // Clipped to what a timer can hold: a longer delay would fire at once.
      Math.min(MAX_TIMER_MS, Math.max(0, options.durationMs + drainMs)),
    );
  });

  const record = (result: RunResult, run: Run | undefined) => {
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
    if (result.status !== 'completed') {
      const reason =
        result.status === 'awaitingReview'
          ? `paused for a human: ${result.reviews.map((r) => `${r.stepId} (${r.reason})`).join(', ')}`
          : result.reason;
      countReason(reasons, result.status, reason);
    }
    if (result.status === 'completed' && run) lost += lostUpdatesOf(result, run.state().version);
  };

  // Closed loop: each worker starts its next run when the previous one ends (or pauses for a human).
  const worker = async () => {
    while (!cutOff && more()) {
      const i = launched++;
      let run: Run;
      try {
        run = runtime.start(workflow, options.input(i) as never, { runId: `load-${i}` });
      } catch (error) {
        // The module's input function (user code) threw: that run failed, with the reason.
        const reason = `load.input(${i}) threw: ${describeError(error).message}`;
        record(inputFailed(`load-${i}`, options.workflow.id, now(), reason, []), undefined);
        continue;
      }
      peakInFlight = Math.max(peakInFlight, launched - finished);
      const result = await Promise.race([run.result, drained]);
      if (result === 'cutOff') {
        // Still running long after the test ended: cancelled, counted, not waited for.
        unfinished++;
        finished++;
        run.cancel(`load test: still running ${drainMs} ms after the test ended`);
        return;
      }
      // Nobody reviews in a load test: the paused run is an outcome, then it is let go.
      if (result.status === 'awaitingReview') run.cancel('load test: nobody reviews');
      record(result, run);
      if (options.onProgress && now() - lastProgress >= (options.progressEveryMs ?? 250)) {
        lastProgress = now();
        report();
      }
    }
  };
  const workers = Math.min(concurrency, maxRuns);
  await Promise.all(Array.from({ length: workers }, worker));
  timers.clearTimeout(drainTimer);
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
    // A test that ran nothing has shown nothing: it cannot pass.
    { name: 'runs finished', limit: 1, actual: runs, pass: runs >= 1, atLeast: true },
    { name: 'runs unfinished at the drain limit', limit: 0, actual: unfinished, pass: unfinished === 0 },
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
  // Failed runs (not fallbacks: those are typed answers) are a defect unless declared acceptable.
  atMost('failed rate', s.maxFailedRate ?? DEFAULT_MAX_FAILED_RATE, rate(outcomes.failed));
  if (s.minThroughput !== undefined) {
    slo.push({
      name: 'throughput (runs/s)',
      limit: s.minThroughput,
      actual: throughput,
      pass: throughput >= s.minThroughput,
      atLeast: true,
    });
  }
  return {
    workflowId: options.workflow.id,
    concurrency,
    peakInFlight,
    runs,
    elapsedMs,
    throughput,
    latencyMs,
    outcomes,
    unfinished,
    reasons: [...reasons.values()].sort((a, b) => b.runs - a.runs).slice(0, TOP_REASONS),
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

/** The failed-rate SLO when none is declared: no run may fail. */
export const DEFAULT_MAX_FAILED_RATE = 0;

/** Counts a reason, bounded: a long reason is cut, and past MAX_REASONS distinct ones go together. */
function countReason(
  reasons: Map<string, { status: RunStatus; reason: string; runs: number }>,
  status: RunStatus,
  text: string,
): void {
  const reason = text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS - 1)}…` : text;
  let key = `${status}\u0000${reason}`;
  if (!reasons.has(key) && reasons.size >= MAX_REASONS) key = `${status}\u0000${OTHER_REASONS}`;
  const entry = reasons.get(key) ?? { status, reason: key.slice(status.length + 1), runs: 0 };
  entry.runs++;
  reasons.set(key, entry);
}
