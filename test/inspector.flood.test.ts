import { execFile, spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type InspectorRelay, startInspectorRelay } from '../src/inspect/relay.node.js';
import { connectInspector } from '../src/inspect/ws-client.node.js';

/**
 * The relay's memory stays bounded whatever is sent to it: frames are capped, the replay buffer is
 * capped in bytes, viewers that do not read are dropped. Sockets are real (loopback); every wait is
 * for an event (a message, a pong, an error report), never a sleep.
 */

const MiB = 1024 * 1024;
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function relay(options: Parameters<typeof startInspectorRelay>[0]): Promise<InspectorRelay> {
  const r = await startInspectorRelay(options);
  cleanup.push(() => r.close());
  return r;
}

async function client(url: string): Promise<WebSocket> {
  // A zero mask: ws then skips masking each frame, which only costs the test time.
  const ws = new WebSocket(url, { generateMask: () => {} });
  cleanup.push(() => ws.terminate());
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return ws;
}

/** A viewer that completes the WebSocket handshake, then never reads again. */
function stalledViewer(r: InspectorRelay): Promise<Socket> {
  const { pathname, search } = new URL(r.url);
  const socket = connect(r.port, '127.0.0.1');
  cleanup.push(() => socket.destroy());
  socket.on('error', () => {});
  socket.write(
    `GET ${pathname}${search} HTTP/1.1\r\nHost: 127.0.0.1:${r.port}\r\nUpgrade: websocket\r\n` +
      'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  return new Promise((resolve) =>
    socket.once('data', (head) => {
      expect(String(head)).toMatch(/^HTTP\/1\.1 101 /);
      socket.pause();
      resolve(socket);
    }),
  );
}

const send = (ws: WebSocket, data: Buffer | string) =>
  new Promise<void>((resolve, reject) =>
    ws.send(data, { binary: false }, (error) => (error ? reject(error) : resolve())),
  );
/** The relay handles a connection's frames in order: its pong means it handled every frame before. */
const handled = (ws: WebSocket) =>
  new Promise<void>((resolve) => {
    ws.once('pong', () => resolve());
    ws.ping();
  });

