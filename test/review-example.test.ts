import { describe, expect, it, vi } from 'vitest';
import { main } from '../examples/human-review.js';

describe('the human review example', () => {
  it('lists the review, refuses an invalid edit, and completes with the edited output', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const outcome = await main();
      expect(log.mock.calls.map((c) => c[0])).toEqual([
        'review run-1.writer.1: [Pending human review — confidence 62%]',
        'run-1.writer.1: notifying, confidence 0.62',
        'invalidEdit: content, confidence',
        'edited by alice; pending: 0',
      ]);
      expect(outcome).toMatchObject({
        decision: 'edited',
        resolution: 'output',
        output: { content: 'Expected from 2027 (two makers).', confidence: 0.9 },
      });
    } finally {
      log.mockRestore();
    }
  });
});
