/**
 * Lists at their exact length. V8 gives an array built by a spread (`[...list, item]`) or grown by
 * a first `push` room for 17 items: ~0.1 KB unused in each short list, and a run in flight holds
 * several (its steps, an agent's attempts, the run's spans, events and log entries).
 */

/** `list` and one more item, as a new array of exactly that length. */
export const withItem = <T>(list: readonly T[], item: T): T[] => (list as T[]).concat([item]);

/** Short lists are copied at their exact length; from this length on, a list grows in place. */
const SHORT = 16;

/** Adds `item` to a list that grows in place: returns the list to keep (a new one while short). */
export function pushed<T>(list: T[], item: T): T[] {
  if (list.length < SHORT) return list.concat([item]);
  list.push(item);
  return list;
}
