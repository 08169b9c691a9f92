import * as restate from '@restatedev/restate-sdk';
import type { PendingReview } from '../review/records.js';
import { REVIEWS_OBJECT } from './names.js';

/**
 * The cluster's index of pending reviews: one virtual object (key `pending`), so a client on any
 * machine can list them. The review itself lives in its run (a durable promise); this is only where
 * to find it. Bounded: the oldest entries beyond MAX_PENDING are dropped from the index (the reviews
 * stay decidable by id).
 */

/** An entry of the index: the same shape as the in-process `reviews.list()` gives. */
export type PendingEntry = PendingReview;

export const MAX_PENDING = 10_000;

export const reviewsObject = restate.object({
  name: REVIEWS_OBJECT,
  handlers: {
    add: async (ctx: restate.ObjectContext, entry: PendingEntry): Promise<void> => {
      const list = (await ctx.get<PendingEntry[]>('list')) ?? [];
      if (list.some((e) => e.reviewId === entry.reviewId)) return;
      list.push(entry);
      ctx.set('list', list.slice(-MAX_PENDING));
    },
    remove: async (ctx: restate.ObjectContext, reviewId: string): Promise<void> => {
      const list = (await ctx.get<PendingEntry[]>('list')) ?? [];
      ctx.set(
        'list',
        list.filter((e) => e.reviewId !== reviewId),
      );
    },
    list: restate.handlers.object.shared(
      async (ctx: restate.ObjectSharedContext): Promise<PendingEntry[]> =>
        (await ctx.get<PendingEntry[]>('list')) ?? [],
    ),
  },
});

export type ReviewsObject = typeof reviewsObject;
