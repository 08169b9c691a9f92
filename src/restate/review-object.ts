import * as restate from '@restatedev/restate-sdk';
import { REVIEW_OBJECT } from './names.js';

/**
 * Where a review lives: one virtual object per review id, holding the id of the run that opened it.
 * Review ids are opaque (`reviewIdOf`), so a client routes a decision through this lookup rather
 * than parsing the run id out of the review id. Written once, before the run announces the review.
 */
export const reviewObject = restate.object({
  name: REVIEW_OBJECT,
  handlers: {
    open: async (ctx: restate.ObjectContext, runId: string): Promise<void> => {
      // Ids are unique per run, step and visit: the first writer is the only one.
      if ((await ctx.get<string>('runId')) == null) ctx.set('runId', runId);
    },
    runOf: restate.handlers.object.shared(
      async (ctx: restate.ObjectSharedContext): Promise<string | null> =>
        (await ctx.get<string>('runId')) ?? null,
    ),
  },
});

export type ReviewObject = typeof reviewObject;
