import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './helpers/browser.js';
import { serveStatic } from './helpers/serve.js';

/**
 * examples/browser, built with Vite and run in headless Chromium (from @sparticuz/chromium, driven by
 * playwright-core). Set AGENTCHARTS_SCREENSHOT=/tmp/page.png to keep a screenshot of the result.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
let outDir: string;
let server: Server;
let origin: string;
let browser: Browser;
let context: BrowserContext | undefined;

beforeAll(async () => {
  // A fresh build in a temporary directory: tests never read a stale or half-written dist/.
  outDir = await mkdtemp(join(tmpdir(), 'agentcharts-browser-example-'));
  await build({
    configFile: join(root, 'examples/browser/vite.config.ts'),
    mode: 'production',
    logLevel: 'error',
    build: { outDir, sourcemap: false },
  });
  ({ server, origin } = await serveStatic(outDir));
  browser = await launchChromium();
}, 60_000);

afterEach(async () => {
  await context?.close();
  context = undefined;
});

afterAll(async () => {
  await browser?.close();
  await new Promise((done) => (server ? server.close(done) : done(undefined)));
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

/** A page that may reach only the example's origin; every other request is refused and recorded. */
async function openPage(options: { windowOpenFails?: boolean } = {}) {
  context = await browser.newContext();
  if (options.windowOpenFails) {
    await context.addInitScript(() => {
      window.open = () => null;
    });
  }
  const refused: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(`${origin}/`)) return route.continue();
    refused.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  await page.goto(`${origin}/`);
  return { page, refused, errors };
}

/** Click "Run the workflow" and read what the page shows once the run is over. */
async function runInPage(page: Page) {
  await page.click('#run');
  await page.waitForSelector('#app[data-status]', { timeout: 15_000 });
  return {
    status: await page.getAttribute('#app', 'data-status'),
    output: JSON.parse((await page.textContent('#result')) ?? 'null') as unknown,
    steps: await page.$$eval('#steps tr', (rows) =>
      rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent)),
    ),
    agentCalls: await page.textContent('#agent-calls'),
    events: await page.$$eval('#events li', (items) => items.map((item) => item.textContent)),
    observerErrors: await page.$$eval('#observer-errors li', (items) =>
      items.map((item) => item.textContent),
    ),
  };
}

const expected = {
  status: 'completed',
  output: {
    report: 'Solid-state batteries: safer and denser, not yet cheap to make.',
    checks: ['Claims verified against two sources.', 'Clear and concise.'],
  },
  steps: [
    ['researcher', 'passed', 'HIGH', '0.90'],
    ['fact-checker', 'passed', 'HIGH', '0.88'],
    ['style-checker', 'passed', 'MEDIUM', '0.80'],
    ['writer', 'passed', 'HIGH', '0.93'],
  ],
  agentCalls: '4',
};

describe('examples/browser in headless Chromium', () => {
  it('runs the workflow to completion in the page and shows its result, steps and trace', async () => {
    const { page, refused, errors } = await openPage();
    expect(await page.textContent('#status')).toBe('not started');
    // The inspector window opens on the click and asks for the hosted Stately inspector (refused here).
    const inspectorRequest = context!.waitForEvent('request', {
      predicate: (request) => request.url().startsWith('https://stately.ai/inspect'),
      timeout: 15_000,
    });
    const shown = await runInPage(page);
    await inspectorRequest;

    expect(shown).toMatchObject(expected);
    expect(shown.events[0]).toBe('run.started');
    expect(shown.events).toContain('step.finished writer');
    expect(shown.events.at(-1)).toBe('run.completed completed');
    expect(shown.observerErrors).toEqual([]);
    expect(errors).toEqual([]);
    expect(refused.every((url) => url.startsWith('https://stately.ai/'))).toBe(true);

    // The run was stored in the page's IndexedDB (browserStore), and is still there after a reload.
    expect(await page.textContent('#stored')).toBe('1');
    await page.reload();
    await page.waitForFunction(() => document.getElementById('stored')?.textContent === '1', undefined, {
      timeout: 15_000,
    });

    if (process.env.AGENTCHARTS_SCREENSHOT) {
      await page.screenshot({ path: process.env.AGENTCHARTS_SCREENSHOT, fullPage: true });
    }
  });

  it('still runs when the inspector window cannot open (window.open returns null, as under a pop-up blocker)', async () => {
    const { page, errors } = await openPage({ windowOpenFails: true });

    expect(await runInPage(page)).toMatchObject(expected);
    expect(context!.pages()).toHaveLength(1); // no inspector window
    // A second run on the same runtime works too.
    expect(await runInPage(page)).toMatchObject(expected);
    expect(errors).toEqual([]);
  });
});
