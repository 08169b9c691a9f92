/**
 * agentcharts embedded in a small HTTP service (node:http, no framework): start runs of the
 * research-report workflow, read their results, and let humans decide the reviews they raise.
 *
 *   POST /runs                  { topic }         → 202 { runId }
 *   GET  /runs/:id                                → { runId, status, result?, reviews? }
 *   GET  /reviews                                 → { reviews }  (pending, oldest first)
 *   POST /reviews/:id/approve   { by }            → { outcome }
 *   POST /reviews/:id/edit      { output, by }    → { outcome }
 *   POST /reviews/:id/reject    { reason, by }    → { outcome }
 *
 * Errors are `{ error: { code, message, issues? } }`. Run it: `npm run build && node
 * dist/examples/http-service.js` (PORT, default 3000; it listens on 127.0.0.1 only).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createRuntime,
  isReviewError,
  type ReviewErrorCode,
  type Run,
  type RunResult,
  type Runtime,
} from '../src/index.js';
import { reviewedReport } from './reviewed-report.js';

export interface ServiceOptions {
  /** The runtime to run workflows on; `close()` stops it. Default: `createRuntime()`. */
  runtime?: Runtime;
  /** 0 picks a free port. */
  port?: number;
  /** Loopback by default: this example has no authentication. */
  host?: string;
}

export interface Service {
  readonly url: string;
  /** Stop the runtime (cancelling its runs) and the server, so the process can exit. */
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
// Finished runs are kept for GET /runs/:id, the oldest forgotten first, so memory stays bounded.
const MAX_FINISHED_RUNS = 1_000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

// A review the API refused, as an HTTP status: the caller's mistake or a conflict, never a 500.
const REVIEW_STATUS: Record<ReviewErrorCode, number> = {
  unknownReview: 404,
  alreadyDecided: 409,
  nothingToApprove: 409,
  invalidEdit: 422,
  invalidDecision: 400,
};

interface RunEntry {
  run: Run;
  result?: RunResult;
  done?: RunResult;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(text);
}

/** The request body as a JSON object, at most MAX_BODY_BYTES. */
function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  // Requiring JSON also keeps plain HTML forms on other sites from posting here.
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    return Promise.reject(
      new HttpError(415, 'unsupportedMediaType', 'send a JSON body with content-type: application/json'),
    );
  }
  const tooLarge = () => new HttpError(413, 'tooLarge', `the body must be at most ${MAX_BODY_BYTES} bytes`);
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (over) return; // drained and dropped, so the client can read the 413
      if (size > MAX_BODY_BYTES) {
        over = true;
        chunks.length = 0;
        reject(tooLarge());
      } else chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (over) return;
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return reject(new HttpError(400, 'badJson', 'the body is not valid JSON'));
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        return reject(new HttpError(400, 'badBody', 'the body must be a JSON object'));
      }
      resolve(body as Record<string, unknown>);
    });
  });
}

function text(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value.trim() === '') {
    throw new HttpError(400, 'badBody', `\`${field}\` must be a non-empty string`);
  }
  return value;
}

