import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInspector, type StatelyInspectionEvent } from '@statelyai/inspect';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { createActor, type InspectionEvent, setup } from 'xstate';
import { agentActor, defineAgent } from '../src/agent.js';
import { isOptionsError } from '../src/errors.js';
import { startBrowserInspector } from '../src/inspect/browser.js';
import { combineInspectors } from '../src/inspect/combine.js';
import { type InspectorRelay, startInspectorRelay } from '../src/inspect/relay.node.js';
import { STATELY_INSPECT_VERSION, safeJson, toStatelyEvent } from '../src/inspect/stately-events.js';
import { connectInspector, type InspectorConnection } from '../src/inspect/ws-client.node.js';
import { startWebSocketInspector, type WebSocketInspector } from '../src/inspect/ws-inspector.node.js';
import { runAgent } from '../src/run-agent.js';
import { mockRun } from '../src/testing/mock-agent.js';
import { Draft, draft } from './helpers/agents.js';
import { testClock } from './helpers/clock.js';

// Sockets here are real (loopback); agent time is simulated. Waits are for messages, never sleeps.

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

type Message = StatelyInspectionEvent & { snapshot?: { context?: Record<string, unknown>; status?: string } };

/** A client of the relay, like the inspector UI: collects every message. */
async function uiClient(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, { headers });
  const messages: Message[] = [];
  const waiters: Array<{ test: (m: Message[]) => boolean; resolve: () => void }> = [];
  ws.on('message', (data) => {
    messages.push(JSON.parse(String(data)));
    for (const w of [...waiters]) {
      if (w.test(messages)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  cleanup.push(() => ws.terminate());
  return {
    ws,
    messages,
    closed,
    /** Resolves once the messages received so far satisfy `test`. */
    until(test: (m: Message[]) => boolean): Promise<void> {
      if (test(messages)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ test, resolve }));
    },
  };
}

function started(options: Parameters<typeof startWebSocketInspector>[0] = {}): WebSocketInspector {
  const inspector = startWebSocketInspector(options);
  cleanup.push(() => inspector.stop());
  return inspector;
}

async function relay(options: Parameters<typeof startInspectorRelay>[0] = {}): Promise<InspectorRelay> {
  const r = await startInspectorRelay(options);
  cleanup.push(() => r.close());
  return r;
}

const writer = (clock: ReturnType<typeof testClock>) =>
  defineAgent({
    id: 'writer',
    output: Draft,
    run: mockRun([{ output: draft('ok', 0.8), delayMs: 30 }], { clock }),
    limits: { maxIterations: 2, attemptTimeoutMs: 1000 },
  });

function workflowMachine(agent: ReturnType<typeof writer>) {
  return setup({ actors: { writer: agentActor(agent) } }).createMachine({
    id: 'workflow',
    initial: 'drafting',
    states: {
      drafting: {
        invoke: {
          src: 'writer',
          input: { input: { topic: 't' }, runId: 'run-1', stepId: 'draft' },
          onDone: 'done',
        },
      },
      done: { type: 'final' },
    },
  });
}

const agentDone = (m: Message[]) =>
  m.some(
    (x) => x.type === '@xstate.snapshot' && x.snapshot?.status === 'done' && x.snapshot.context?.agentId,
  );

describe('the WebSocket inspector (inspect: "ws")', () => {
  it('a real ws client on 127.0.0.1 receives the workflow’s and the agent’s actors, events and snapshots', async () => {
    const inspector = started();
    const ready = await inspector.ready;
    if (!ready.listening) throw ready.error;
    // The viewers' URLs carry a random token; the runtime publishes on another one.
    expect(ready.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{32}$/);
    expect(ready.pageUrl).toBe(ready.url.replace('ws:', 'http:'));
    const ui = await uiClient(ready.url);

    const clock = testClock();
    const actor = createActor(workflowMachine(writer(clock)), { clock, inspect: inspector.inspect });
    actor.start();
    await clock.advance(30);
    expect(actor.getSnapshot().value).toBe('done');
    await ui.until(
      (m) =>
        agentDone(m) &&
        m.some(
          (x) =>
            x.type === '@xstate.snapshot' && x.snapshot?.status === 'done' && !x.snapshot.context?.agentId,
        ),
    );

    const actors = ui.messages.filter((m) => m.type === '@xstate.actor') as Array<
      Extract<Message, { type: '@xstate.actor' }>
    >;
    const workflow = actors.find((a) => a.name === 'workflow')!;
    // An invoked actor is named by its invoke id; its definition says which machine it is.
    const agent = actors.find((a) => JSON.parse(a.definition!).id === 'agent')!;
    expect(workflow).toBeDefined();
    expect(agent).toMatchObject({
      name: '0.workflow.drafting',
      parentId: workflow.sessionId,
      rootId: workflow.sessionId,
      _version: STATELY_INSPECT_VERSION,
    });
    expect(JSON.parse(agent.definition!)).toMatchObject({ id: 'agent', initial: 'running' });
    const events = ui.messages
      .filter((m) => m.type === '@xstate.event')
      .map((m) => `${m.sessionId}:${(m as { event: { type: string } }).event.type}`);
    expect(events).toContain(`${workflow.sessionId}:xstate.init`);
    expect(events).toContain(`${agent.sessionId}:xstate.init`);
    expect(events).toContain(`${workflow.sessionId}:xstate.done.actor.0.workflow.drafting`);
    const agentSnapshots = ui.messages.filter(
      (m) => m.type === '@xstate.snapshot' && m.sessionId === agent.sessionId,
    );
    expect(agentSnapshots.at(0)?.snapshot).toMatchObject({
      value: { running: 'attempting' },
      context: { agentId: 'writer', stepId: 'draft', runId: 'run-1', attempt: 1 },
    });
    expect(agentSnapshots.at(-1)?.snapshot).toMatchObject({
      status: 'done',
      value: 'succeeded',
      output: { status: 'succeeded', confidence: 0.8, quality: 'MEDIUM' },
    });
    // Internal steps the inspector UI does not show are not sent.
    expect(ui.messages.some((m) => (m.type as string) === '@xstate.microstep')).toBe(false);
  });

  it('replays recent messages to a client that connects after the run', async () => {
    const inspector = started();
    const ready = await inspector.ready;
    if (!ready.listening) throw ready.error;
    const clock = testClock();
    const early = await uiClient(ready.url);
    await runAgentAndWait(clock, inspector);
    await early.until(agentDone);
    const late = await uiClient(ready.url);
    await late.until(agentDone);
    expect(late.messages.map((m) => m.type)).toEqual(early.messages.map((m) => m.type));
  });

  it('stop() closes the inspector, every client and the port; later events are ignored', async () => {
    const inspector = startWebSocketInspector();
    const ready = await inspector.ready;
    if (!ready.listening) throw ready.error;
    const ui = await uiClient(ready.url);
    await inspector.stop();
    await ui.closed;
    expect(() => inspector.inspect({ type: '@xstate.event' } as InspectionEvent)).not.toThrow();
    await expect(uiClient(ready.url)).rejects.toThrow(/ECONNREFUSED/);
    await inspector.stop(); // idempotent
  });

  it('a snapshot that cannot be serialised (a throwing getter in the input) is reported; the run is unharmed', async () => {
    const errors: Array<[unknown, string]> = [];
    const inspector = started({ onError: (error, source) => errors.push([error, source]) });
    const ready = await inspector.ready;
    if (!ready.listening) throw ready.error;
    const hostile = {
      get secret(): string {
        throw new Error('getter says no');
      },
    };
    const clock = testClock();
    const agent = defineAgent({ id: 'w', output: Draft, run: mockRun([{ output: draft('ok') }]) });
    const result = await runAgent(agent, hostile, { clock, inspect: inspector.inspect });
    expect(result.status).toBe('succeeded');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]![1]).toBe('the Stately inspector');
    expect((errors[0]![0] as Error).message).toBe('getter says no');
  });

  it('a port in use is reported through ready and onError, never thrown into the caller', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => busy.close(resolve)));
    const port = (busy.address() as { port: number }).port;
    const errors: string[] = [];
    const inspector = started({ port, onError: (_e, source) => errors.push(source) });
    const ready = await inspector.ready;
    expect(ready.listening).toBe(false);
    expect(String((ready as { error: Error }).error)).toMatch(/EADDRINUSE/);
    const clock = testClock();
    expect((await runAgentAndWait(clock, inspector)).status).toBe('succeeded');
    expect(errors).toContain('the inspector relay');
  });

  it.each([
    [{ port: 70_000 }, 'port', /port must be an integer from 0 to 65535, received 70000/],
    [{ port: -1 }, 'port', /received -1/],
    [{ host: '' }, 'host', /host must be a non-empty host name/],
    [{ allowOrigins: ['*'] }, 'allowOrigins.0', /must be an origin/],
    [{ inspector: true }, 'inspector', /is not a known option/],
    [{ viewToken: 'short' }, 'viewToken', /viewToken must be 16 to 256 letters, digits, _ or -/],
    [
      { viewToken: 'a'.repeat(20), publishToken: 'a'.repeat(20) },
      'publishToken',
      /must differ from viewToken/,
    ],
    [{ replayBytes: 64 * 1024 * 1024 }, 'replayBytes', /must be at most maxBufferedBytes \(33554432\)/],
    [{ maxBufferedBytes: 10 }, 'maxBufferedBytes', /must be an integer from 65536/],
  ])('rejects bad options %j naming the field', (options, field, message) => {
    let error: unknown;
    try {
      startWebSocketInspector(options as never);
    } catch (e) {
      error = e;
    }
    expect(isOptionsError(error)).toBe(true);
    expect((error as { field: string }).field).toBe(field);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/^startWebSocketInspector: /);
  });
});

