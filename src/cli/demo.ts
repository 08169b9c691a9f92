import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { AnyAgent } from '../agent.js';
import type { RunTerminal } from '../run-result.js';
import { createRuntime } from '../runtime.js';
import { number, UsageError } from './args.js';
import { Draft, demoWorkflow, TOPICS } from './demo-workflow.js';
import { ms, table } from './format.js';
import { COMMAND_HELP } from './help.js';
import { percentile } from './load.js';

type Out = { log: (text: string) => void; err: (text: string) => void };

const SHORT: Record<string, string> = {
  completed: '✓',
  fallback: '✗',
  failed: '✗',
  cancelled: '–',
};

/**
 * `agentcharts demo` (npm start): the research-report workflow on seeded mock agents, twelve topics,
 * four at a time through one runtime, so the breakers are shared. Live progress, then a summary;
 * each run's trace and state log go under `--out` (default ./runs).
 */
export async function demo(argv: string[], out: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      inspect: { type: 'boolean' },
      console: { type: 'boolean' },
      out: { type: 'string', default: 'runs' },
      seed: { type: 'string', default: '7' },
      concurrency: { type: 'string', default: '4' },
      model: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    out.log(COMMAND_HELP.demo);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`demo takes no arguments, received "${positionals[0]}"`);
  const seed = number('seed', values.seed, 0, 2 ** 31, true);
  const concurrency = number('concurrency', values.concurrency, 1, 64, true);
  const dir = resolve(values.out);

  const agents = await modelAgents(values.model, out);
  const workflow = demoWorkflow({ seed, latency: [20, 80], ...agents });
  const runtime = createRuntime({
    ...(values.inspect ? { inspect: 'ws' as const } : {}),
    ...(values.console ? { console: true as const } : {}),
  });
  await runtime.console?.ready.then(
    ({ url }) => out.log(`agentcharts console: open ${url}\n`),
    (error: unknown) => out.err(`the console could not start (${String(error)}); the demo runs without it`),
  );
  if (runtime.inspector) {
    const ready = await runtime.inspector.ready;
    out.log(
      'listening' in ready && ready.listening && 'pageUrl' in ready
        ? `Stately inspector relay: ${ready.url} — open ${ready.pageUrl} to watch the runs\n`
        : 'the inspector relay could not start; the demo runs without it\n',
    );
  }

  // The scripted reviewer: looks at each escalation a moment later and approves it.
  const escalations: string[][] = [];
  runtime.reviews.on('pending', ({ review }) => {
    out.log(`  ✋ ${review.reviewId}: ${review.reason} — waiting for a human`);
    setTimeout(() => {
      runtime.reviews.approve(review.reviewId, { by: 'demo-reviewer' }).then(
        (outcome) => {
          escalations.push([
            review.reviewId,
            `${Math.round(review.confidence * 100)}%`,
            outcome.decision,
            outcome.by ?? '',
          ]);
          out.log(`  ✔ ${review.reviewId}: ${outcome.decision} by ${outcome.by}`);
        },
        (error: unknown) => out.err(`  review ${review.reviewId}: ${String(error)}`),
      );
    }, 300);
  });

  out.log(
    `agentcharts demo: ${TOPICS.length} research reports, ${concurrency} at a time, seeded mock agents (seed ${seed})\n`,
  );
  const started = Date.now();
  const results: Array<{ topic: string; result: RunTerminal }> = [];
  let next = 0;
  const worker = async () => {
    while (next < TOPICS.length) {
      const i = next++;
      const topic = TOPICS[i]!;
      const runId = `report-${String(i + 1).padStart(2, '0')}`;
      const run = runtime.start(workflow, { topic }, { runId });
      run.subscribe((e) => {
        if (e.type === 'step.finished') {
          const mark = e.status === 'success' ? '✓' : '✗';
          out.log(
            `  ${runId}  ${e.stepId.padEnd(13)} ${mark} ${ms(e.durationMs).padStart(7)}${e.reason ? `  ${short(e.reason)}` : ''}`,
          );
        }
        if (e.type === 'breaker.opened') out.log(`  ⚡ breaker ${e.key} opened: ${short(e.reason)}`);
      });
      const result = await run.done;
      out.log(`  ${runId}  ${SHORT[result.status]} ${result.status} (${topic})`);
      results.push({ topic, result });
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${runId}.trace.json`), `${JSON.stringify(run.trace(), null, 2)}\n`);
      writeFileSync(
        join(dir, `${runId}.log.jsonl`),
        `${run
          .log()
          .map((e) => JSON.stringify(e))
          .join('\n')}\n`,
      );
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = Date.now() - started;

  results.sort((a, b) => a.result.runId.localeCompare(b.result.runId));
  out.log(`\nresults\n`);
  out.log(
    table(
      results.map(({ topic, result: r }) => [
        r.runId,
        topic,
        `${SHORT[r.status]} ${r.status}`,
        r.status === 'completed'
          ? short((r.output as { report: string }).report, 48)
          : r.status === 'fallback'
            ? `${r.cause}: ${short(r.reason, 60)}`
            : short(r.reason, 60),
        ms(r.durationMs),
      ]),
      ['run', 'topic', 'status', 'output or reason', 'time'],
    ),
  );
  out.log(`\nbreakers\n`);
  out.log(
    table(
      [...runtime.breakers()].map(([key, b]) => {
        const s = b.state();
        return [key, s.value, String(s.failures), s.lastFailure ? short(s.lastFailure, 60) : ''];
      }),
      ['edge', 'state', 'failures', 'last failure'],
    ),
  );
  if (escalations.length)
    out.log(`\nescalations\n\n${table(escalations, ['review', 'confidence', 'decision', 'by'])}`);
  const durations = results.map((r) => r.result.durationMs).sort((a, b) => a - b);
  const count = (status: string) => results.filter((r) => r.result.status === status).length;
  out.log(
    `\n${results.length} runs in ${ms(elapsed)}: ${count('completed')} completed, ${count('fallback')} explicit fallbacks, ` +
      `${count('failed')} failed; latency p50 ${ms(percentile(durations, 50))}, p95 ${ms(percentile(durations, 95))}, ` +
      `p99 ${ms(percentile(durations, 99))}`,
  );
  out.log(`traces and state logs: ${dir}/<run>.trace.json, <run>.log.jsonl`);

  if ((runtime.inspector || runtime.console) && process.stdin.isTTY) {
    out.log(`\npress Enter to stop the ${runtime.console ? 'console' : 'inspector relay'}`);
    await new Promise((resolve) => process.stdin.once('data', resolve));
    process.stdin.pause();
  }
  await runtime.stop();
  return 0;
}

function whyNotLoaded(error: unknown): string {
  const first = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
  const code = (error as { code?: unknown } | null)?.code;
  if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && /['"]ai['"]/.test(first))
    return 'the ai package is not installed (npm install ai and a provider package, e.g. @ai-sdk/openai)';
  return `agentcharts/model could not be loaded (${first})`;
}

function short(text: string, max = 70): string {
  const one = text.replace(/\s+/g, ' ');
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** Loads agentcharts/model, which imports `ai`, an optional peer dependency. */
const loadModelEntry = () => import('../model/index.js');

/**
 * `--model provider:model`: real model agents when `ai`, the provider package and its key are
 * there; otherwise the mock agents, with one line saying why.
 */
export async function modelAgents(
  spec: string | undefined,
  out: Pick<Out, 'log'>,
  load: () => Promise<typeof import('../model/index.js')> = loadModelEntry,
): Promise<{ researcher?: AnyAgent; writer?: AnyAgent }> {
  if (spec === undefined) return {};
  let entry: typeof import('../model/index.js');
  try {
    entry = await load();
  } catch (error) {
    out.log(`--model ${spec}: ${whyNotLoaded(error)}; using the mock agents\n`);
    return {};
  }
  const { fromModel, modelFromEnv } = entry;
  const choice = await modelFromEnv(spec);
  if (choice.model === null) {
    out.log(`--model ${spec}: ${choice.reason}; using the mock agents\n`);
    return {};
  }
  out.log(`--model ${spec}: the researcher and the writer call the real model\n`);
  const limits = { maxIterations: 2, attemptTimeoutMs: 30_000, deadlineMs: 90_000 };
  return {
    researcher: fromModel({
      id: 'researcher',
      model: choice.model,
      output: Draft,
      prompt: 'Write research notes (3–5 sentences) on the topic, with your confidence in [0, 1].',
      limits,
    }) as AnyAgent,
    writer: fromModel({
      id: 'writer',
      model: choice.model,
      output: Draft,
      prompt:
        'Write a two-sentence report from the research notes and checks in the state, with your confidence in [0, 1].',
      limits,
    }) as AnyAgent,
  };
}
