import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../examples/quickstart.js';

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

  it('the README shows the quickstart exactly as it runs', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const body = readFileSync(new URL('../examples/quickstart.ts', import.meta.url), 'utf8')
      .replace("from '../src/index.js'", "from 'agentcharts'")
      .replace(/\nif \(import\.meta\.url[^\n]*\n$/, '\n');
    expect(readme).toContain(body);
  });
});
