import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The browser example: `npm run build:browser-example` bundles it into dist/examples-browser.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './', // relative asset URLs: the build works from any directory a server puts it in
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../../dist/examples-browser', import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
  },
});
