// Types only: a review id that remembers the output type of the agent under review.

declare const reviewOutput: unique symbol;

/**
 * A review's id (a string) from a typed place, such as `run.result`'s `awaitingReview` reviews:
 * `reviews.edit(id, output)` then takes that agent's output type. Plain strings work as before.
 */
export type ReviewId<O = unknown> = string & { readonly [reviewOutput]?: O };