describe('the relay under a flood', () => {
  it('closes a publisher whose frame is over maxPayload (4 MiB by default); nothing of it is kept', async () => {
    const errors: unknown[] = [];
    const r = await relay({ onError: (error) => errors.push(error) });
    const publisher = await client(r.publishUrl);
    const closed = new Promise<number>((resolve) => publisher.once('close', (code) => resolve(code)));
    publisher.send(Buffer.alloc(16 * MiB, 'a'), { binary: false });
    expect(await closed).toBe(1009); // "message too big"
    expect(String(errors[0])).toMatch(/Max payload size exceeded/);
    expect(r.stats()).toMatchObject({ replayMessages: 0, replayBytes: 0 });
  });

  it('keeps at most replayBytes for later viewers, and drops a viewer that falls maxBufferedBytes behind', async () => {
    const errors: unknown[] = [];
    const r = await relay({
      maxPayload: 2 * MiB,
      replayBytes: 3 * MiB,
      maxBufferedBytes: 4 * MiB,
      onError: (error) => errors.push(error),
    });
    await stalledViewer(r);
    const reader = await client(r.url);
    let read = 0;
    reader.on('message', () => read++);
    const publisher = await client(r.publishUrl);
    const frame = Buffer.alloc(1 * MiB, 'a');
    for (let i = 0; i < 40; i++) await send(publisher, frame);
    await handled(publisher);
    // 40 MiB went through; the replay holds the newest 3 MiB; the viewer that never read is gone.
    expect(r.stats()).toMatchObject({
      replayMessages: 3,
      replayBytes: 3 * MiB,
      droppedViewers: 1,
      viewers: 1,
    });
    expect(String(errors[0])).toMatch(
      /^Error: inspector relay: a viewer fell \d+ bytes behind \(maxBufferedBytes 4194304\) and was disconnected$/,
    );
    // The viewer that reads gets every message.
    await send(publisher, 'last');
    await new Promise<void>((resolve) =>
      reader.on('message', (data) => String(data) === 'last' && resolve()),
    );
    expect(read).toBe(41);
  });

  it('a host limited to 768 MB survives 60 frames of 16 MiB with two viewers that never read', async () => {
    // Real time here: a child process with a small heap, to show the flood cannot exhaust it. Before
    // the bounds, the relay kept the last 500 messages (960 MB of strings) and the child ran out of heap.
    const child = spawn(
      process.execPath,
      ['--max-old-space-size=768', 'test/fixtures/relay-flood/child.mjs', built, '60', '16'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cleanup.push(() => child.exitCode === null && child.kill('SIGKILL'));
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect({ code, err: err.slice(-400) }).toEqual({ code: 0, err: '' });
    const report = JSON.parse(out) as {
      stats: { replayBytes: number; replayMessages: number; droppedViewers: number; viewers: number };
      rss: number;
    };
    // 960 MiB went through; the relay kept one frame (16 MiB replay budget) and dropped both stalled viewers.
    expect(report.stats).toMatchObject({
      replayMessages: 1,
      replayBytes: 16 * MiB,
      droppedViewers: 2,
      viewers: 0,
    });
    expect(report.rss).toBeLessThan(512 * MiB);
  }, 60_000);
});

const built = 'dist/.test-relay-flood';
beforeAll(async () => {
  // vitest cannot hand TypeScript to a child: compile the relay for it (tsc 7, about a second).
  await new Promise<void>((resolve, reject) =>
    execFile('node_modules/.bin/tsc', ['-p', 'test/fixtures/relay-flood/tsconfig.json'], (error, stdout) =>
      error ? reject(new Error(`${error.message}\n${stdout}`)) : resolve(),
    ),
  );
}, 60_000);

describe('the inspector connection (the runtime side)', () => {
  it('keeps at most 16 MiB of messages while not connected (the newest), not 1000 messages of any size', async () => {
    const r = await relay({});
    const viewer = await client(r.url);
    const received: string[] = [];
    viewer.on('message', (data) => received.push(String(data)));
    let connect: (url: string) => void = () => {};
    const connection = connectInspector({ url: new Promise<string>((resolve) => (connect = resolve)) });
    cleanup.push(() => connection.stop());
    // 40 messages of 1 MiB before the relay is known: 40 MiB if all were kept.
    for (let i = 1; i <= 40; i++) connection.inspect(pingEvent(`${i}:${'x'.repeat(MiB)}`));
    connect(r.publishUrl);
    expect(await connection.ready).toBe(true);
    await new Promise<void>((resolve) =>
      viewer.on('message', (data) => String(data).includes('"payload":"40:') && resolve()),
    );
    const kept = received.map((m) => Number(/"payload":"(\d+):/.exec(m)![1]));
    expect(kept).toEqual(Array.from({ length: 15 }, (_, i) => 26 + i));
  });

  it('drops and reports a message over maxMessageBytes instead of having the relay cut it off', async () => {
    const r = await relay({});
    const viewer = await client(r.url);
    const received: string[] = [];
    viewer.on('message', (data) => received.push(String(data)));
    const errors: Array<[unknown, string]> = [];
    const connection = connectInspector({
      url: r.publishUrl,
      maxMessageBytes: 4096,
      onError: (error, source) => errors.push([error, source]),
    });
    cleanup.push(() => connection.stop());
    expect(await connection.ready).toBe(true);
    const event = pingEvent;
    connection.inspect(event('x'.repeat(10_000)));
    connection.inspect(event('small'));
    await new Promise<void>((resolve) => viewer.once('message', () => resolve()));
    expect(received).toHaveLength(1);
    expect(received[0]).toContain('"payload":"small"');
    expect(errors).toHaveLength(1);
    expect(String(errors[0]![0])).toMatch(
      /an inspector message of \d+ bytes is over maxMessageBytes \(4096\)/,
    );
    expect(connection.connected()).toBe(true);
  });
});

function pingEvent(payload: string) {
  return {
    type: '@xstate.event',
    rootId: 'x:1',
    actorRef: { sessionId: 'x:1', id: 'x' },
    sourceRef: undefined,
    event: { type: 'ping', payload },
  } as never;
}
