import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent } from '../src/agent.js';
import { isOptionsError, type OptionsError } from '../src/errors.js';
import { Draft } from './helpers/agents.js';

const run = async () => ({ content: 'x', confidence: 1 });
const base = { id: 'a', output: Draft, run };

/** The thrown error, asserted to be an OptionsError. */
function optionsErrorOf(f: () => unknown): OptionsError {
  try {
    f();
  } catch (error) {
    expect(isOptionsError(error)).toBe(true);
    return error as OptionsError;
  }
  throw new Error('expected an OptionsError, nothing was thrown');
}

describe('defineAgent: options are checked when defined', () => {
  const cases: Array<[string, Record<string, unknown>, string, unknown, RegExp]> = [
    [
      'maxIterations 0',
      { limits: { maxIterations: 0 } },
      'limits.maxIterations',
      0,
      /must be an integer from 1 to 1000, received 0$/,
    ],
    ['maxIterations 2.5', { limits: { maxIterations: 2.5 } }, 'limits.maxIterations', 2.5, /received 2\.5$/],
    ['negative timeout', { limits: { attemptTimeoutMs: -1 } }, 'limits.attemptTimeoutMs', -1, /received -1$/],
    [
      'timeout past timer range',
      { limits: { attemptTimeoutMs: 2 ** 31 } },
      'limits.attemptTimeoutMs',
      2 ** 31,
      /to 2147483647/,
    ],
    [
      'deadline as a string',
      { limits: { deadlineMs: '60s' } },
      'limits.deadlineMs',
      '60s',
      /received "60s"$/,
    ],
    [
      'unknown limit',
      { limits: { maxIteration: 3 } },
      'limits.maxIteration',
      3,
      /is not a known option, received 3$/,
    ],
    ['unknown top-level option', { timeout: 5 }, 'timeout', 5, /is not a known option/],
    [
      'factor below 1',
      { retry: { factor: 0.5 } },
      'retry.factor',
      0.5,
      /must be a number from 1 to 100, received 0\.5$/,
    ],
    ['jitter above 1', { retry: { jitter: 2 } }, 'retry.jitter', 2, /received 2$/],
    [
      'maxDelay under initial',
      { retry: { initialDelayMs: 500, maxDelayMs: 100 } },
      'retry.maxDelayMs',
      100,
      /at least retry.initialDelayMs \(500\), received 100$/,
    ],
    ['quality above 1', { quality: { high: 1.2 } }, 'quality.high', 1.2, /received 1\.2$/],
    [
      'medium above high',
      { quality: { high: 0.7, medium: 0.8 } },
      'quality.medium',
      0.8,
      /must not exceed quality.high \(0\.7\), received 0\.8$/,
    ],
    [
      'output not a schema',
      { output: { content: 'string' } },
      'output',
      { content: 'string' },
      /must be a zod schema/,
    ],
    [
      'run not a function',
      { run: 'callModel' },
      'run',
      'callModel',
      /must be a function, received "callModel"$/,
    ],
    ['isDone not a function', { isDone: true }, 'isDone', true, /must be a function/],
    ['bad id', { id: 'has space' }, 'id', 'has space', /must be a name/],
    ['zero byte cap', { maxOutputBytes: 0 }, 'maxOutputBytes', 0, /received 0$/],
  ];
  for (const [what, patch, field, received, message] of cases) {
    it(`${what} → names ${field} and the value`, () => {
      const error = optionsErrorOf(() => defineAgent({ ...base, ...patch } as never));
      expect(error.field).toBe(field);
      expect(error.received).toEqual(received);
      expect(error.message).toMatch(message);
      expect(error).toBeInstanceOf(RangeError);
    });
  }

  it('the message says which agent', () => {
    const error = optionsErrorOf(() =>
      defineAgent({ ...base, id: 'researcher', limits: { maxIterations: 0 } }),
    );
    expect(error.message).toBe(
      'defineAgent("researcher"): limits.maxIterations must be an integer from 1 to 1000, received 0',
    );
  });

  it('an output schema without a confidence field needs a confidence function', () => {
    const error = optionsErrorOf(() =>
      defineAgent({ ...base, output: z.object({ text: z.string() }), run: async () => ({ text: 'x' }) }),
    );
    expect(error.field).toBe('confidence');
    expect(() =>
      defineAgent({
        ...base,
        output: z.object({ text: z.string() }),
        run: async () => ({ text: 'x' }),
        confidence: () => 1,
      }),
    ).not.toThrow();
  });

  it('defaults are applied and the definition is frozen', () => {
    const agent = defineAgent(base);
    expect(agent.spec).toEqual({
      id: 'a',
      limits: { maxIterations: 3, attemptTimeoutMs: 30_000, deadlineMs: null },
      retry: { initialDelayMs: 500, factor: 2, maxDelayMs: 10_000, jitter: 0 },
      quality: { high: 0.85, medium: 0.65 },
      maxOutputBytes: 1024 * 1024,
    });
    expect(Object.isFrozen(agent.spec.limits)).toBe(true);
    expect(() => {
      (agent.spec.limits as { maxIterations: number }).maxIterations = 99;
    }).toThrow(TypeError);
  });
});
