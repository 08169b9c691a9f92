import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../src/cli/index.js';
import { consoleCommand } from '../src/console/cli.node.js';
import { startConsoleServer } from '../src/console/server.node.js';
import { storedSource } from '../src/console/stored.js';
import { fileStore } from '../src/store/file.node.js';
import { consoleFixture } from './console-fixture.js';

/** `agentcharts console --store <dir>`: a file store's runs, finished and unfinished, read-only. */

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A store with run-1 completed and run-2 left unfinished in its researcher step. */
async function storeWithRuns() {
  const dir = await mkdtemp(join(tmpdir(), 'agentcharts-console-store-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const f = consoleFixture({ store: fileStore({ dir, fsync: false }) });
  const done = f.start('run-1');
  f.start('run-2');
  await f.called('run-2', 'researcher');
  for (const step of ['researcher', 'fact-checker', 'style-checker', 'writer'])
    await f.release('run-1', step);
  expect((await done.done).status).toBe('completed');
  await f.runtime.stop(); // run-2 stays unfinished in the store
  return { dir, workflow: f.workflow };
}

const json = async (url: string, init?: RequestInit) => {
  const res = await fetch(url, init);
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers, asserted field by field
  return { status: res.status, body: (await res.json()) as any };
};

describe('agentcharts console --store', () => {
  it('serves the stored runs, finished and unfinished, with their logs, and refuses actions', async () => {
    const { dir } = await storeWithRuns();
    const lines: string[] = [];
    const controller = new AbortController();
    let printed!: (url: string) => void;
    const urlPrinted = new Promise<string>((resolve) => {
      printed = resolve;
    });
    const log = (text: string) => {
      lines.push(text);
      const at = text.indexOf('open http');
      if (at >= 0) printed(text.slice(at + 5));
    };
    // The command serves until its signal aborts (Ctrl-C from the CLI).
    const command = consoleCommand(['--store', dir], { log, err: log }, controller.signal);
    cleanup.push(async () => {
      controller.abort();
      expect(await command).toBe(0);
    });
    const url = await urlPrinted;
    expect(lines[0]).toMatch(/^agentcharts console: 2 runs from .* \(no --module: no statecharts\)/);
    const page = (await json(`${url}api/runs`)).body;
    expect(page.runs.map((r: { id: string; status: string }) => [r.id, r.status])).toEqual([
      ['run-2', 'running'],
      ['run-1', 'completed'],
    ]);
    const run2 = (await json(`${url}api/runs/run-2`)).body;
    expect(run2.readOnly).toBe(true);
    expect(run2.graph.nodes).toEqual([]); // no --module: no statechart
    // As the store last recorded it: the snapshot flushed before the agent was called (the call
    // waits for it), at rest in the call its breaker admitted.
    expect(run2.summary).toMatchObject({ status: 'running', step: 'researcher · calling' });
    const entry = (
      await json(`${url}api/runs/run-1/log/${(await json(`${url}api/runs/run-1`)).body.log.at(-1).seq}`)
    ).body;
    expect(Object.keys(entry.state)).toEqual(['researcher', 'fact-checker', 'style-checker', 'writer']);
    const cancel = await json(`${url}api/runs/run-2/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(cancel).toMatchObject({ status: 409, body: { error: 'readOnly' } });
    expect((await fetch(new URL(url).origin)).status).toBe(401);
  });

  it('draws a stored run’s statechart with its stored active states when given its workflow', async () => {
    const { dir, workflow } = await storeWithRuns();
    const store = fileStore({ dir, fsync: false });
    const { source, errors } = await storedSource(store, { workflows: [workflow] });
    expect(errors).toEqual([]);
    const server = await startConsoleServer(source);
    cleanup.push(() => store.close());
    cleanup.push(() => server.close());
    const run2 = (await json(`${server.address.url}api/runs/run-2`)).body;
    expect(run2.graph.nodes.length).toBeGreaterThan(20);
    // The store's last snapshot of run-2: in its researcher step, before the call was recorded.
    expect(run2.active).toContain('workflow.running.researcher');
    expect(run2.active.some((id: string) => id.startsWith('workflow.running.writer'))).toBe(false);
    const run1 = (await json(`${server.address.url}api/runs/run-1`)).body;
    expect(run1.summary.status).toBe('completed');
    expect(run1.active).toContain('workflow.completed');
  });

  it('says what is wrong with its arguments', async () => {
    const errors: string[] = [];
    const out = { log: () => {}, err: (t: string) => errors.push(t) };
    expect(await main(['console'], out)).toBe(2);
    expect(await main(['console', '--store', '/no/such/dir'], out)).toBe(2);
    expect(errors.join('\n')).toMatch(/--store <dir>/);
    expect(errors.join('\n')).toMatch(/no such folder/);
  });
});
