import { describe, expect, it } from 'vitest';
import { classifyQuality, meetsQuality } from '../machines/quality.js';
import { backoffDelay, worstCaseMs } from '../machines/retry.js';

describe('quality bands (seed: HIGH > 0.85, MEDIUM 0.65–0.85 inclusive, LOW < 0.65)', () => {
  it.each([
    [0, 'LOW'],
    [0.6499, 'LOW'],
    [0.65, 'MEDIUM'],
    [0.7, 'MEDIUM'],
    [0.85, 'MEDIUM'],
    [0.8501, 'HIGH'],
    [1, 'HIGH'],
  ] as const)('%f is %s', (confidence, quality) => {
    expect(classifyQuality(confidence)).toBe(quality);
  });

  it('thresholds are configurable', () => {
    expect(classifyQuality(0.9, { high: 0.95, medium: 0.5 })).toBe('MEDIUM');
    expect(classifyQuality(0.45, { high: 0.95, medium: 0.5 })).toBe('LOW');
  });

  it('orders LOW < MEDIUM < HIGH', () => {
    expect(meetsQuality('MEDIUM', 'MEDIUM')).toBe(true);
    expect(meetsQuality('LOW', 'MEDIUM')).toBe(false);
    expect(meetsQuality('HIGH', 'MEDIUM')).toBe(true);
  });
});

describe('backoff', () => {
  const policy = { initialDelayMs: 100, factor: 3, maxDelayMs: 500, jitter: 0 };
  it('grows by the factor and is capped', () => {
    expect([1, 2, 3, 4].map((a) => backoffDelay(policy, a, 'k'))).toEqual([100, 300, 500, 500]);
  });
  it('jitter is deterministic per key and stays within the fraction', () => {
    const jittered = { ...policy, jitter: 0.5 };
    const delays = Array.from({ length: 50 }, (_, i) => backoffDelay(jittered, 1, `run${i}:step:1`));
    expect(delays).toEqual(Array.from({ length: 50 }, (_, i) => backoffDelay(jittered, 1, `run${i}:step:1`)));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(50);
    expect(Math.max(...delays)).toBeLessThanOrEqual(100);
    expect(new Set(delays).size).toBeGreaterThan(10); // spread out, not one value
  });
  it('the bound without a deadline is every attempt timing out plus every backoff', () => {
    expect(worstCaseMs(policy, 3, 1000)).toBe(3000 + 100 + 300);
  });
});
