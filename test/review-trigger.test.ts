import { describe, expect, it } from 'vitest';
import type { BreakerOpen } from '../machines/edge-result.js';
import { BREAKER_OPEN_CONTENT } from '../machines/edge-result.js';
import { applyGate } from '../machines/gate.js';
import { parseReviewOptions, type ReviewConfig } from '../src/review/options.js';
import { reviewTrigger } from '../src/review/trigger.js';
import { fallback, success } from './helpers/results.js';

const config = (review: object = {}) => parseReviewOptions(review, 'test') as ReviewConfig;

const breakerOpen: BreakerOpen = {
  status: 'breakerOpen',
  fallback: true,
  breaker: 'researcher→writer',
  content: BREAKER_OPEN_CONTENT,
  confidence: 0,
  quality: 'LOW',
  state: 'open',
  at: 0,
  probeAt: 30_000,
  reason: 'breaker "researcher→writer" is open',
};

describe('reviewTrigger', () => {
  it('escalates a success strictly below the threshold, with its output', () => {
    expect(reviewTrigger(success(0.62, { content: 'x' }), config())).toEqual({
      trigger: 'lowConfidence',
      output: { content: 'x' },
      confidence: 0.62,
      reason: 'agent "researcher" output confidence 0.62 is below the review threshold 0.7',
    });
    expect(reviewTrigger(success(0.7), config())).toBeNull();
    expect(reviewTrigger(success(0.69), config({ below: 0.6 }))).toBeNull();
  });

  it('escalates agent fallbacks by default (with the candidate when one validated), never a cancel', () => {
    expect(reviewTrigger(fallback('timedOut'), config())).toEqual({
      trigger: 'fallback',
      output: null,
      confidence: 0,
      reason: 'agent "researcher" ended in a fallback (timedOut): ended: timedOut',
    });
    const withCandidate = {
      ...fallback('maxIterations'),
      candidate: { content: 'almost', confidence: 0.8, quality: 'MEDIUM' as const },
    };
    expect(reviewTrigger(withCandidate, config())).toMatchObject({ output: 'almost', confidence: 0.8 });
    expect(reviewTrigger(fallback('cancelled'), config())).toBeNull();
    expect(reviewTrigger(fallback('timedOut'), config({ onFallback: false }))).toBeNull();
  });

  it('escalates an open breaker only when asked to', () => {
    expect(reviewTrigger(breakerOpen, config())).toBeNull();
    expect(reviewTrigger(breakerOpen, config({ onBreakerOpen: true }))).toEqual({
      trigger: 'breakerOpen',
      output: null,
      confidence: 0,
      reason: breakerOpen.reason,
    });
  });

  it('escalates a gated output: low confidence with the blocked candidate, or as a fallback', () => {
    const gatedLow = applyGate(success(0.5, 'weak'), { minQuality: 'MEDIUM' });
    if (gatedLow.passed) throw new Error('expected the gate to block');
    expect(reviewTrigger(gatedLow.fallback, config())).toMatchObject({
      trigger: 'lowConfidence',
      output: 'weak',
      confidence: 0.5,
    });
    // Blocked by a stricter gate, but above the review threshold: a fallback, by policy.
    const gatedHigh = applyGate(success(0.8, 'ok'), { minQuality: 'HIGH' });
    if (gatedHigh.passed) throw new Error('expected the gate to block');
    expect(reviewTrigger(gatedHigh.fallback, config())).toMatchObject({ trigger: 'fallback', output: 'ok' });
    expect(reviewTrigger(gatedHigh.fallback, config({ onFallback: false }))).toBeNull();
    const gatedCancel = applyGate(fallback('cancelled'), { minQuality: 'MEDIUM' });
    if (gatedCancel.passed) throw new Error('expected the gate to block');
    expect(reviewTrigger(gatedCancel.fallback, config())).toBeNull();
  });
});
