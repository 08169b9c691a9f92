import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../src/runtime.js';
import { consoleFixture } from './console-fixture.js';
import { draft } from './helpers/agents.js';
import { launchChromium } from './helpers/browser.js';

/**
 * The console page, built with Vite and driven in headless Chromium (playwright-core). Agents wait
 * for the test to release them and time is simulated, so every step happens when the test says.
 * Screenshots of the run view and the review queue go to docs/ (shown in the README).
 */
const root = fileURLToPath(new URL('..', import.meta.url));
let assets: string;
let browser: Browser;
let context: BrowserContext | undefined;
let runtime: Runtime | undefined;

beforeAll(async () => {
  // A fresh build in a temporary directory: never a stale dist/.
  assets = await mkdtemp(join(tmpdir(), 'agentcharts-console-'));
  await build({
    configFile: join(root, 'src/console/ui/vite.config.node.ts'),
    mode: 'production',
    logLevel: 'error',
    build: { outDir: assets, emptyOutDir: true },
  });
  browser = await launchChromium();
}, 60_000);

afterEach(async () => {
  await context?.close();
  context = undefined;
  await runtime?.stop();
  runtime = undefined;
});

afterAll(async () => {
  await browser?.close();
  if (assets) await rm(assets, { recursive: true, force: true });
});

