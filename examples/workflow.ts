import { createRuntime, defineAgent, defineWorkflow } from 'agentcharts';
import { mockRun } from 'agentcharts/testing';
import { z } from 'zod';

const Draft = z.object({ content: z.string(), confidence: z.number().min(0).max(1) });
const limits = { maxIterations: 2, attemptTimeoutMs: 5_000 };
// Stand-ins for model calls (agentcharts/testing); a real agent's `run` calls your LLM.
// `const Id`: each agent's id is a literal type, so the shared state below is typed by it.
const agent = <const Id extends string>(id: Id, content: string, confidence: number) =>
  defineAgent({
    id,
    output: Draft,
    limits,
    run: mockRun([{ output: { content, confidence }, delayMs: 20 }]),
  });

const report = defineWorkflow({
  id: 'report',
  input: z.object({ topic: z.string() }),
  output: z.object({ report: z.string(), checks: z.array(z.string()) }),
  deadlineMs: 60_000,
  steps: [
    agent('researcher', 'Solid-state cells replace the liquid electrolyte.', 0.9),
    {
      parallel: [agent('fact-checker', 'Claims verified.', 0.88), agent('style-checker', 'Reads well.', 0.8)],
    },
    agent('writer', 'Solid-state batteries: safer, denser, not yet cheap.', 0.93),
  ],
  // The final output from the shared state (typed from the steps: each agent's output under its
  // id), checked against `output` by the compiler and validated by it before it is served.
  result: ({ state }) => ({
    report: state.writer.content,
    checks: [state['fact-checker'].content, state['style-checker'].content],
  }),
});

export async function main() {
  const runtime = createRuntime();
  const run = runtime.start(report, { topic: 'solid-state batteries' });
  const result = await run.done; // the terminal result; never rejects for agent failures
  console.log(result.status, result.status === 'completed' ? result.output.report : result.reason);
  console.log(result.steps.map((s) => `${s.stepId}: ${s.status} (${s.quality})`).join(', '));
  console.log(`${run.log().length} state log entries, shared state at version ${run.state().version}`);
  await runtime.stop();
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
