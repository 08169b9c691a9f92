// agentcharts/testing: deterministic stand-ins for LLM agents, for your tests and demos.
export type { MockCall, MockRun, MockRunOptions, MockStep } from './mock-agent.js';
export { mockRun } from './mock-agent.js';
export { seededRandom } from './random.js';