/** The fixture with its console, and a page that may reach nothing but the console's own origin. */
async function open(hash = '#/') {
  const f = consoleFixture({ console: { assets } });
  runtime = f.runtime;
  const { url } = await f.runtime.console!.ready;
  const origin = new URL(url).origin;
  context = await browser.newContext({ viewport: { width: 1500, height: 1000 } });
  const refused: string[] = [];
  await context.route('**/*', (route) => {
    const target = route.request().url();
    if (target.startsWith(`${origin}/`)) return route.continue();
    refused.push(target);
    return route.abort();
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  await page.goto(url + hash);
  await page.waitForSelector('[data-live="on"]');
  return { ...f, page, url, origin, refused, errors };
}

const active = (page: Page, state: string) =>
  page.waitForSelector(`g[data-state="${state}"][data-active="true"]`);
const activeStates = (page: Page) =>
  page.$$eval('g.state[data-active="true"]', (nodes) => nodes.map((n) => n.getAttribute('data-state')));

async function toReview(f: Awaited<ReturnType<typeof open>>, runId: string) {
  const run = f.start(runId);
  for (const step of ['researcher', 'fact-checker', 'style-checker']) await f.release(runId, step);
  await f.release(runId, 'writer', draft(`${runId}: solid-state cells are close, cost is not.`, 0.55));
  expect((await run.result).status).toBe('awaitingReview');
  return run;
}

describe('the console in headless Chromium', () => {
  it('fills the runs list as runs start, and follows them to the end', async () => {
    const f = await open();
    expect(await f.page.$$('#runs tbody tr')).toHaveLength(0);
    f.start('run-1');
    await f.page.waitForSelector('tr[data-run="run-1"][data-status="running"]');
    f.start('run-2');
    f.start('run-3');
    await f.page.waitForSelector('tr[data-run="run-3"]');
    expect(
      await f.page.$$eval('#runs tbody tr', (rows) => rows.map((r) => r.getAttribute('data-run'))),
    ).toEqual(['run-3', 'run-2', 'run-1']);
    expect(await f.page.textContent('tr[data-run="run-1"] td.step')).toBe('researcher · calling');
    await f.release('run-2', 'researcher');
    await f.page.waitForSelector('tr[data-run="run-2"] td.step:has-text("fact-checker calling")');
    f.runtime
      .runs()
      .find((r) => r.id === 'run-1')!
      .cancel('enough');
    await f.page.waitForSelector('tr[data-run="run-1"][data-status="cancelled"]');
    // The breakers the runs crossed: the researcher's, closed, no failure.
    await f.page.click('a.tab:has-text("Breakers")');
    const row = await f.page.waitForSelector('#breakers tr[data-breaker]');
    expect(await row.getAttribute('data-breaker')).toMatch(/researcher/);
    expect(await row.$$eval('td', (cells) => cells.slice(1, 3).map((c) => c.textContent))).toEqual([
      'closed',
      '0',
    ]);
    expect(f.refused).toEqual([]);
    expect(f.errors).toEqual([]);
  });

  it('shows a page opened late every run in flight, where it is', async () => {
    const f = consoleFixture({ console: { assets } });
    runtime = f.runtime;
    for (let i = 1; i <= 60; i++) f.start(`run-${String(i).padStart(2, '0')}`);
    await f.release('run-07', 'researcher');
    const { url } = await f.runtime.console!.ready;
    context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForSelector('tr[data-run="run-60"]');
    expect(await page.$$('#runs tbody tr')).toHaveLength(50); // a page at a time
    expect(await page.getAttribute('.count', 'data-total')).toBe('60');
    await page.click('text=older ›');
    await page.waitForSelector('tr[data-run="run-07"]');
    expect(await page.textContent('tr[data-run="run-07"] td.step')).toContain('fact-checker calling');
  });

  it('highlights the running step’s node in the statechart and moves it as the run goes', async () => {
    const f = await open('#/runs/run-1');
    await f.page.waitForSelector('[data-testid="not-found"]'); // not started yet: the view waits for it
    f.start('run-1');
    await active(f.page, 'workflow.running.researcher.calling~agent.running.attempting');
    expect(await activeStates(f.page)).not.toContain('workflow.running.writer');

    await f.clock.advance(1_800);
    await f.release('run-1', 'researcher');
    await active(f.page, 'workflow.running.checks.branches.fact-checker.calling');
    await active(f.page, 'workflow.running.checks.branches.style-checker.calling');
    expect(await activeStates(f.page)).not.toContain('workflow.running.researcher');

    await f.clock.advance(900);
    await f.release('run-1', 'fact-checker');
    await f.page.waitForSelector(
      'g[data-state="workflow.running.checks.branches.fact-checker.calling"]:not([data-active])',
    );
    await f.clock.advance(500);
    await f.release('run-1', 'style-checker');
    await f.clock.advance(2_100);
    await f.release('run-1', 'writer', draft('Solid-state batteries: close, but cost is open.', 0.55));
    await active(f.page, 'workflow.running.writer.reviewing');
    await f.page.waitForSelector('.run[data-status="awaitingReview"]');
    // The trace and the state log follow too.
    await f.page.waitForSelector('.span-row:has-text("writer")');
    await f.page.waitForSelector('.entry pre.json'); // the scrubber's entry has loaded
    await f.page.waitForSelector('a.tab:has-text("Reviews (1)")');
    expect(await f.page.$$('g.state.guard-breaker')).not.toHaveLength(0);
    await mkdir(join(root, 'docs'), { recursive: true });
    await f.page.screenshot({ path: join(root, 'docs/console-run.png'), fullPage: true });

    // The log scrubber: the first entry, then the researcher's write with its diff.
    await f.page.fill('input[aria-label="state log entry"]', '0');
    await f.page.waitForSelector('.entry-head code:has-text("#")');
    expect(f.refused).toEqual([]);
    expect(f.errors.filter((e) => !e.includes('status of 404'))).toEqual([]);
  });

  it('approving a pending review in the page completes the run; an invalid edit shows the schema error and leaves the review open', async () => {
    const f = await open('#/reviews');
    await f.page.waitForSelector('[data-testid="no-reviews"]');
    const run = await toReview(f, 'run-1');
    const card = await f.page.waitForSelector('article.review');
    expect(await card.textContent()).toContain('confidence 55%');

    // An edit that breaks the agent's schema: refused, with the issue, and the review stays open.
    await f.page.fill('textarea.editor', JSON.stringify({ content: 'better', confidence: 7 }, null, 2));
    await f.page.fill('input[aria-label="your name"]', 'Ana Reviewer');
    await f.page.click('button.edit');
    const error = await f.page.waitForSelector('.review-error');
    expect(await error.textContent()).toMatch(/confidence/);
    expect(f.runtime.reviews.list()).toHaveLength(1);
    await f.page.screenshot({ path: join(root, 'docs/console-reviews.png'), fullPage: true });

    await f.page.click('button.approve');
    await f.page.waitForSelector('.decided:has-text("approved by Ana Reviewer")');
    const done = await run.done;
    expect(done.status).toBe('completed');
    expect(f.runtime.reviews.list()).toHaveLength(0);
    await f.page.click('text=Runs');
    await f.page.waitForSelector('tr[data-run="run-1"][data-status="completed"]');
    expect(f.refused).toEqual([]);
    // The browser logs the refused edit's 422 answer itself; nothing else went wrong.
    expect(f.errors.filter((e) => !e.includes('status of 422'))).toEqual([]);
  });

  it('shows a clear not-found view for an unknown run id', async () => {
    const f = await open('#/runs/no-such-run');
    const view = await f.page.waitForSelector('[data-testid="not-found"]');
    expect(await view.textContent()).toContain('No run "no-such-run" in this runtime');
    expect(f.refused).toEqual([]);
  });

  it('answers a page without the token with 401 and nothing else', async () => {
    const f = await open();
    f.start('run-secret');
    const page = await context!.newPage();
    const response = await page.goto(`${f.origin}/`);
    expect(response?.status()).toBe(401);
    expect(await page.content()).not.toContain('run-secret');
    expect(await page.$('#app')).toBeNull();
  });
});
