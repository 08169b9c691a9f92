import chromium from '@sparticuz/chromium';
import { type Browser, chromium as playwright } from 'playwright-core';

/**
 * Headless Chromium for tests, from the `@sparticuz/chromium` dev dependency: the binary ships inside
 * the npm package, so `npm ci` is all a fresh machine needs (no system browser, no root, no download).
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = await chromium.executablePath();
  return playwright.launch({
    executablePath,
    headless: true,
    // Without the background-networking flags Chromium keeps dialling out on a closed network.
    args: [
      // Its Lambda-minded `--single-process` ends the browser when the first context closes.
      ...chromium.args.filter((arg) => arg !== '--single-process'),
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
