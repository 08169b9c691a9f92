import { describe, expect, it, vi } from 'vitest';
import { main } from '../examples/model.js';

describe('the model example', () => {
  it('runs against the AI SDK mock model: a non-JSON reply, then a valid retry, with token usage', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const result = await main();
    const lines = log.mock.calls.map((call) => call.map(String).join(' '));
    log.mockRestore();
    expect(result.status).toBe('succeeded');
    expect(result.content).toEqual({ content: 'Solid-state cells.', confidence: 0.9 });
    expect(lines).toEqual([
      'attempt 1: 52 tokens',
      'attempt 2: 52 tokens',
      'succeeded invalid → valid (104 tokens)',
    ]);
  });
});
