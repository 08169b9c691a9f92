import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  // Examples import the package by name, as users do; tests run them against the source.
  resolve: {
    alias: [
      { find: /^agentcharts$/, replacement: source('./src/index.ts') },
      { find: /^agentcharts\/browser$/, replacement: source('./src/browser.ts') },
      { find: /^agentcharts\/model$/, replacement: source('./src/model/index.ts') },
      { find: /^agentcharts\/node$/, replacement: source('./src/node.node.ts') },
      { find: /^agentcharts\/otel$/, replacement: source('./src/otel.ts') },
      { find: /^agentcharts\/restate$/, replacement: source('./src/restate/index.ts') },
      { find: /^agentcharts\/testing$/, replacement: source('./src/testing/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Tests drive time with SimulatedClock or fake timers, so a slow test is a hung test.
    testTimeout: 20_000,
    pool: 'threads',
  },
});
