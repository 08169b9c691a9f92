import { z } from 'zod';
import type { AgentOptions } from '../../src/agent.js';
import { defineAgent } from '../../src/agent.js';
import type { MockRunOptions, MockStep } from '../../src/testing/mock-agent.js';
import { mockRun } from '../../src/testing/mock-agent.js';
import { defineWorkflow } from '../../src/workflow/define.js';
import { Draft, draft } from './agents.js';
import type { TestClock } from './clock.js';

/** The seed's research-report pipeline: researcher → fact-checker ∥ style-checker → writer. */
export function reportWorkflow(
  clock: TestClock,
  behaviour: Partial<Record<'researcher' | 'fact-checker' | 'style-checker' | 'writer', MockStep[]>> = {},
  extra: Partial<AgentOptions<unknown, typeof Draft>> = {},
) {
  const options: MockRunOptions = { clock };
  const agent = (id: keyof typeof behaviour, fallback: MockStep[]) => {
    const run = mockRun(behaviour[id] ?? fallback, options);
    return {
      run,
      agent: defineAgent({
        id,
        output: Draft,
        run,
        limits: { maxIterations: 2, attemptTimeoutMs: 1000 },
        retry: { initialDelayMs: 100, maxDelayMs: 100 },
        ...extra,
      }),
    };
  };
  const researcher = agent('researcher', [
    { output: draft('notes on solid-state batteries', 0.9), delayMs: 50 },
  ]);
  const factChecker = agent('fact-checker', [{ output: draft('facts check out', 0.88), delayMs: 30 }]);
  const styleChecker = agent('style-checker', [{ output: draft('style is fine', 0.8), delayMs: 40 }]);
  const writer = agent('writer', [
    { output: draft('A report on solid-state batteries.', 0.95), delayMs: 60 },
  ]);
  const workflow = defineWorkflow({
    id: 'report',
    input: z.object({ topic: z.string() }),
    output: z.object({ report: z.string(), checks: z.array(z.string()) }),
    steps: [
      researcher.agent,
      { id: 'review', parallel: [factChecker.agent, styleChecker.agent] },
      writer.agent,
    ],
    result: ({ state }) => {
      const s = state as Record<string, { content: string }>;
      return { report: s.writer!.content, checks: [s['fact-checker']!.content, s['style-checker']!.content] };
    },
  });
  return {
    workflow,
    runs: {
      researcher: researcher.run,
      'fact-checker': factChecker.run,
      'style-checker': styleChecker.run,
      writer: writer.run,
    },
  };
}

/**
 * One agent in a loop that writes each output to `key` under `reducer` until it was called `steps`
 * times; `output(n)` is its n-th output (a draft plus any fields). The result is the number of calls.
 */
export function writerLoop(
  id: string,
  key: string,
  reducer: 'append' | 'merge' | ((current: unknown, incoming: unknown) => unknown),
  steps: number,
  output: (n: number) => Record<string, unknown>,
) {
  let calls = 0;
  const writer = defineAgent({
    id: 'writer',
    output: Draft.passthrough(),
    run: async () => {
      calls++;
      return { content: `round ${calls}`, confidence: 0.9, ...output(calls) };
    },
  });
  return defineWorkflow({
    id,
    maxSteps: steps + 5,
    reducers: { [key]: reducer },
    output: z.unknown(),
    steps: [
      { agent: writer, writes: key, next: [{ if: () => calls >= steps, goto: 'end' }, { goto: 'writer' }] },
    ],
    result: () => calls,
  });
}
