import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent } from '../src/agent.js';
import { runAgent } from '../src/run-agent.js';

// `as never`: outputs that TypeScript types cannot describe (a key that shadows Object.prototype) or
// that are wrong on purpose; the runtime checks them either way.
describe('an output schema with keys named like Object.prototype members', () => {
  const Output = z.object({
    toString: z.string().optional(),
    constructor: z.number().optional(),
    confidence: z.number(),
  });

  it('accepts an output that leaves them out (zod must not read the inherited members)', async () => {
    const agent = defineAgent({
      id: 'keys',
      output: Output,
      run: async () => ({ confidence: 0.9 }) as never,
    });
    const result = await runAgent(agent, {});
    expect(result.status).toBe('succeeded');
    expect(result.content).toEqual({ confidence: 0.9 });
  });

  it('still refuses a wrong value under such a key', async () => {
    const agent = defineAgent({
      id: 'keys',
      output: Output,
      limits: { maxIterations: 1 },
      // untrusted output: wrong on purpose
      run: async () => ({ toString: 7, confidence: 0.9 }) as never,
    });
    const result = await runAgent(agent, {});
    expect(result.status).toBe('invalidOutput');
    expect(result.fallback && result.reason).toMatch(/toString/);
  });
});
