import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Tests drive time with SimulatedClock or fake timers, so a slow test is a hung test.
    testTimeout: 20_000,
    pool: 'threads',
  },
});
