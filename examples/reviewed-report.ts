/**
 * The research-report workflow with a human review on the writer: the writer's draft comes in at
 * confidence 0.62, under the review threshold of 0.7, so every run pauses for a human.
 * Used by examples/http-service.ts.
 */
import { z } from 'zod';
import { defineAgent, defineWorkflow } from '../src/index.js';
import { mockRun } from '../src/testing/index.js';

export const Draft = z.object({ content: z.string().min(1), confidence: z.number().min(0).max(1) });
const Topic = z.object({ topic: z.string().min(1).max(200) });
const limits = { maxIterations: 2, attemptTimeoutMs: 5_000, deadlineMs: 10_000 };

// Seeded stand-ins for model calls (agentcharts/testing) that answer at once and name the topic.
const agent = (id: string, write: (topic: string) => string, confidence: number) =>
  defineAgent({
    id,
    output: Draft,
    limits,
    run: mockRun(
      (call) => {
        const { topic } = (call.input as { input: z.infer<typeof Topic> }).input;
        return { output: { content: write(topic), confidence } };
      },
      { seed: 7 },
    ),
  });

export const reviewedReport = defineWorkflow({
  id: 'reviewed-report',
  input: Topic,
  output: z.object({ report: z.string(), checks: z.array(z.string()) }),
  deadlineMs: 30_000,
  maxSteps: 10,
  steps: [
    agent('researcher', (t) => `Notes on ${t}: three sources agree on the main claims.`, 0.9),
    {
      id: 'checks',
      parallel: [
        agent('fact-checker', () => 'Claims verified against two sources.', 0.88),
        agent('style-checker', () => 'Clear and concise.', 0.8),
      ],
    },
    // 0.62 < 0.7: the run pauses as awaitingReview until a human approves, edits or rejects.
    { agent: agent('writer', (t) => `${t}: a first draft of the report.`, 0.62), review: { below: 0.7 } },
  ],
  result: ({ state }) => {
    const s = state as Record<string, { content: string }>;
    return { report: s.writer!.content, checks: [s['fact-checker']!.content, s['style-checker']!.content] };
  },
});
