import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The console page: `npm run build:console` bundles it into dist/console, which the runtime serves.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './', // relative URLs: the page lives under /<token>/ on the console server
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../../../dist/console', import.meta.url)),
    emptyOutDir: true,
    // elkjs (the diagram layout) is one large pre-minified chunk, loaded only when a run is opened.
    chunkSizeWarningLimit: 2_000,
    modulePreload: { polyfill: false },
  },
});
