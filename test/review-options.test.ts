import { describe, expect, it } from 'vitest';
import { MAX_TIMER_MS } from '../machines/clock.js';
import { isOptionsError } from '../src/errors.js';
import { DEFAULT_REVIEW_THRESHOLD, parseReviewOptions } from '../src/review/options.js';

const WHERE = 'defineWorkflow("report") step "write"';

const message = (value: unknown) => {
  try {
    parseReviewOptions(value, WHERE);
  } catch (error) {
    expect(isOptionsError(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected an OptionsError');
};

describe('parseReviewOptions', () => {
  it('applies the documented defaults (seed threshold 0.70)', () => {
    const defaults = {
      below: 0.7,
      onFallback: true,
      onBreakerOpen: false,
      timeoutMs: null,
      onTimeout: 'fallback',
    };
    expect(DEFAULT_REVIEW_THRESHOLD).toBe(0.7);
    expect(parseReviewOptions(true, WHERE)).toEqual(defaults);
    expect(parseReviewOptions({}, WHERE)).toEqual(defaults);
    expect(parseReviewOptions({ below: 0.5 }, WHERE)).toEqual({ ...defaults, below: 0.5 });
  });

  it('means no review for false, null and undefined', () => {
    expect(parseReviewOptions(false, WHERE)).toBeNull();
    expect(parseReviewOptions(null, WHERE)).toBeNull();
    expect(parseReviewOptions(undefined, WHERE)).toBeNull();
  });

  it('keeps every given value, and freezes the result', () => {
    const config = parseReviewOptions(
      { below: 1, onFallback: false, onBreakerOpen: true, timeoutMs: 3_600_000, onTimeout: 'reject' },
      WHERE,
    );
    expect(config).toEqual({
      below: 1,
      onFallback: false,
      onBreakerOpen: true,
      timeoutMs: 3_600_000,
      onTimeout: 'reject',
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('fails at definition time, naming the field and the value', () => {
    expect(message({ below: 0 })).toBe(
      `${WHERE}: review.below must be a number above 0 and at most 1, received 0`,
    );
    expect(message({ below: 1.01 })).toBe(
      `${WHERE}: review.below must be a number above 0 and at most 1, received 1.01`,
    );
    expect(message({ below: '0.7' })).toContain('review.below must be a number above 0');
    expect(message({ timeoutMs: -1 })).toBe(
      `${WHERE}: review.timeoutMs must be an integer number of milliseconds from 1 to ${MAX_TIMER_MS}, received -1`,
    );
    expect(message({ timeoutMs: 0 })).toContain('review.timeoutMs must be an integer number of milliseconds');
    expect(message({ timeoutMs: MAX_TIMER_MS + 1 })).toContain('review.timeoutMs');
    expect(message({ timeoutMs: 1_000, onTimeout: 'ignore' })).toBe(
      `${WHERE}: review.onTimeout must be "fallback" or "reject", received "ignore"`,
    );
    expect(message({ onTimeout: 'reject' })).toBe(
      `${WHERE}: review.onTimeout has no effect without timeoutMs (set timeoutMs, or remove onTimeout), received "reject"`,
    );
    expect(message({ onFallback: 'yes' })).toBe(
      `${WHERE}: review.onFallback must be true or false, received "yes"`,
    );
    expect(message({ threshold: 0.7 })).toBe(
      `${WHERE}: review.threshold is not a known option, received 0.7`,
    );
    expect(message(0.7)).toBe(
      `${WHERE}: review must be true, false, or { below, onFallback, onBreakerOpen, timeoutMs, onTimeout }, received 0.7`,
    );
    expect(message([])).toContain('review must be true, false, or');
  });
});
