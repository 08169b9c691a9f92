/**
 * Every benchmark, each against its plain baseline in the same run, reported as ratios.
 *   npm run bench
 */
import { blackboardMemory, printMemoryReport } from './blackboard-memory.js';
import { fileStoreBench, printFileStoreReport } from './file-store.js';
import { printWorkflowReport, workflowBench } from './workflow.js';

console.log('## workflow cost and tracing overhead\n');
printWorkflowReport(await workflowBench());
console.log('\n## shared-state history memory\n');
printMemoryReport(blackboardMemory());
console.log('\n## file store commits\n');
printFileStoreReport(await fileStoreBench());