async function runAgentAndWait(
  clock: ReturnType<typeof testClock>,
  inspector: { inspect: (e: InspectionEvent) => void },
) {
  const done = runAgent(writer(clock), null, { clock, inspect: inspector.inspect });
  await clock.advance(30);
  return done;
}

describe('the relay', () => {
  it('binds 127.0.0.1 and broadcasts what the publisher sends to every viewer', async () => {
    const r = await relay();
    expect(r.host).toBe('127.0.0.1');
    const publisher = await uiClient(r.publishUrl);
    const a = await uiClient(r.url);
    const b = await uiClient(r.url);
    publisher.ws.send(JSON.stringify({ type: 'hello', n: 1 }));
    await a.until((m) => m.length === 1);
    await b.until((m) => m.length === 1);
    expect(a.messages).toEqual([{ type: 'hello', n: 1 }]);
    expect(b.messages).toEqual([{ type: 'hello', n: 1 }]);
    expect(publisher.messages).toEqual([]);
    expect(r.clients()).toBe(3);
    expect(r.stats()).toMatchObject({ viewers: 2, publishers: 1, replayMessages: 1 });
  });

  it('refuses a connection without a valid token; what a viewer sends is neither relayed nor kept', async () => {
    const errors: unknown[] = [];
    const r = await relay({ onError: (error) => errors.push(error) });
    const base = r.url.replace(/\?.*$/, '');
    await expect(uiClient(base)).rejects.toThrow(/401/);
    await expect(uiClient(`${base}?token=guess`)).rejects.toThrow(/401/);
    await expect(uiClient(`${base}?token=${'x'.repeat(32)}`)).rejects.toThrow(/401/);
    const publisher = await uiClient(r.publishUrl);
    const viewer = await uiClient(r.url);
    const other = await uiClient(r.url);
    viewer.ws.send(JSON.stringify({ type: '@xstate.snapshot', forged: true }));
    // Messages are handled in order: once the publisher's next one arrives, the forged one was seen.
    publisher.ws.send(JSON.stringify({ type: 'real' }));
    await other.until((m) => m.length === 1);
    await viewer.until((m) => m.length === 1);
    expect(other.messages).toEqual([{ type: 'real' }]);
    expect(viewer.messages).toEqual([{ type: 'real' }]);
    const late = await uiClient(r.url);
    await late.until((m) => m.length === 1);
    expect(late.messages).toEqual([{ type: 'real' }]);
    expect(r.stats().replayMessages).toBe(1);
    // A viewer that sends a big frame is cut off before the relay buffers it.
    viewer.ws.send('x'.repeat(1024 * 1024));
    await viewer.closed;
    expect(viewer.ws.readyState).toBe(WebSocket.CLOSED);
    expect(String(errors[0])).toMatch(/Max payload size exceeded/);
    expect(r.stats().replayMessages).toBe(1);
  });

  it('lets browsers in only from its own page (or allowOrigins); Node clients have no Origin', async () => {
    const r = await relay({ allowOrigins: ['http://localhost:5173'] });
    await expect(uiClient(r.url, { origin: 'https://evil.example' })).rejects.toThrow(/401/);
    await expect(uiClient(r.url, { origin: new URL(r.pageUrl).origin })).resolves.toBeDefined();
    await expect(uiClient(r.url, { origin: 'http://localhost:5173' })).resolves.toBeDefined();
  });

  it('serves the bridge page that embeds the Stately inspector', async () => {
    const r = await relay({ inspectorUrl: 'https://stately.ai/inspect?x=<y>' });
    const page = await fetch(r.pageUrl);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    expect(html).toContain('https://stately.ai/inspect?x=\\u003cy>'); // no markup injection
    // It connects with the viewer token of the URL it was opened with.
    expect(html).toContain("new WebSocket('ws://' + location.host + '/' + location.search)");
    expect(new URL(r.pageUrl).search).toBe(new URL(r.url).search);
    expect((await fetch(new URL('/other', r.pageUrl))).status).toBe(404);
  });

  it('the inspector connection reconnects to a relay that comes back on the same port', async () => {
    // A relay that comes back keeps its tokens (given as options), or the publisher could not return.
    const tokens = { viewToken: 'v'.repeat(32), publishToken: 'p'.repeat(32) };
    const first = await startInspectorRelay(tokens);
    const connection: InspectorConnection = connectInspector({
      url: first.publishUrl,
      reconnectDelayMs: 10,
      onError: () => {},
    });
    cleanup.push(() => connection.stop());
    expect(await connection.ready).toBe(true);
    await first.close();
    const second = await relay({ port: first.port, ...tokens });
    const ui = await uiClient(second.url);
    await vi.waitUntil(() => connection.connected(), { timeout: 5000, interval: 5 });
    connection.inspect(fakeEvent());
    await ui.until((m) => m.length === 1);
    expect(ui.messages[0]).toMatchObject({ type: '@xstate.event', event: { type: 'ping' } });
  });
});

