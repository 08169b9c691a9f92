import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Breaker } from '../breaker.js';
import { type ConsoleSource, handleApi } from './api.js';
import { createEventStream } from './events.node.js';
import type { RunRegistry } from './registry.js';
import { breakerRows } from './view.js';

export type { ConsoleSource } from './api.js';

export interface ConsoleServerOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** The built page (`npm run build:console`). Default: the package's dist/console. */
  assets?: string;
}

export interface ConsoleServer {
  readonly address: { url: string; host: string; port: number };
  close(): Promise<void>;
}

/** Request bodies are small JSON (a decision, an edited output): anything larger is refused. */
export const MAX_BODY_BYTES = 256 * 1024;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

const SECURITY = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  // The page may talk to this server only: no CDN, no third party, nothing leaves loopback.
  'content-security-policy':
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

/** Where the built page is: beside the sources (dist/console) or beside the compiled server. */
function defaultAssets(): string | null {
  const candidates = ['../../dist/console', '../../console'].map((p) =>
    fileURLToPath(new URL(`${p}/`, import.meta.url)),
  );
  return candidates.find((dir) => existsSync(resolve(dir, 'index.html'))) ?? null;
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>agentcharts console</title>
<p>The console page is not built. Run <code>npm run build:console</code>; the JSON API under <code>api/</code> works meanwhile.</p>`;

class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((done, fail) => {
    const type = req.headers['content-type'] ?? '';
    // JSON only: a plain HTML form (another site's cross-origin POST) cannot send it.
    if (!type.startsWith('application/json')) {
      fail(new BodyError(415, 'the body must be JSON (content-type: application/json)'));
      req.resume();
      return;
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      fail(new BodyError(413, `the body is larger than ${MAX_BODY_BYTES} bytes`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        fail(new BodyError(413, `the body is larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        done(text.trim() === '' ? {} : JSON.parse(text));
      } catch {
        fail(new BodyError(400, 'the body is not valid JSON'));
      }
    });
    req.on('error', fail);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...SECURITY, 'content-type': 'application/json; charset=utf-8' }).end(text);
}

/** The console of a live runtime (`createRuntime({ console })`). */
export function startRuntimeConsole(
  runtime: Omit<ConsoleSource, 'breakers' | 'registry'> & {
    registry: RunRegistry;
    breakers: () => ReadonlyMap<string, Breaker>;
  },
  options: ConsoleServerOptions,
): Promise<ConsoleServer> {
  return startConsoleServer({ ...runtime, breakers: () => breakerRows(runtime.breakers()) }, options);
}

/** Start the console's HTTP server on loopback with a fresh random token. */
export async function startConsoleServer(
  source: ConsoleSource,
  options: ConsoleServerOptions = {},
): Promise<ConsoleServer> {
  const host = options.host ?? '127.0.0.1';
  const assets = options.assets ? resolve(options.assets) : defaultAssets();
  const token = randomBytes(24).toString('base64url');
  const tokenBytes = Buffer.from(token);
  const events = createEventStream(source);

  const authorised = (segment: string) => {
    const given = Buffer.from(segment);
    return given.length === tokenBytes.length && timingSafeEqual(given, tokenBytes);
  };

  async function serveFile(res: ServerResponse, rest: string): Promise<void> {
    if (!assets) {
      res.writeHead(rest === '' ? 200 : 404, { ...SECURITY, 'content-type': TYPES['.html']! }).end(NOT_BUILT);
      return;
    }
    // Every page URL the app uses (#/runs/…) is a hash route: anything else is a file under assets/.
    const file = resolve(assets, rest === '' ? 'index.html' : rest);
    if (!file.startsWith(assets + sep)) return send(res, 404, { error: 'notFound', message: 'no such file' });
    try {
      const body = await readFile(file);
      res.writeHead(200, { ...SECURITY, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      send(res, 404, { error: 'notFound', message: 'no such file' });
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://console.invalid');
    const [, segment = '', ...restParts] = url.pathname.split('/');
    if (!authorised(segment)) {
      // Nothing about the runtime: no run ids, no page, not even whether the path exists.
      res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end('401 unauthorized: open the URL the runtime printed (it carries the access token)\n');
      return;
    }
    // The page's relative URLs need the trailing slash.
    if (restParts.length === 0) {
      res.writeHead(308, { location: `/${token}/`, 'cache-control': 'no-store' }).end();
      return;
    }
    const rest = restParts.join('/');
    const method = req.method ?? 'GET';
    if (rest === 'api/events' && method === 'GET') return events.open(req, res, SECURITY);
    if (rest.startsWith('api/')) {
      let body: unknown;
      if (method === 'POST') {
        try {
          body = await readBody(req);
        } catch (error) {
          const status = error instanceof BodyError ? error.status : 400;
          return send(res, status, { error: 'badRequest', message: (error as Error).message });
        }
      }
      const answer = await handleApi(source, method, rest.slice(4), url.searchParams, body);
      return send(res, answer.status, answer.body);
    }
    if (method !== 'GET' && method !== 'HEAD') return send(res, 405, { error: 'methodNotAllowed' });
    return serveFile(res, rest);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: 'internal', message: String(error) });
      else res.destroy();
    });
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', fail);
      done();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    address: { url: `http://${shown}:${port}/${token}/`, host, port },
    async close() {
      events.close();
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
    },
  };
}
