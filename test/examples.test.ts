import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { main as qualityGate } from '../examples/quality-gate.js';
import { main } from '../examples/quickstart.js';
import { main as workflowExample } from '../examples/workflow.js';

describe('examples', () => {
  it('the quickstart runs: a short first answer is refined, the second is accepted', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const result = await main();
    const lines = log.mock.calls.map((call) => String(call[0]));
    log.mockRestore();
    expect(result.status).toBe('succeeded');
    expect(result.attempts.map((a) => a.outcome)).toEqual(['notDone', 'valid']);
    expect(lines).toEqual([
      'HIGH (0.9): solid-state batteries: a much longer, more detailed answer (attempt 2)',
    ]);
  });

  it('the quality-gate example: the breaker opens after three low outputs and the fifth call is refused', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const { seen, calls } = await qualityGate();
    log.mockRestore();
    expect(calls).toBe(4);
    expect(seen).toEqual([
      'notes #1',
      'gated: [Low confidence — human review required]',
      'gated: [Low confidence — human review required]',
      'gated: [Low confidence — human review required]',
      'breakerOpen: [Circuit open — agent not called]',
    ]);
  });

  it('the workflow example completes the report pipeline', async () => {
    vi.useFakeTimers(); // its mock agents take 20 ms each: simulated, not waited for
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const pending = workflowExample();
    await vi.runAllTimersAsync();
    const result = await pending;
    log.mockRestore();
    vi.useRealTimers();
    expect(result.status).toBe('completed');
    expect(result.steps.map((s) => s.stepId)).toEqual([
      'researcher',
      'fact-checker',
      'style-checker',
      'writer',
    ]);
  });

  for (const example of ['quickstart', 'quality-gate', 'workflow', 'model']) {
    it(`the README shows examples/${example}.ts exactly as it runs`, () => {
      const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
      // The file imports the package by name, as pasted; the README calls main() where the file
      // does so only when run directly.
      const body = readFileSync(new URL(`../examples/${example}.ts`, import.meta.url), 'utf8').replace(
        /\nif \(import\.meta\.url[^\n]*\n$/,
        '\nawait main();\n',
      );
      expect(readme).toContain(body);
    });
  }
});
