/**
 * Carries a confidence score computed inside `run` (by a judge or from log-probabilities) to the
 * agent's synchronous `confidence(output)` extractor, without adding a field to the user's schema.
 *
 * defineAgent gives `confidence` only the validated output, so the score is keyed by that output's
 * JSON: `run` parses the model's JSON with the same schema the agent validates with, so both sides
 * see equal data, and the agent validates right after `run` returns, inside the same attempt.
 * Scores queue per key (first in, first out) so concurrent runs with equal outputs keep their own;
 * the map is bounded in case an output is scored but never validated. A stopgap until the core lets
 * `run` return attempt metadata (confidence, usage) with its output.
 */

/** A score, or why none could be obtained (the attempt is then invalid, with this reason). */
export type Score = { ok: true; value: number } | { ok: false; reason: string };

export interface ScoreChannel {
  put(output: unknown, score: Score): void;
  /** The oldest score recorded for an equal output; undefined when none is waiting. */
  take(output: unknown): Score | undefined;
}

export const MAX_WAITING_SCORES = 1024;

export function createScoreChannel(limit = MAX_WAITING_SCORES): ScoreChannel {
  const waiting = new Map<string, Score[]>();
  let size = 0;
  return {
    put(output, score) {
      const key = keyOf(output);
      if (key === undefined) return;
      const queue = waiting.get(key);
      if (queue) queue.push(score);
      else waiting.set(key, [score]);
      size++;
      // Evict the oldest key's scores: they belong to attempts that never reached validation.
      while (size > limit) {
        const [oldest, scores] = waiting.entries().next().value as [string, Score[]];
        waiting.delete(oldest);
        size -= scores.length;
      }
    },
    take(output) {
      const key = keyOf(output);
      const queue = key === undefined ? undefined : waiting.get(key);
      if (!queue || key === undefined) return undefined;
      const score = queue.shift();
      size--;
      if (queue.length === 0) waiting.delete(key);
      return score;
    },
  };
}

function keyOf(output: unknown): string | undefined {
  try {
    return JSON.stringify(output);
  } catch {
    return undefined;
  }
}
