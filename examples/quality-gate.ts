import { defineAgent, withQualityGate } from 'agentcharts';
import { z } from 'zod';

const Draft = z.object({ content: z.string(), confidence: z.number().min(0).max(1) });
let calls = 0;

const researcher = defineAgent({
  id: 'researcher',
  output: Draft,
  run: async () => ({ content: `notes #${++calls}`, confidence: calls === 1 ? 0.9 : 0.5 }), // degrades
});

// One breaker for the edge researcher→writer, shared by every caller of `gated`.
const gated = withQualityGate(researcher, {
  key: 'researcher→writer',
  failureThreshold: 3,
  cooldownMs: 30_000,
});
gated.breaker.on('opened', (e) => console.log(`breaker opened: ${e.reason}`));

export async function main() {
  const seen: string[] = [];
  for (let i = 0; i < 5; i++) {
    const d = await gated.run({ topic: 'solid-state batteries' });
    seen.push(d.passed ? d.result.content.content : `${d.fallback.status}: ${d.fallback.content}`);
  }
  gated.breaker.stop();
  console.log(seen.join('\n'), `\nthe researcher was called ${calls} times`);
  return { seen, calls };
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
