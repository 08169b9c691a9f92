import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { fn, integer, parseOptions } from '../options.js';
import { loadWs } from './ws-module.node.js';

/**
 * Node only. A WebSocket relay for the Stately inspector, bound to loopback by default: every
 * message from one client goes to every other client, and the last `replay` messages go to a
 * client when it connects, so an inspector UI opened mid-run still sees the actors.
 *
 * `pageUrl` serves a small bridge page that embeds the Stately inspector and feeds it from the
 * relay (what `@statelyai/inspect/server` does, but that one listens on every interface).
 * Browsers may connect only from the relay's own page (their `Origin` must be the relay's, or in
 * `allowOrigins`): snapshots hold run data, and any web page can open a WebSocket to loopback.
 * Clients without an Origin (Node processes) are accepted.
 */

export interface InspectorRelayOptions {
  /** Default 127.0.0.1. Anything else exposes run data to the network. */
  host?: string;
  /** 0 (default): an ephemeral port; read it from `port` / `url`. */
  port?: number;
  /** Messages kept for clients that connect later. Default 500. */
  replay?: number;
  /** Extra browser origins allowed to connect, e.g. `http://localhost:5173`. */
  allowOrigins?: string[];
  /** The inspector UI the bridge page embeds. Default https://stately.ai/inspect. */
  inspectorUrl?: string;
  /** Largest accepted message, bytes. Default 16 MiB. */
  maxPayload?: number;
  /** Errors of the relay's sockets (they never stop it). Default: console.error. */
  onError?: (error: unknown) => void;
}

export interface InspectorRelay {
  readonly host: string;
  readonly port: number;
  /** Where inspector clients connect: `ws://host:port`. */
  readonly url: string;
  /** The bridge page to open in a browser: `http://host:port`. */
  readonly pageUrl: string;
  /** Connected clients. */
  clients(): number;
  /** Close every connection and stop listening. */
  close(): Promise<void>;
}

const RelayOptionsSchema = z.strictObject({
  host: z
    .custom<string>((v) => typeof v === 'string' && v.length > 0, {
      error: 'must be a non-empty host name or address',
    })
    .default('127.0.0.1'),
  port: integer(0, 65_535).default(0),
  replay: integer(0, 100_000).default(500),
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
  maxPayload: integer(1024, 1024 ** 3).default(16 * 1024 * 1024),
  onError: fn<(error: unknown) => void>().optional(),
});

export type ParsedRelayOptions = z.output<typeof RelayOptionsSchema>;

export function parseRelayOptions(options: unknown, where: string): ParsedRelayOptions {
  return parseOptions(RelayOptionsSchema, options ?? {}, where);
}

/** Start listening; resolves once the port is bound (rejects if it cannot be, e.g. in use). */
export async function startInspectorRelay(options: InspectorRelayOptions = {}): Promise<InspectorRelay> {
  return listen(parseRelayOptions(options, 'startInspectorRelay'));
}

export async function listen(o: ParsedRelayOptions): Promise<InspectorRelay> {
  const { WebSocket, WebSocketServer } = await loadWs();
  const onError = o.onError ?? ((error: unknown) => console.error('agentcharts: inspector relay:', error));
  const recent: string[] = [];
  let port = o.port;
  const displayHost = o.host.includes(':') ? `[${o.host}]` : o.host;

  const http = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/' || req.url?.startsWith('/?'))) {
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
  const wss = new WebSocketServer({
    server: http,
    maxPayload: o.maxPayload,
    verifyClient: ({ req }: { req: IncomingMessage }) => allowed(req.headers.origin),
  });

  wss.on('connection', (socket) => {
    socket.on('error', onError);
    for (const message of recent) socket.send(message);
    socket.on('message', (data, isBinary) => {
      if (isBinary) return; // the inspector protocol is JSON text
      const message = data.toString();
      if (o.replay > 0) {
        recent.push(message);
        if (recent.length > o.replay) recent.shift();
      }
      for (const client of wss.clients) {
        if (client !== socket && client.readyState === WebSocket.OPEN) client.send(message);
      }
    });
  });
  wss.on('error', onError);

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
    url: `ws://${displayHost}:${port}`,
    pageUrl: `http://${displayHost}:${port}`,
    clients: () => wss.clients.size,
    close() {
      closing ??= new Promise<void>((resolve) => {
        // ws 8 leaves open connections alone on close(), and an HTTP keep-alive socket (a browser
        // that loaded the page) would hold the server: end both, or the process cannot exit.
        for (const client of wss.clients) client.terminate();
        wss.close();
        http.close(() => resolve());
        http.closeAllConnections();
      });
      return closing;
    },
  };
}

/** Embeds the inspector UI and forwards the relay's messages to it once it says it is connected. */
function bridgePage(inspectorUrl: string): string {
  const src = JSON.stringify(inspectorUrl).replace(/</g, '\\u003c');
  return `<!doctype html>
<html>
<head>
  <meta charset="utf-8">
  <title>agentcharts · Stately inspector</title>
  <style>html, body, iframe { margin: 0; width: 100%; height: 100%; border: 0; }</style>
</head>
<body>
  <iframe id="inspector"></iframe>
  <script>
    const iframe = document.getElementById('inspector');
    iframe.src = ${src};
    const buffer = [];
    let connected = false;
    window.addEventListener('message', (e) => {
      if (e.data && e.data.type === '@statelyai.connected') {
        connected = true;
        for (const event of buffer.splice(0)) iframe.contentWindow.postMessage(event, '*');
      }
    });
    const ws = new WebSocket('ws://' + location.host);
    ws.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (connected) iframe.contentWindow.postMessage(event, '*');
      else buffer.push(event);
    };
  </script>
</body>
</html>
`;
}
