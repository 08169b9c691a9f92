import { describe, expect, it } from 'vitest';
import { defineAgent } from '../src/agent.js';
import { isOptionsError } from '../src/errors.js';
import { withQualityGate } from '../src/quality-gate.js';
import { mockRun } from '../src/testing/mock-agent.js';
import { Draft, draft } from './helpers/agents.js';
import { testClock } from './helpers/clock.js';

describe('withQualityGate: the gate and breaker without a workflow', () => {
  it('passes a good output, blocks a low one with the explicit fallback, then opens and stops calling', async () => {
    const clock = testClock();
    const run = mockRun([
      { output: draft('solid', 0.9) },
      { output: draft('shaky', 0.4) },
      { output: draft('shaky', 0.5) },
      { output: draft('shaky', 0.6) },
      { output: draft('good again', 0.95) },
    ]);
    const researcher = defineAgent({ id: 'researcher', output: Draft, run, limits: { maxIterations: 1 } });
    const gated = withQualityGate(researcher, {
      key: 'researcher→writer',
      failureThreshold: 3,
      cooldownMs: 30_000,
      clock,
    });

    const first = await gated.run(null);
    expect(first).toMatchObject({ passed: true, result: { content: { content: 'solid' } } });

    const second = await gated.run(null);
    expect(second).toMatchObject({
      passed: false,
      fallback: {
        status: 'gated',
        content: '[Low confidence — human review required]',
        agentId: 'researcher',
        confidence: 0.4,
        quality: 'LOW',
        cause: 'lowQuality',
      },
    });
    await gated.run(null);
    await gated.run(null); // third consecutive failure opens the breaker
    expect(gated.breaker.state().value).toBe('open');

    const refused = await gated.run(null);
    expect(run.calls).toHaveLength(4); // the agent was not called
    expect(refused).toMatchObject({
      passed: false,
      fallback: { status: 'breakerOpen', breaker: 'researcher→writer', probeAt: 30_000, state: 'open' },
    });

    await clock.advance(30_000);
    expect(gated.breaker.state().value).toBe('halfOpen');
    const probe = await gated.run(null);
    expect(probe.passed).toBe(true);
    expect(gated.breaker.state().value).toBe('closed');
    gated.breaker.stop();
  });

  it('an agent fallback never passes the gate and counts as a failure', async () => {
    const clock = testClock();
    const agent = defineAgent({
      id: 'slow',
      output: Draft,
      run: mockRun([{ hang: true }]),
      limits: { maxIterations: 1, attemptTimeoutMs: 100 },
    });
    const gated = withQualityGate(agent, { clock, failureThreshold: 1 });
    const pending = gated.run(null);
    await clock.advance(100);
    const decision = await pending;
    expect(decision).toMatchObject({
      passed: false,
      fallback: {
        status: 'gated',
        cause: 'upstreamFallback',
        upstream: 'timedOut',
        content: '[Timeout — escalating to human review]',
      },
    });
    expect(gated.breaker.state().value).toBe('open');
    gated.breaker.stop();
  });

  it('bad options fail when wrapping, naming the field', () => {
    const agent = defineAgent({ id: 'a', output: Draft, run: mockRun([{ output: draft('x') }]) });
    for (const [options, field] of [
      [{ failureThreshold: 0 }, 'failureThreshold'],
      [{ cooldownMs: -1 }, 'cooldownMs'],
      [{ minQuality: 'GOOD' }, 'minQuality'],
      [{ breaker: {} }, 'breaker'],
    ] as const) {
      try {
        withQualityGate(agent, options as never);
        expect.unreachable(`accepted ${JSON.stringify(options)}`);
      } catch (error) {
        expect(isOptionsError(error)).toBe(true);
        expect((error as { field: string }).field).toBe(field);
      }
    }
  });
});
