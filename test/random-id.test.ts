import { describe, expect, it } from 'vitest';
import { randomHex, randomUrlId } from '../src/random-id.js';
import { isSafeRunId } from '../src/run-id.js';
import { isTraceId, newSpanId, newTraceId } from '../src/trace/ids.js';

describe('random ids', () => {
  it('run ids are 21 URL-safe characters that every store accepts, and do not repeat', () => {
    // More than one pool of random bytes, so refills are crossed.
    const ids = Array.from({ length: 5_000 }, () => randomUrlId());
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_-]{21}$/);
      expect(isSafeRunId(id)).toBe(true);
    }
  });

  it('trace and span ids are W3C-sized lowercase hex, not all zero, and do not repeat', () => {
    const traces = Array.from({ length: 2_000 }, newTraceId);
    const spans = Array.from({ length: 2_000 }, newSpanId);
    expect(new Set(traces).size).toBe(traces.length);
    expect(new Set(spans).size).toBe(spans.length);
    expect(traces.every(isTraceId)).toBe(true);
    expect(spans.every((s) => /^[0-9a-f]{16}$/.test(s) && s !== '0'.repeat(16))).toBe(true);
    expect(randomHex(3)).toMatch(/^[0-9a-f]{6}$/);
  });

  it('uses all 64 characters and all 16 hex digits (no bias toward part of the alphabet)', () => {
    expect(new Set(Array.from({ length: 200 }, () => randomUrlId()).join('')).size).toBe(64);
    expect(new Set(Array.from({ length: 50 }, () => randomHex(16)).join('')).size).toBe(16);
  });
});
