import { parseArgs } from 'node:util';
import { isWorkflow } from '../workflow/define.js';
import { duration, number, range, UsageError } from './args.js';
import { overCapacity } from './capacity.js';
import { bar, bytes, ms, pct, table } from './format.js';
import { COMMAND_HELP } from './help.js';
import type { LoadReport, Slo } from './load.js';
import { runLoad } from './load.js';
import { readLoadExport } from './load-export.js';
import { loadModule, pick } from './module.js';

/** `agentcharts load`: parses the flags and the module's `load` export, runs, prints the report. */

export type Out = {
  log: (text: string) => void;
  err: (text: string) => void;
  progress?: (text: string) => void;
};

/** Longest --duration and --drain: a day (timers cannot hold much more than 24 days anyway). */
const MAX_LOAD_MS = 86_400_000;

export async function load(argv: string[], out: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      expected: { type: 'string' },
      factor: { type: 'string', default: '5' },
      duration: { type: 'string', default: '30s' },
      drain: { type: 'string', default: '30s' },
      runs: { type: 'string' },
      latency: { type: 'string', default: '20-200' },
      'throw-rate': { type: 'string', default: '0.02' },
      'hang-rate': { type: 'string', default: '0.01' },
      'invalid-rate': { type: 'string', default: '0.02' },
      seed: { type: 'string', default: '1' },
      'slo-p50': { type: 'string' },
      'slo-p95': { type: 'string' },
      'slo-p99': { type: 'string' },
      'slo-fallback-rate': { type: 'string' },
      'slo-failed-rate': { type: 'string' },
      export: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    out.log(COMMAND_HELP.load);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`load takes one module, received ${positionals.length}`);
  const module = await loadModule(positionals[0]);
  const [, workflow] = pick(module, values.export, false);
  if (!isWorkflow(workflow))
    throw new UsageError('load needs a workflow made by defineWorkflow, not a hand-written statechart');
  const declared = readLoadExport(module.exports.load);
  const expectedRaw =
    values.expected ?? (declared.expected === undefined ? undefined : String(declared.expected));
  if (expectedRaw === undefined) {
    throw new UsageError('--expected is required (or export const load = { expected } from the module)');
  }
  const rate = (flag: 'throw-rate' | 'hang-rate' | 'invalid-rate') => number(flag, values[flag], 0, 1);
  const faults = {
    latencyMs: range('latency', values.latency),
    throwRate: rate('throw-rate'),
    hangRate: rate('hang-rate'),
    invalidRate: rate('invalid-rate'),
    seed: number('seed', values.seed, 0, 2 ** 31, true),
  };
  if (faults.throwRate + faults.hangRate + faults.invalidRate > 1) {
    throw new UsageError('--throw-rate, --hang-rate and --invalid-rate add up to more than 1');
  }
  const slo: Slo = { ...declared.slo };
  const ms_ = (flag: 'slo-p50' | 'slo-p95' | 'slo-p99') =>
    values[flag] === undefined ? undefined : number(flag, values[flag], 0, 86_400_000);
  const p50 = ms_('slo-p50');
  const p95 = ms_('slo-p95');
  const p99 = ms_('slo-p99');
  if (p50 !== undefined) slo.p50Ms = p50;
  if (p95 !== undefined) slo.p95Ms = p95;
  if (p99 !== undefined) slo.p99Ms = p99;
  if (values['slo-fallback-rate'] !== undefined)
    slo.maxFallbackRate = number('slo-fallback-rate', values['slo-fallback-rate'], 0, 1);
  if (values['slo-failed-rate'] !== undefined)
    slo.maxFailedRate = number('slo-failed-rate', values['slo-failed-rate'], 0, 1);

  const input = declared.input ?? (() => ({}));
  const expected = number('expected', expectedRaw, 1, 1_000_000, true);
  const factor = number('factor', values.factor, 0.01, 1000);
  const concurrency = Math.max(1, Math.round(expected * factor));
  const tooMany = overCapacity(concurrency);
  if (tooMany) throw new UsageError(`--expected ${expected} × --factor ${factor}: ${tooMany}`);
  const durationMs = duration('duration', values.duration, 1, MAX_LOAD_MS);
  const drainMs = duration('drain', values.drain, 0, MAX_LOAD_MS);
  const report = await runLoad({
    workflow,
    input,
    expected,
    factor,
    durationMs,
    drainMs,
    ...(values.runs === undefined ? {} : { maxRuns: number('runs', values.runs, 1, 100_000_000, true) }),
    faults,
    slo,
    progressEveryMs: 250,
    onProgress: (p) => {
      if (values.json || !out.progress) return;
      const fraction = Math.max(p.elapsedMs / p.durationMs, 0);
      out.progress(`${bar(fraction)} ${ms(p.elapsedMs)}  ${p.finished} runs done, ${p.inFlight} in flight`);
    },
  });
  out.progress?.('');
  if (values.json) out.log(JSON.stringify(report, null, 2));
  else out.log(formatLoad(report));
  return report.pass ? 0 : 1;
}

export function formatLoad(r: LoadReport): string {
  const lines = [
    `load test: ${r.workflowId} at ${r.concurrency} concurrent runs${r.peakInFlight < r.concurrency ? ` (${r.peakInFlight} reached before the test ended)` : ''}, ${ms(r.elapsedMs)}`,
    '',
    table(
      [
        ['runs', String(r.runs)],
        ['throughput', `${r.throughput.toFixed(1)} runs/s`],
        [
          'latency p50 / p95 / p99',
          `${ms(r.latencyMs.p50)} / ${ms(r.latencyMs.p95)} / ${ms(r.latencyMs.p99)}`,
        ],
        ...Object.entries(r.outcomes).map(([k, v]) => [k, `${v} (${pct(v, r.runs)})`]),
        ['unfinished at the drain limit', String(r.unfinished)],
        ['agent calls / retried attempts', `${r.attempts.calls} / ${r.attempts.retried}`],
        ['lost shared-state updates', String(r.lostUpdates)],
        ['unhandled rejections', String(r.unhandledRejections)],
        ['heap growth', bytes(r.heapGrowthBytes)],
      ],
      ['measure', 'value'],
    ),
  ];
  const causes = Object.entries(r.fallbackCauses).sort((a, b) => b[1] - a[1]);
  if (causes.length)
    lines.push(
      '',
      table(
        causes.map(([c, n]) => [c, String(n)]),
        ['fallback cause@step', 'runs'],
      ),
    );
  if (r.reasons.length)
    lines.push(
      '',
      table(
        r.reasons.map((x) => [String(x.runs), x.status, x.reason]),
        ['runs', 'outcome', 'most frequent reasons a run did not complete'],
      ),
    );
  const breakers = Object.entries(r.breakers);
  if (breakers.length) lines.push('', table(breakers, ['breaker', 'state at the end']));
  lines.push(
    '',
    table(
      r.slo.map((s) => [
        s.pass ? '✓' : '✗',
        s.name,
        String(Number(s.actual.toFixed(4))),
        `${s.atLeast ? '≥' : '≤'} ${s.limit}`,
      ]),
      ['', 'SLO', 'actual', 'limit'],
    ),
    '',
    r.pass
      ? 'all SLOs met'
      : `SLO failed: ${r.slo
          .filter((x) => !x.pass)
          .map((x) => x.name)
          .join(', ')}`,
  );
  return lines.join('\n');
}
