/**
 * Every benchmark, each against its plain baseline in the same run, reported as ratios.
 *   npm run bench
 * The memory figures come first: they measure the heap, which the other benchmarks leave behind.
 */
import { agentResultBench, printAgentResultReport } from './agent-result.js';
import { anatomy, printAnatomy } from './anatomy.js';
import { appendBench, printAppendReport } from './append.js';
import { blackboardMemory, printMemoryReport } from './blackboard-memory.js';
import { fileStoreBench, printFileStoreReport } from './file-store.js';
import { heldHeapBench, printHeldHeapReport } from './held-heap.js';
import { layersBench, printLayersReport } from './layers.js';
import { printRunLengthReport, runLengthBench } from './run-length.js';
import {
  inFlightBench,
  parallelBench,
  printInFlightReport,
  printParallelReport,
  printWorkflowReport,
  workflowBench,
} from './workflow.js';

console.log('## shared-state history memory\n');
printMemoryReport(blackboardMemory());
console.log('\n## append to one key\n');
printAppendReport(await appendBench());
console.log('\n## merge a new key into one map\n');
printAppendReport(await appendBench(undefined, 'merge'), 'merge');
console.log('\n## what one run is made of (inspection events of one sequential run)\n');
printAnatomy(await anatomy());
console.log('\n## workflow cost and tracing overhead\n');
printWorkflowReport(await workflowBench());
printParallelReport(await parallelBench());
console.log("\n## where a sequential run's time goes, layer by layer (CPU time)\n");
printLayersReport(await layersBench());
console.log('\n## 10,000 runs in flight, 5 ms agents\n');
printInFlightReport(await inFlightBench());
console.log('\n## heap per run held at its 1st, 2nd and 3rd agent\n');
printHeldHeapReport(await heldHeapBench());
console.log('\n## file store commits\n');
printFileStoreReport(await fileStoreBench());
console.log("\n## guarding what an agent's run returns\n");
printAgentResultReport(await agentResultBench());
console.log(
  '\n## run length: per-step cost at 3, 30 and 300 steps; single runs to 3,000 steps with a store, read back; 0.9 MB outputs on the file store\n',
);
printRunLengthReport(await runLengthBench());
