#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { AnyStateMachine } from 'xstate';
import { isWorkflow } from '../workflow/define.js';
import { duration, isUsageError, number, range, UsageError } from './args.js';
import { checkMachine } from './check.js';
import { bar, bytes, ms, pct, table } from './format.js';
import type { LoadReport, Slo } from './load.js';
import { runLoad } from './load.js';
import { loadModule, pick } from './module.js';

const HELP = `agentcharts — the production layer between your agents

usage:
  agentcharts demo  [--inspect] [--out ./runs] [--seed 7]
  agentcharts load  <module> [--expected 200] [--factor 5] [--duration 30s] [--runs N]
                    [--latency 20-200] [--throw-rate 0.02] [--hang-rate 0.01] [--invalid-rate 0.02]
                    [--seed 1] [--slo-p99 ms] [--slo-p95 ms] [--slo-fallback-rate 0.2]
                    [--slo-failed-rate 0] [--export name] [--json]
  agentcharts check <module> [--export name] [--json]

<module> is a JavaScript module exporting a workflow (defineWorkflow); it may also export
\`load = { expected, input(i), slo }\`. check also reads hand-written statecharts.`;

type Out = { log: (text: string) => void; err: (text: string) => void; progress?: (text: string) => void };

/** Run the CLI; returns the exit code (0 ok, 1 a check or SLO failed, 2 bad usage). */
export async function main(argv: string[], out: Out = defaultOut()): Promise<number> {
  try {
    const [command, ...rest] = argv;
    switch (command) {
      case 'check':
        return await check(rest, out);
      case 'load':
        return await load(rest, out);
      case 'console': {
        const { consoleCommand } = await import('../console/cli.node.js');
        return await consoleCommand(rest, out);
      }
      case 'demo': {
        const { demo } = await import('./demo.js');
        return await demo(rest, out);
      }
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        out.log(HELP);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}" (expected demo, load or check)`);
    }
  } catch (error) {
    if (isUsageError(error) || isParseArgsError(error)) {
      out.err(`agentcharts: ${(error as Error).message}\nrun \`agentcharts --help\` for usage`);
      return 2;
    }
    throw error;
  }
}

const isParseArgsError = (e: unknown) =>
  typeof e === 'object' && e !== null && String((e as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');

async function check(argv: string[], out: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { export: { type: 'string' }, json: { type: 'boolean' } },
  });
  if (positionals.length > 1) throw new UsageError(`check takes one module, received ${positionals.length}`);
  const module = await loadModule(positionals[0]);
  const [name, target] = pick(module, values.export, true);
  const machine = (isWorkflow(target) ? target.machine : target) as AnyStateMachine;
  const items = checkMachine({
    name,
    machine,
    load: module.exports.load as { expected?: unknown } | undefined,
  });
  const pass = items.every((i) => i.pass);
  if (values.json) {
    out.log(JSON.stringify({ module: module.path, export: name, pass, items }, null, 2));
  } else {
    out.log(`production checklist for ${name} (${module.path})\n`);
    for (const i of items) {
      out.log(`${i.pass ? '✓' : '✗'} ${i.item}. ${i.title}`);
      for (const f of i.findings) out.log(`    ${f}`);
    }
    out.log(
      `\n${items.filter((i) => i.pass).length}/8 pass${pass ? '' : ' — fix the ✗ items before this ships'}`,
    );
  }
  return pass ? 0 : 1;
}

async function load(argv: string[], out: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      expected: { type: 'string' },
      factor: { type: 'string', default: '5' },
      duration: { type: 'string', default: '30s' },
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
    },
  });
  if (positionals.length > 1) throw new UsageError(`load takes one module, received ${positionals.length}`);
  const module = await loadModule(positionals[0]);
  const [, workflow] = pick(module, values.export, false);
  if (!isWorkflow(workflow)) throw new UsageError('load needs a workflow made by defineWorkflow');
  const declared = (module.exports.load ?? {}) as {
    expected?: number;
    input?: (i: number) => unknown;
    slo?: Slo;
  };
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
  const report = await runLoad({
    workflow,
    input,
    expected: number('expected', expectedRaw, 1, 1_000_000, true),
    factor: number('factor', values.factor, 0.01, 1000),
    durationMs: duration('duration', values.duration),
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
    `load test: ${r.workflowId} at ${r.concurrency} concurrent runs, ${ms(r.elapsedMs)}`,
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
  const breakers = Object.entries(r.breakers);
  if (breakers.length) lines.push('', table(breakers, ['breaker', 'state at the end']));
  lines.push(
    '',
    table(
      r.slo.map((s) => [s.pass ? '✓' : '✗', s.name, String(Number(s.actual.toFixed(4))), `≤ ${s.limit}`]),
      ['', 'SLO', 'actual', 'limit'],
    ),
    '',
    r.pass ? 'all SLOs met' : 'SLO failed',
  );
  return lines.join('\n');
}

function defaultOut(): Out {
  const tty = process.stderr.isTTY;
  let last = 0;
  return {
    log: (text) => console.log(text),
    err: (text) => console.error(text),
    progress: (text) => {
      if (tty) process.stderr.write(`\r\x1b[2K${text}`);
      // Piped: a line every few seconds rather than a redraw.
      else if (text && Date.now() - last >= 5000) {
        last = Date.now();
        process.stderr.write(`${text}\n`);
      }
    },
  };
}

const invokedDirectly = () => {
  try {
    return import.meta.url === pathToFileURL(realpathSync(process.argv[1] ?? '')).href;
  } catch {
    return false;
  }
};

if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      console.error('agentcharts: unexpected error', error);
      process.exitCode = 70;
    },
  );
}
