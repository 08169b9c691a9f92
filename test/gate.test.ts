import { describe, expect, it } from 'vitest';
import {
  BREAKER_OPEN_CONTENT,
  isBreakerOpen,
  isGateFallback,
  LOW_CONFIDENCE_CONTENT,
} from '../machines/edge-result.js';
import { applyGate, verdictOf } from '../machines/gate.js';
import { fallback, success } from './helpers/results.js';

const MEDIUM = { minQuality: 'MEDIUM' as const };

describe('applyGate', () => {
  it('passes an output at or above the minimum quality unchanged', () => {
    const high = success(0.9);
    expect(applyGate(high, MEDIUM)).toEqual({ passed: true, result: high });
    const medium = success(0.65); // the MEDIUM band is inclusive at 0.65
    expect(applyGate(medium, MEDIUM).passed).toBe(true);
  });

  it('replaces a LOW output with the explicit low-confidence fallback, keeping confidence and agent id', () => {
    const decision = applyGate(success(0.64, 'weak draft', 'writer'), MEDIUM);
    expect(decision).toEqual({
      passed: false,
      fallback: {
        status: 'gated',
        fallback: true,
        agentId: 'writer',
        content: '[Low confidence — human review required]',
        confidence: 0.64,
        quality: 'LOW',
        cause: 'lowQuality',
        upstream: 'succeeded',
        minQuality: 'MEDIUM',
        reason: 'agent "writer" output quality LOW (confidence 0.64) is below the gate\'s minimum MEDIUM',
        candidate: { content: 'weak draft', confidence: 0.64, quality: 'LOW' },
      },
    });
    expect(LOW_CONFIDENCE_CONTENT).toBe('[Low confidence — human review required]');
  });

  it('never passes an agent fallback, whatever the minimum', () => {
    const decision = applyGate(fallback('timedOut'), { minQuality: 'LOW' });
    expect(decision.passed).toBe(false);
    if (decision.passed) return;
    expect(decision.fallback).toMatchObject({
      status: 'gated',
      cause: 'upstreamFallback',
      upstream: 'timedOut',
      content: '[Timeout — escalating to human review]',
      quality: 'LOW',
      confidence: 0,
      agentId: 'researcher',
    });
    expect(decision.fallback.reason).toContain('timedOut');
  });

  it('keeps an agent fallback candidate for the reviewer', () => {
    const candidate = { content: 'almost', confidence: 0.7, quality: 'MEDIUM' as const };
    const decision = applyGate({ ...fallback('maxIterations'), candidate }, MEDIUM);
    expect(!decision.passed && decision.fallback.candidate).toEqual(candidate);
  });

  it('honours minQuality HIGH and LOW', () => {
    expect(applyGate(success(0.8), { minQuality: 'HIGH' }).passed).toBe(false);
    expect(applyGate(success(0.86), { minQuality: 'HIGH' }).passed).toBe(true);
    expect(applyGate(success(0.1), { minQuality: 'LOW' }).passed).toBe(true);
  });

  it('classifies by confidence when given thresholds, instead of trusting result.quality', () => {
    const result = success(0.7); // MEDIUM with the seed bands
    expect(applyGate(result, MEDIUM).passed).toBe(true);
    const strict = applyGate(result, { minQuality: 'MEDIUM', quality: { high: 0.95, medium: 0.75 } });
    expect(strict.passed).toBe(false);
    expect(!strict.passed && strict.fallback.candidate?.quality).toBe('LOW');
  });

  it('fails a non-finite confidence even if the result claims HIGH', () => {
    const bogus = { ...success(0.9), confidence: Number.NaN };
    expect(applyGate(bogus, MEDIUM).passed).toBe(false);
  });
});

describe('verdictOf', () => {
  it('maps gate decisions to breaker verdicts; cancellation is neutral', () => {
    expect(verdictOf(success(0.9), MEDIUM)).toBe('success');
    expect(verdictOf(success(0.3), MEDIUM)).toBe('failure');
    expect(verdictOf(fallback('failed'), MEDIUM)).toBe('failure');
    expect(verdictOf(fallback('cancelled'), MEDIUM)).toBe('neutral');
  });
});

describe('edge result guards', () => {
  it('tell gate fallbacks from breakerOpen results', () => {
    const gated = applyGate(success(0.1), MEDIUM);
    expect(!gated.passed && isGateFallback(gated.fallback)).toBe(true);
    expect(!gated.passed && isBreakerOpen(gated.fallback)).toBe(false);
    expect(isBreakerOpen({ status: 'breakerOpen', content: BREAKER_OPEN_CONTENT })).toBe(true);
    expect(isGateFallback(null)).toBe(false);
    expect(isBreakerOpen('breakerOpen')).toBe(false);
  });
});
