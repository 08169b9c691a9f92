/**
 * The agentcharts demo: seeded mock agents (no network, no API key) that succeed, recover, time out,
 * loop, return garbage, run past a deadline and get cancelled. Every call ends in a typed result.
 *
 *   npx tsc -p tsconfig.build.json && node dist/examples/guarded-agents.js
 */
import { z } from 'zod';
import { type AgentResult, defineAgent, runAgent } from '../src/index.js';
import { mockRun } from '../src/testing/index.js';

const Draft = z.object({ content: z.string().min(1), confidence: z.number().min(0).max(1) });
const draft = (content: string, confidence: number) => ({ content, confidence });

// Small limits so the whole demo runs in about a second of real time.
const limits = { maxIterations: 3, attemptTimeoutMs: 250 };
const retry = { initialDelayMs: 40, factor: 2, maxDelayMs: 200 };
const latency = (seed: number) => 20 + ((seed * 37) % 60);

const agents = [
  {
    what: 'answers at once',
    agent: defineAgent({
      id: 'researcher',
      output: Draft,
      limits,
      retry,
      run: mockRun([
        {
          output: draft('Solid-state cells swap the liquid electrolyte for a solid one.', 0.92),
          delayMs: latency(1),
        },
      ]),
    }),
  },
  {
    what: 'rate-limited once, then recovers',
    agent: defineAgent({
      id: 'summariser',
      output: Draft,
      limits,
      retry,
      run: mockRun([
        { throws: new Error('429 Too Many Requests'), delayMs: latency(2) },
        { output: draft('Denser, safer, still expensive to make.', 0.78), delayMs: latency(3) },
      ]),
    }),
  },
  {
    what: 'never answers',
    agent: defineAgent({ id: 'fact-checker', output: Draft, limits, retry, run: mockRun([{ hang: true }]) }),
  },
  {
    what: 'keeps revising, never done',
    agent: defineAgent({
      id: 'editor',
      output: Draft,
      limits,
      retry,
      isDone: (out) => out.content.endsWith('[final]'),
      run: mockRun((call) => ({
        output: draft(`revision ${call.attempt}`, 0.7),
        delayMs: latency(call.attempt),
      })),
    }),
  },
  {
    what: 'returns the wrong shape',
    agent: defineAgent({
      id: 'formatter',
      output: Draft,
      limits,
      retry,
      run: mockRun([{ output: { text: 'no content field', confidence: 'high' }, delayMs: latency(4) }]),
    }),
  },
  {
    what: 'slow, with a 300 ms deadline',
    agent: defineAgent({
      id: 'translator',
      output: Draft,
      limits: { ...limits, deadlineMs: 300 },
      retry,
      run: mockRun([{ hang: true }]),
    }),
  },
  {
    what: 'cancelled by the caller after 100 ms',
    cancelAfterMs: 100,
    agent: defineAgent({ id: 'illustrator', output: Draft, limits, retry, run: mockRun([{ hang: true }]) }),
  },
];

const started = Date.now();
console.log('agentcharts demo: seven guarded agent calls, mock agents, no network\n');

const results = await Promise.all(
  agents.map(async ({ what, agent, cancelAfterMs }) => {
    const controller = new AbortController();
    if (cancelAfterMs) setTimeout(() => controller.abort('user pressed stop'), cancelAfterMs);
    const result: AgentResult = await runAgent(
      agent,
      { topic: 'solid-state batteries' },
      { signal: controller.signal },
    );
    console.log(`  ${mark(result)} ${agent.id.padEnd(13)} ${result.status.padEnd(17)} ${what}`);
    return result;
  }),
);

console.log('\nresults');
for (const r of results) {
  const content = typeof r.content === 'string' ? r.content : JSON.stringify(r.content);
  console.log(`\n  ${r.agentId} → ${r.status} (quality ${r.quality}, confidence ${r.confidence})`);
  console.log(`    content: ${content.length > 90 ? `${content.slice(0, 87)}...` : content}`);
  console.log(`    reason:  ${r.reason}`);
  console.log(
    `    attempts: ${r.attempts.map((a) => `#${a.attempt} ${a.outcome} ${a.durationMs}ms`).join(', ') || 'none'}`,
  );
}

const fallbacks = results.filter((r) => r.fallback).length;
console.log(
  `\n${results.length} calls, each ended in a typed result, in ${Date.now() - started} ms: ` +
    `${results.length - fallbacks} succeeded, ${fallbacks} explicit fallbacks`,
);

function mark(r: AgentResult): string {
  return r.fallback ? '✗' : '✓';
}
