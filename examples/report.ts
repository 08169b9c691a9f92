/**
 * The research-report workflow as a module the CLI can read; it passes all eight checklist items:
 *   npm run agentcharts -- check dist/examples/report.js
 *   npm run agentcharts -- load dist/examples/report.js --duration 10s
 */
import { z } from 'zod';
import { defineAgent, defineWorkflow } from '../src/index.js';
import { mockRun } from '../src/testing/index.js';

const Draft = z.object({ content: z.string().min(1), confidence: z.number().min(0).max(1) });
const limits = { maxIterations: 3, attemptTimeoutMs: 2_000, deadlineMs: 8_000 };
const retry = { initialDelayMs: 100, factor: 2, maxDelayMs: 1_000, jitter: 0.2 };

// Mock agents answer at once; `agentcharts load` adds latency and faults around them.
const agent = (id: string, content: string, confidence: number) =>
  defineAgent({ id, output: Draft, limits, retry, run: mockRun([{ output: { content, confidence } }]) });

export const workflow = defineWorkflow({
  id: 'report',
  input: z.object({ topic: z.string().min(1) }),
  output: z.object({ report: z.string(), checks: z.array(z.string()) }),
  deadlineMs: 30_000,
  maxSteps: 10,
  steps: [
    agent('researcher', 'Solid-state cells replace the liquid electrolyte with a solid one.', 0.9),
    {
      id: 'checks',
      parallel: [
        agent('fact-checker', 'Claims verified against two sources.', 0.88),
        agent('style-checker', 'Clear and concise.', 0.8),
      ],
    },
    // A human reviews the writer's report when its confidence is under 0.7 or the writer falls back.
    {
      agent: agent('writer', 'Solid-state batteries: safer and denser, not yet cheap to make.', 0.93),
      review: { below: 0.7 },
    },
  ],
  result: ({ state }) => {
    const s = state as Record<string, { content: string }>;
    return { report: s.writer!.content, checks: [s['fact-checker']!.content, s['style-checker']!.content] };
  },
});

/** What `agentcharts load` and `check` read: the expected concurrency, inputs and SLOs. */
export const load = {
  expected: 200,
  input: (i: number) => ({ topic: `topic ${i}` }),
  slo: { p99Ms: 10_000, maxFailedRate: 0 },
};
