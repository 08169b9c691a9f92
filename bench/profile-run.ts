/**
 * Runs the three-step workflow many times, for a CPU profile:
 *   npx tsc -p tsconfig.build.json && node --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/profile-run.js [runs] [off]
 */
import { createRuntime } from '../src/index.js';
import { threeSteps } from './workflow.js';

const { workflow } = threeSteps('profile', async () => ({ content: 'ok', confidence: 0.9 }));
const runs = Number(process.argv[2] ?? 5000);
const runtime = createRuntime({ tracing: process.argv[3] !== 'off' });
const started = performance.now();
const cpu = process.cpuUsage();
for (let done = 0; done < runs; done += 100) {
  await Promise.all(Array.from({ length: 100 }, () => runtime.start(workflow, {}).done));
}
const used = process.cpuUsage(cpu);
console.log(
  `${(((performance.now() - started) * 1000) / runs).toFixed(0)} µs/run, ${((used.user + used.system) / runs).toFixed(0)} µs CPU/run`,
);
await runtime.stop();
