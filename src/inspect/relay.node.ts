import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import { z } from 'zod';
import { fail, fn, integer, parseOptions } from '../options.js';
import { bridgePage } from './bridge-page.js';
import { liveActors } from './live-actors.js';
import { replayBuffer } from './replay-buffer.js';
import { loadWs } from './ws-module.node.js';

/**
 * Node only. A WebSocket relay for the Stately inspector, bound to loopback by default.
 *
 * Two roles, each with its own random token in the URL (`?token=…`), compared in constant time; a
 * connection without a valid one is refused (401):
 * - publishers (the runtime's inspector connection, at `publishUrl`) send the inspector's messages;
 *   each goes to every viewer and the most recent ones are kept for viewers that connect later;
 * - viewers (the bridge page at `pageUrl`, or any client of `url`) only receive: what a viewer sends is
 *   neither relayed nor kept, and a viewer frame over 64 KiB closes its connection.
 *
 * Bounded memory: a publisher frame over `maxPayload` closes that connection; the replay buffer keeps
 * at most `replay` messages and `replayBytes` bytes; a viewer that falls more than
 * `maxBufferedBytes` behind (it does not read) is disconnected, so it cannot grow the host.
 *
 * `pageUrl` serves a small bridge page that embeds the Stately inspector and feeds it from the relay
 * (what `@statelyai/inspect/server` does, but that one listens on every interface and lets anyone in).
 * Browsers may connect only from the relay's own page (their `Origin` must be the relay's, or in
 * `allowOrigins`): any web page can open a WebSocket to loopback. Node clients send no Origin.
 */

export interface InspectorRelayOptions {
  /** Default 127.0.0.1. Anything else exposes run data to the network. */
  host?: string;
  /** 0 (default): an ephemeral port; read it from `port` / `url`. */
  port?: number;
  /** Messages kept for viewers that connect later. Default 500. */
  replay?: number;
  /** Bytes kept for viewers that connect later (the oldest messages go first). Default 16 MiB. */
  replayBytes?: number;
  /** A viewer further behind than this many bytes (it is not reading) is disconnected. Default 32 MiB. */
  maxBufferedBytes?: number;
  /** Extra browser origins allowed to connect, e.g. `http://localhost:5173`. */
  allowOrigins?: string[];
  /** The inspector UI the bridge page embeds. Default https://stately.ai/inspect. */
  inspectorUrl?: string;
  /** Largest message a publisher may send, bytes; a larger one closes its connection. Default 4 MiB. */
  maxPayload?: number;
  /** The viewers' token (in `url` and `pageUrl`), e.g. to keep a bookmarked page working. Default: random. */
  viewToken?: string;
  /** The publishers' token (in `publishUrl`). Default: random. */
  publishToken?: string;
  /** Errors of the relay's sockets, and viewers dropped for falling behind (they never stop it). Default: console.error. */
  onError?: (error: unknown) => void;
}

export interface RelayStats {
  viewers: number;
  publishers: number;
  /** Messages and bytes in the replay buffer. */
  replayMessages: number;
  replayBytes: number;
  /** Actors still running whose creation and latest snapshot a new viewer gets first, and their bytes. */
  liveActors: number;
  liveBytes: number;
  /** Viewers disconnected so far for falling more than `maxBufferedBytes` behind. */
  droppedViewers: number;
}

export interface InspectorRelay {
  readonly host: string;
  readonly port: number;
  /** Where viewers connect: `ws://host:port/?token=…` (the viewer token). */
  readonly url: string;
  /** The bridge page to open in a browser: `http://host:port/?token=…` (the viewer token). */
  readonly pageUrl: string;
  /** Where the publisher connects: `ws://host:port/?token=…` (the publisher token). Keep it private. */
  readonly publishUrl: string;
  /** Connected clients (viewers and publishers). */
  clients(): number;
  stats(): RelayStats;
  /** Close every connection and stop listening. */
  close(): Promise<void>;
}