function fakeEvent(): InspectionEvent {
  const ref = { sessionId: 'x:1', id: 'x' };
  return {
    type: '@xstate.event',
    rootId: 'x:1',
    actorRef: ref,
    sourceRef: undefined,
    event: { type: 'ping' },
  } as never;
}

describe('Stately message format', () => {
  it('matches @statelyai/inspect’s own conversion, field for field', async () => {
    const theirs: StatelyInspectionEvent[] = [];
    const reference = createInspector({ send: (e) => theirs.push(JSON.parse(safeJson(e))) });
    const ours: StatelyInspectionEvent[] = [];
    const clock = testClock();
    const inspect = (event: InspectionEvent) => {
      const converted = toStatelyEvent(event);
      if (converted) ours.push(JSON.parse(safeJson(converted)));
      reference.inspect.next?.(event);
    };
    const actor = createActor(workflowMachine(writer(clock)), { clock, inspect });
    actor.start();
    await clock.advance(30);
    // The package converts in zero-delay timers of its own: wait for it to have caught up.
    await vi.waitFor(() => expect(theirs.length).toBe(ours.length));
    const comparable = (e: StatelyInspectionEvent) => {
      const { createdAt, id, ...rest } = e as StatelyInspectionEvent & Record<string, unknown>;
      // The package reads an actor's snapshot later, when it converts; ours is taken at creation.
      if (rest.type === '@xstate.actor') delete (rest as { snapshot?: unknown }).snapshot;
      return rest;
    };
    expect(ours.map(comparable)).toEqual(theirs.map(comparable));
    expect(theirs[0]!._version).toBe(STATELY_INSPECT_VERSION);
  });

  it('safeJson survives cycles, BigInt, functions and depth; honours toJSON', () => {
    const a: Record<string, unknown> = { n: 1n, f: function named() {}, shared: { x: 1 } };
    a.self = a;
    a.again = a.shared; // a repeated reference is not a cycle
    a.deep = { l1: { l2: { l3: { l4: 'too deep' } } } };
    a.ref = { toJSON: () => ({ xstate$$type: 1, id: 'child' }) };
    expect(JSON.parse(safeJson(a, 4))).toEqual({
      n: '1',
      f: { type: 'named' },
      shared: { x: 1 },
      self: '[Circular]',
      again: { x: 1 },
      deep: { l1: { l2: { l3: '[Truncated]' } } },
      ref: { xstate$$type: 1, id: 'child' },
    });
  });
});

