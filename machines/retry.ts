/** Exponential backoff between failed attempts. */
export interface RetryPolicy {
  /** Delay before the second attempt. */
  initialDelayMs: number;
  /** Growth per further attempt. */
  factor: number;
  maxDelayMs: number;
  /**
   * Fraction of the delay taken off at random-looking but deterministic points: derived from the
   * idempotency key, so runs spread out under load yet a test (or a replay) sees the same delays.
   */
  jitter: number;
}

/** Delay after attempt `attempt` (1-based) failed. */
export function backoffDelay(policy: RetryPolicy, attempt: number, key: string): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** Math.max(0, attempt - 1));
  if (policy.jitter === 0) return base;
  return Math.round(base * (1 - policy.jitter * unitHash(key)));
}

/** FNV-1a of the key, mapped to [0, 1). */
function unitHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 0x1_0000_0000;
}

/** The longest a call can take without a deadline: every attempt times out, every backoff is waited. */
export function worstCaseMs(policy: RetryPolicy, maxIterations: number, attemptTimeoutMs: number): number {
  let total = maxIterations * attemptTimeoutMs;
  for (let attempt = 1; attempt < maxIterations; attempt++)
    total += backoffDelay({ ...policy, jitter: 0 }, attempt, '');
  return total;
}