/** What a viewer may send before its connection is closed: viewers have nothing to say. */
const VIEWER_MAX_PAYLOAD = 64 * 1024;
/** Actors whose live state the relay keeps for late viewers (oldest dropped first). */
const MAX_LIVE_ACTORS = 10_000;
const MiB = 1024 * 1024;

const token = () =>
  z.custom<string>((v) => typeof v === 'string' && /^[A-Za-z0-9_-]{16,256}$/.test(v), {
    error: 'must be 16 to 256 letters, digits, _ or - (hard to guess)',
  });

const RelayOptionsSchema = z.strictObject({
  host: z
    .custom<string>((v) => typeof v === 'string' && v.length > 0, {
      error: 'must be a non-empty host name or address',
    })
    .default('127.0.0.1'),
  port: integer(0, 65_535).default(0),
  replay: integer(0, 100_000).default(500),
  replayBytes: integer(0, 1024 ** 3).default(16 * MiB),
  maxBufferedBytes: integer(64 * 1024, 1024 ** 3).default(32 * MiB),
  allowOrigins: z
    .array(
      z.custom<string>((v) => typeof v === 'string' && /^https?:\/\/[^/]+$/.test(v), {
        error: 'must be an origin such as http://localhost:5173',
      }),
    )
    .default([]),
  inspectorUrl: z
    .custom<string>((v) => typeof v === 'string' && /^https?:\/\//.test(v), {
      error: 'must be an http(s) URL',
    })
    .default('https://stately.ai/inspect'),
  maxPayload: integer(1024, 1024 ** 3).default(4 * MiB),
  viewToken: token().optional(),
  publishToken: token().optional(),
  onError: fn<(error: unknown) => void>().optional(),
});

export type ParsedRelayOptions = z.output<typeof RelayOptionsSchema>;

export function parseRelayOptions(options: unknown, where: string): ParsedRelayOptions {
  const parsed = parseOptions(RelayOptionsSchema, options ?? {}, where);
  if (parsed.viewToken !== undefined && parsed.viewToken === parsed.publishToken)
    fail(where, 'publishToken', parsed.publishToken, 'must differ from viewToken');
  // A viewer is sent the whole replay when it connects: more than it may fall behind would drop it.
  if (parsed.replayBytes > parsed.maxBufferedBytes)
    fail(
      where,
      'replayBytes',
      parsed.replayBytes,
      `must be at most maxBufferedBytes (${parsed.maxBufferedBytes})`,
    );
  return parsed;
}

/** Start listening; resolves once the port is bound (rejects if it cannot be, e.g. in use). */
export async function startInspectorRelay(options: InspectorRelayOptions = {}): Promise<InspectorRelay> {
  return listen(parseRelayOptions(options, 'startInspectorRelay'));
}

const sameToken = (given: string | null, expected: Buffer): boolean => {
  if (given === null) return false;
  const bytes = Buffer.from(given);
  return bytes.length === expected.length && timingSafeEqual(bytes, expected);
};

const asBuffer = (data: RawData): Buffer =>
  Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);