describe('combineInspectors', () => {
  it('calls every observer; a throwing one is reported by name and the actor runs on', async () => {
    const errors: string[] = [];
    const seen: string[] = [];
    const inspect = combineInspectors(
      {
        broken: () => {
          throw new Error('observer bug');
        },
        counter: { next: (e) => seen.push(e.type) },
        absent: undefined,
      },
      { onError: (_e, source) => errors.push(source) },
    );
    const clock = testClock();
    expect((await runAgentAndWait(clock, { inspect })).status).toBe('succeeded');
    expect(seen).toContain('@xstate.snapshot');
    expect(new Set(errors)).toEqual(new Set(['inspection observer "broken"']));
  });
});

describe('the browser inspector (inspect: "browser")', () => {
  it('in Node there is no window: it reports that once and inspects nothing', () => {
    const errors: string[] = [];
    const browser = startBrowserInspector({ onError: (e) => errors.push((e as Error).message) });
    expect(browser.active).toBe(false);
    expect(() => browser.inspect(fakeEvent())).not.toThrow();
    expect(errors).toEqual([
      "inspect: 'browser' needs a browser window; nothing is inspected (in Node use inspect: 'ws')",
    ]);
  });

  it('in a page it opens the inspector window and posts plain messages once the inspector says it is connected', async () => {
    const posted: unknown[] = [];
    const listeners: Array<(e: { data: unknown }) => void> = [];
    const opened: string[] = [];
    vi.stubGlobal('window', {
      open: (url: string) => {
        opened.push(url);
        return { postMessage: (m: unknown) => posted.push(m) };
      },
      addEventListener: (type: string, fn: (e: { data: unknown }) => void) => {
        if (type === 'message') listeners.push(fn);
      },
    });
    const browser = startBrowserInspector({ url: 'https://example.test/inspect' });
    expect(browser.active).toBe(true);
    expect(opened).toEqual(['https://example.test/inspect']);
    const clock = testClock();
    await runAgentAndWait(clock, browser);
    expect(posted).toEqual([]); // not connected yet: kept
    for (const fn of listeners) fn({ data: { type: '@statelyai.connected' } });
    const types = posted.map((m) => (m as { type: string }).type);
    expect(types).toContain('@xstate.actor');
    expect(types).toContain('@xstate.event');
    expect(types).toContain('@xstate.snapshot');
    expect(posted).toContainEqual(
      expect.objectContaining({
        type: '@xstate.snapshot',
        snapshot: expect.objectContaining({
          status: 'done',
          context: expect.objectContaining({ agentId: 'writer' }),
        }),
      }),
    );
    browser.stop();
  });
});

