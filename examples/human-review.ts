import { z } from 'zod';
import { createReviews, isReviewError, schemaValidator } from '../src/index.js';

const Draft = z.object({ content: z.string().min(1), confidence: z.number().min(0).max(1) });
const reviews = createReviews({ onEscalation: (n) => console.log(`review ${n.reviewId}: ${n.placeholder}`) });
const ids = { reviewId: 'run-1.writer.1', runId: 'run-1', stepId: 'writer', agentId: 'writer' };
const why = { trigger: 'lowConfidence', confidence: 0.62, reason: 'confidence 0.62 is below 0.7' } as const;
const checked = { validateEdit: schemaValidator(Draft) }; // an edit must pass the agent's output schema

export async function main() {
  const draft = { content: 'Solid-state batteries may ship in 2027.', confidence: 0.62 };
  const { reviewId, done } = reviews.open({ ...ids, ...why, output: draft, timeoutMs: 3_600_000 }, checked);
  for (const r of reviews.list()) console.log(`${r.reviewId}: ${r.status}, confidence ${r.confidence}`);
  await reviews.edit(reviewId, { content: '' }, { by: 'alice' }).catch((e) => {
    if (isReviewError(e)) console.log(`${e.code}: ${e.issues.map((i) => i.path).join(', ')}`); // still pending
  });
  await reviews.edit(
    reviewId,
    { content: 'Expected from 2027 (two makers).', confidence: 0.9 },
    { by: 'alice' },
  );
  const outcome = await done;
  console.log(`${outcome.decision} by ${outcome.by}; pending: ${reviews.list().length}`);
  return outcome;
}
