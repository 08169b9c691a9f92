/**
 * Every benchmark, each against its plain baseline in the same run, reported as ratios.
 *   npm run bench
 * The memory figures come first: they measure the heap, which the other benchmarks leave behind.
 */
import { agentResultBench, printAgentResultReport } from './agent-result.js';
import { blackboardMemory, printMemoryReport } from './blackboard-memory.js';
import { fileStoreBench, printFileStoreReport } from './file-store.js';
import { printWorkflowReport, workflowBench } from './workflow.js';

console.log('## shared-state history memory\n');
printMemoryReport(blackboardMemory());
console.log('\n## workflow cost and tracing overhead\n');
printWorkflowReport(await workflowBench());
console.log('\n## file store commits\n');
printFileStoreReport(await fileStoreBench());
console.log("\n## guarding what an agent's run returns\n");
printAgentResultReport(await agentResultBench());
