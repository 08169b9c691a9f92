import { z } from 'zod';
import type { AnyAgent } from '../agent.js';
import { defineAgent } from '../agent.js';
import { mockRun } from '../testing/mock-agent.js';
import { seededRandom } from '../testing/random.js';
import { defineWorkflow } from '../workflow/define.js';

/**
 * The demo's research-report workflow, on seeded mock LLM agents that show every failure mode:
 * a slow researcher that times out on some topics, a fact-checker that never converges on one, a
 * style-checker whose confidence collapses (tripping its breaker for every later run), and a
 * writer unsure enough to need a human.
 */

export const Draft = z.object({ content: z.string().min(1), confidence: z.number().min(0).max(1) });

export const TOPICS = [
  'solid-state batteries',
  'sodium-ion cells',
  'perovskite solar',
  'green hydrogen',
  'grid-scale storage',
  'small modular reactors',
  'heat pumps',
  'direct air capture',
  'tidal power',
  'geothermal drilling',
  'fusion timelines',
  'vehicle-to-grid',
];

export interface DemoAgentsOptions {
  seed: number;
  /** Real milliseconds of mock latency, kept small so the demo takes seconds. */
  latency: [number, number];
  /** Replace the mock researcher and writer, e.g. with model agents. */
  researcher?: AnyAgent;
  writer?: AnyAgent;
}

const limits = { maxIterations: 3, attemptTimeoutMs: 400, deadlineMs: 2_000 };
const retry = { initialDelayMs: 50, factor: 2, maxDelayMs: 200, jitter: 0.2 };

export function demoWorkflow(options: DemoAgentsOptions) {
  const random = seededRandom(options.seed);
  const latency = () => Math.round(options.latency[0] + (options.latency[1] - options.latency[0]) * random());
  const topicOf = (input: unknown) => (input as { input: { topic: string } }).input.topic;
  const index = (input: unknown) => TOPICS.indexOf(topicOf(input));

  const researcher =
    options.researcher ??
    defineAgent({
      id: 'researcher',
      output: Draft,
      limits,
      retry,
      // Topics 3 and 9 are slow: every attempt hangs past its timeout.
      run: mockRun((call) =>
        [3, 9].includes(index(call.input))
          ? { hang: true }
          : {
              output: {
                content: `Notes on ${topicOf(call.input)}: three sources, two disagree.`,
                confidence: 0.9,
              },
              delayMs: latency(),
            },
      ),
    });

  const factChecker = defineAgent({
    id: 'fact-checker',
    output: Draft,
    limits,
    retry,
    // Topic 3 never converges: each pass finds something new to doubt.
    isDone: (out) => !out.content.includes('needs another pass'),
    run: mockRun((call) => ({
      output: {
        content:
          index(call.input) === 2
            ? `Claim ${call.attempt} needs another pass.`
            : 'Claims check out against two sources.',
        confidence: 0.88,
      },
      delayMs: latency(),
    })),
  });

  const styleChecker = defineAgent({
    id: 'style-checker',
    output: Draft,
    limits,
    retry,
    // From topic 5 on, the style model degrades: LOW confidence, three in a row open its breaker.
    run: mockRun((call) => ({
      output: {
        content: 'Tone is consistent; two long sentences.',
        confidence: index(call.input) >= 4 ? 0.41 : 0.82,
      },
      delayMs: latency(),
    })),
  });

  const writer =
    options.writer ??
    defineAgent({
      id: 'writer',
      output: Draft,
      limits,
      retry,
      // Topic 1: the writer is unsure (62%) and a human has to look.
      run: mockRun((call) => ({
        output: {
          content: `${topicOf(call.input)}: promising, but cost and scale are the open questions.`,
          confidence: index(call.input) === 1 ? 0.62 : 0.93,
        },
        delayMs: latency(),
      })),
    });

  return defineWorkflow({
    id: 'research-report',
    input: z.object({ topic: z.string().min(1) }),
    output: z.object({ report: z.string(), checks: z.array(z.string()) }),
    deadlineMs: 10_000,
    maxSteps: 10,
    steps: [
      { agent: researcher, breaker: { failureThreshold: 3, cooldownMs: 60_000 } },
      {
        id: 'checks',
        parallel: [
          { agent: factChecker, breaker: { failureThreshold: 3, cooldownMs: 60_000 } },
          { agent: styleChecker, breaker: { failureThreshold: 3, cooldownMs: 60_000 } },
        ],
      },
      { agent: writer, review: { below: 0.7, onFallback: false, timeoutMs: 5_000 } },
    ],
    result: ({ state }) => {
      const s = state as Record<string, { content: string }>;
      return { report: s.writer!.content, checks: [s['fact-checker']!.content, s['style-checker']!.content] };
    },
  });
}