export async function listen(o: ParsedRelayOptions): Promise<InspectorRelay> {
  const { WebSocket, WebSocketServer } = await loadWs();
  const onError = o.onError ?? ((error: unknown) => console.error('agentcharts: inspector relay:', error));
  const viewToken = o.viewToken ?? randomBytes(24).toString('base64url');
  const publishToken = o.publishToken ?? randomBytes(24).toString('base64url');
  const viewKey = Buffer.from(viewToken);
  const publishKey = Buffer.from(publishToken);
  const recent = replayBuffer(o.replay, o.replayBytes);
  // What a new viewer is sent must fit what it may fall behind: the live state takes the rest.
  const live = liveActors(MAX_LIVE_ACTORS, Math.max(0, o.maxBufferedBytes - o.replayBytes));
  let droppedViewers = 0;
  let port = o.port;
  const displayHost = o.host.includes(':') ? `[${o.host}]` : o.host;

  const http = createServer((req, res) => {
    const path = req.url?.split('?')[0];
    if (req.method === 'GET' && path === '/') {
      // The page holds no run data; it connects with the token of the URL it was opened with.
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(bridgePage(o.inspectorUrl));
    } else {
      res.writeHead(404).end();
    }
  });
  const allowed = (origin: string | undefined): boolean =>
    origin === undefined ||
    origin === `http://${displayHost}:${port}` ||
    origin === `http://localhost:${port}` ||
    origin === `http://127.0.0.1:${port}` ||
    o.allowOrigins.includes(origin);
  const viewers = new WebSocketServer({ noServer: true, maxPayload: VIEWER_MAX_PAYLOAD });
  const publishers = new WebSocketServer({ noServer: true, maxPayload: o.maxPayload });

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', onError);
    const given = new URL(req.url ?? '/', 'http://relay').searchParams.get('token');
    const server = sameToken(given, publishKey)
      ? publishers
      : sameToken(given, viewKey)
        ? viewers
        : undefined;
    if (!server || !allowed(req.headers.origin)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    server.handleUpgrade(req, socket, head, (ws) => {
      socket.off('error', onError); // the WebSocket reports its socket's errors from here on
      server.emit('connection', ws, req);
    });
  });

  function toViewer(viewer: WebSocket, message: Buffer): void {
    if (viewer.readyState !== WebSocket.OPEN) return;
    // Everything queued for a viewer that does not read stays in this process: cut it off instead.
    if (viewer.bufferedAmount > o.maxBufferedBytes) {
      droppedViewers++;
      viewer.terminate();
      onError(
        new Error(
          `inspector relay: a viewer fell ${viewer.bufferedAmount} bytes behind (maxBufferedBytes ${o.maxBufferedBytes}) and was disconnected`,
        ),
      );
      return;
    }
    viewer.send(message, { binary: false });
  }

  viewers.on('connection', (socket) => {
    socket.on('error', onError);
    // Every run still going (its actors' creation and latest state), then the recent messages.
    for (const message of live.messages()) toViewer(socket, message);
    for (const message of recent.messages()) toViewer(socket, message as Buffer);
    // What a viewer sends is dropped unread: only the runtime publishes.
  });
  publishers.on('connection', (socket) => {
    socket.on('error', onError);
    socket.on('message', (data, isBinary) => {
      if (isBinary) return; // the inspector protocol is JSON text
      // One buffer, shared by the replay and every viewer's queue.
      const message = asBuffer(data);
      recent.push(message);
      live.note(message);
      for (const viewer of viewers.clients) toViewer(viewer, message);
    });
  });
  viewers.on('error', onError);
  publishers.on('error', onError);

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(o.port, o.host, () => {
      http.off('error', reject);
      http.on('error', onError);
      resolve();
    });
  });
  port = (http.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    host: o.host,
    port,
    url: `ws://${displayHost}:${port}/?token=${viewToken}`,
    pageUrl: `http://${displayHost}:${port}/?token=${viewToken}`,
    publishUrl: `ws://${displayHost}:${port}/?token=${publishToken}`,
    clients: () => viewers.clients.size + publishers.clients.size,
    stats: () => ({
      viewers: viewers.clients.size,
      publishers: publishers.clients.size,
      replayMessages: recent.size,
      replayBytes: recent.bytes,
      liveActors: live.size,
      liveBytes: live.bytes,
      droppedViewers,
    }),
    close() {
      closing ??= new Promise<void>((resolve) => {
        // ws 8 leaves open connections alone on close(), and an HTTP keep-alive socket (a browser
        // that loaded the page) would hold the server: end both, or the process cannot exit.
        for (const client of [...viewers.clients, ...publishers.clients]) client.terminate();
        viewers.close();
        publishers.close();
        http.close(() => resolve());
        http.closeAllConnections();
      });
      return closing;
    },
  };
}