/** Start the service; resolves once it listens. */
export async function createService(options: ServiceOptions = {}): Promise<Service> {
  const { port = 0, host = '127.0.0.1' } = options;
  const runtime = options.runtime ?? createRuntime();
  const runs = new Map<string, RunEntry>();
  const finished: string[] = [];

  function track(run: Run): void {
    const entry: RunEntry = { run };
    runs.set(run.id, entry);
    void run.result.then((result) => {
      entry.result = result;
    });
    void run.done.then((done) => {
      entry.done = done;
      finished.push(run.id);
      if (finished.length > MAX_FINISHED_RUNS) runs.delete(finished.shift()!);
    });
  }

  function view(entry: RunEntry) {
    const runId = entry.run.id;
    if (entry.done) return { runId, status: entry.done.status, result: entry.done };
    // Paused while a review of this run is pending; a decision sets it running again.
    const reviews = runtime.reviews.list().filter((r) => r.runId === runId);
    if (entry.result && reviews.length > 0) {
      return { runId, status: 'awaitingReview', result: entry.result, reviews };
    }
    return { runId, status: 'running' };
  }

  async function decide(id: string, action: string, body: Record<string, unknown>) {
    const by = text(body, 'by');
    try {
      if (action === 'approve') return await runtime.reviews.approve(id, { by });
      if (action === 'edit') {
        if (!('output' in body)) throw new HttpError(400, 'badBody', '`output` is required');
        return await runtime.reviews.edit(id, body.output, { by });
      }
      return await runtime.reviews.reject(id, text(body, 'reason'), { by });
    } catch (error) {
      if (!isReviewError(error)) throw error;
      const extra = error.code === 'invalidEdit' ? { issues: error.issues } : { outcome: error.outcome };
      throw new HttpError(REVIEW_STATUS[error.code], error.code, error.message, extra);
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    let parts: string[];
    try {
      // Split before decoding, so an escaped '/' inside a segment cannot make a new segment.
      parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      throw new HttpError(400, 'badPath', 'the path is not valid percent-encoding');
    }
    const [resource, id, action, ...rest] = parts;
    const only = (method: string) => {
      if (req.method !== method) {
        res.setHeader('allow', method);
        throw new HttpError(405, 'methodNotAllowed', `use ${method}`);
      }
    };

    if (resource === 'runs' && id === undefined) {
      only('POST');
      const run = runtime.start(reviewedReport, (await readJson(req)) as { topic: string });
      // Input the workflow's schema refused: nothing ran, the result says why.
      if (run.actor === null) {
        const refused = await run.result;
        const issues = refused.status === 'failed' ? refused.issues : undefined;
        throw new HttpError(400, 'badInput', 'the input does not match { topic: string }', { issues });
      }
      track(run);
      return send(res, 202, { runId: run.id });
    }
    if (resource === 'runs' && id !== undefined && action === undefined) {
      only('GET');
      const entry = runs.get(id);
      if (!entry) throw new HttpError(404, 'unknownRun', `no run "${id}"`);
      return send(res, 200, view(entry));
    }
    if (resource === 'reviews' && id === undefined) {
      only('GET');
      return send(res, 200, { reviews: runtime.reviews.list() });
    }
    if (
      resource === 'reviews' &&
      id !== undefined &&
      (action === 'approve' || action === 'edit' || action === 'reject') &&
      rest.length === 0
    ) {
      only('POST');
      const outcome = await decide(id, action, await readJson(req));
      return send(res, 200, { outcome });
    }
    throw new HttpError(404, 'notFound', `no route ${req.method} ${path}`);
  }

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (error instanceof HttpError) {
        // Don't keep a connection whose body was left unread.
        if (error.status === 413) res.setHeader('connection', 'close');
        return send(res, error.status, {
          error: { code: error.code, message: error.message, ...error.extra },
        });
      }
      console.error('http-service: unexpected error', error);
      send(res, 500, { error: { code: 'internal', message: 'internal error' } });
    });
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await runtime.stop();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${address.port}`,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await runtime.stop();
        // Keep-alive connections would hold the server (and the process) open.
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}

export async function main(): Promise<Service> {
  const port = Number(process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`PORT must be an integer from 0 to 65535, received ${process.env.PORT}`);
  }
  const service = await createService({ port });
  const json = "-H 'content-type: application/json'";
  console.log(`agentcharts HTTP service on ${service.url}`);
  console.log(`  curl -X POST ${service.url}/runs ${json} -d '{"topic":"solid-state batteries"}'`);
  console.log(`  curl ${service.url}/reviews`);
  console.log(`  curl -X POST ${service.url}/reviews/<reviewId>/approve ${json} -d '{"by":"alice"}'`);
  const stop = () => void service.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return service;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
