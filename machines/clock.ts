/**
 * XState's Clock only schedules; agentcharts also needs to read the time so deadlines can be kept as
 * absolute times in context (pending `after` timers are not restored from a persisted snapshot).
 * SimulatedClock has `now()`; any clock given to the runtime must too.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
}

/** The current time on the clock the actor system runs on (wall clock when it has no `now`). */
export function now(system: { _clock: unknown }): number {
  const clock = system._clock as Partial<Clock> | undefined;
  return typeof clock?.now === 'function' ? clock.now() : Date.now();
}

/** setTimeout's limit (about 24.8 days): a longer delay silently fires at once in Node and browsers. */
export const MAX_TIMER_MS = 2_147_483_647;
