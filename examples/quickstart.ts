import { type AgentRunArgs, defineAgent, runAgent } from 'agentcharts';
import { z } from 'zod';

const Draft = z.object({ content: z.string(), confidence: z.number().min(0).max(1) });

const researcher = defineAgent({
  id: 'researcher',
  output: Draft, // validated before anyone sees it
  limits: { maxIterations: 3, attemptTimeoutMs: 20_000, deadlineMs: 60_000 },
  isDone: (out) => out.content.length > 60, // termination check: too short → another iteration
  run: async ({ input, attempt, previous }: AgentRunArgs<{ topic: string }>) => {
    // Your model call goes here (pass `signal` to it). This stand-in writes more each iteration.
    const length = previous?.output ? 'a much longer, more detailed answer' : 'short';
    return { content: `${input.topic}: ${length} (attempt ${attempt})`, confidence: 0.9 };
  },
});

export async function main() {
  const result = await runAgent(researcher, { topic: 'solid-state batteries' });
  if (result.fallback) console.log(`fallback (${result.status}): ${result.content} — ${result.reason}`);
  else console.log(`${result.quality} (${result.confidence}): ${result.content.content}`);
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
