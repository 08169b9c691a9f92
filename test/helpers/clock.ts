import { SimulatedClock } from 'xstate';

/** Let every pending promise callback run. No time passes: this is not a sleep. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A simulated clock with helpers that advance it and let the actors react. */
export function testClock() {
  const clock = new SimulatedClock();
  return Object.assign(clock, {
    async advance(ms: number): Promise<void> {
      await settle();
      clock.increment(ms);
      await settle();
    },
  });
}

export type TestClock = ReturnType<typeof testClock>;
