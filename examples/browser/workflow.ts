/** The report workflow the page runs: seeded mock agents (agentcharts/testing), no model, no network. */
import { z } from 'zod';
import { defineAgent, defineWorkflow } from '../../src/index.js';
import { mockRun } from '../../src/testing/index.js';

const Draft = z.object({ content: z.string().min(1), confidence: z.number().min(0).max(1) });
const limits = { maxIterations: 2, attemptTimeoutMs: 5_000, deadlineMs: 10_000 };

// Each agent takes 150 ms, so the progress list has something to show.
const agent = (id: string, content: string, confidence: number) =>
  defineAgent({
    id,
    output: Draft,
    limits,
    run: mockRun([{ output: { content, confidence }, delayMs: 150 }], { seed: 7 }),
  });

export const report = defineWorkflow({
  id: 'report',
  input: z.object({ topic: z.string().min(1) }),
  output: z.object({ report: z.string(), checks: z.array(z.string()) }),
  deadlineMs: 30_000,
  steps: [
    agent('researcher', 'Solid-state cells replace the liquid electrolyte with a solid one.', 0.9),
    {
      id: 'checks',
      parallel: [
        agent('fact-checker', 'Claims verified against two sources.', 0.88),
        agent('style-checker', 'Clear and concise.', 0.8),
      ],
    },
    agent('writer', 'Solid-state batteries: safer and denser, not yet cheap to make.', 0.93),
  ],
  result: ({ state }) => {
    const s = state as Record<string, { content: string }>;
    return { report: s.writer!.content, checks: [s['fact-checker']!.content, s['style-checker']!.content] };
  },
});
