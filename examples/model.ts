import { runAgent } from 'agentcharts';
import { fromModel } from 'agentcharts/model';
import { MockLanguageModelV3 } from 'ai/test';
import { z } from 'zod';

const Draft = z.object({ content: z.string(), confidence: z.number().min(0).max(1) });
// The AI SDK's mock stands in for e.g. openai('gpt-4o-mini'). Its first reply is not JSON.
const reply = (text: string) => ({
  content: [{ type: 'text' as const, text }],
  finishReason: { unified: 'stop' as const, raw: 'stop' },
  usage: {
    inputTokens: { total: 40, noCache: 40, cacheRead: 0, cacheWrite: 0 },
    outputTokens: { total: 12, text: 12, reasoning: 0 },
  },
  warnings: [],
});
const model = new MockLanguageModelV3({
  doGenerate: [reply('Sure! Batteries.'), reply('{"content":"Solid-state cells.","confidence":0.9}')],
});

const researcher = fromModel({
  id: 'researcher',
  model,
  output: Draft, // what the model is asked for, and what every reply must pass
  prompt: 'Summarise the topic in one sentence.', // followed by the input as JSON
  retry: { initialDelayMs: 0 },
  onUsage: (e) => console.log(`attempt ${e.attempt}: ${e.usage.totalTokens} tokens`),
});

export async function main() {
  const result = await runAgent(researcher, { topic: 'solid-state batteries' });
  // Every attempt's record carries the tokens it spent, beside the output (not in it).
  const tokens = result.attempts.reduce((sum, a) => sum + (a.usage?.totalTokens ?? 0), 0);
  console.log(result.status, result.attempts.map((a) => a.outcome).join(' → '), `(${tokens} tokens)`);
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