describe('a process with inspection on', () => {
  const built = 'dist/.test-inspect-exit';
  beforeAll(async () => {
    // Compile just what the child needs (tsc 7: about a second); vitest cannot hand TS to a child.
    await new Promise<void>((resolve, reject) =>
      execFile(
        'node_modules/.bin/tsc',
        ['-p', 'test/fixtures/inspect-exit/tsconfig.json'],
        (error, stdout) => (error ? reject(new Error(`${error.message}\n${stdout}`)) : resolve()),
      ),
    );
  }, 60_000);

  it('exits by itself after runtime.stop() (the relay and the clients it had are closed too)', async () => {
    // Real time here on purpose: this checks a process lifetime, not our timing logic.
    const child = spawn(process.execPath, ['test/fixtures/inspect-exit/child.mjs', built], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    cleanup.push(() => child.exitCode === null && child.kill('SIGKILL'));
    const lines: string[] = [];
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let onReady: (url: string) => void = () => {};
    let onStopped: () => void = () => {};
    const readyUrl = new Promise<string>((resolve) => {
      onReady = resolve;
    });
    const stopped = new Promise<void>((resolve) => {
      onStopped = resolve;
    });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n').filter(Boolean)) {
        lines.push(line);
        if (line.startsWith('READY ')) onReady(line.slice(6));
        if (line === 'STOPPED') onStopped();
      }
    });
    const ui = await uiClient(await readyUrl);
    child.stdin.write('go\n');
    await stopped;
    // Generous: it takes a few ms. A handle left open would keep the child alive forever.
    // A handle left open would keep the child alive: the test's own timeout then fails it.
    expect(await exited).toBe(0);
    expect(lines).toEqual([
      expect.stringMatching(/^READY ws:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+$/),
      'RESULT succeeded',
      'STOPPED',
    ]);
    await ui.closed;
    expect(agentDone(ui.messages)).toBe(true);
  }, 20_000);
});
