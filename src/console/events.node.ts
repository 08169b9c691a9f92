import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ConsoleSource, reviewList } from './api.js';
import { summarize } from './view.js';

/**
 * Live updates as server-sent events. Changes are coalesced (a run appends dozens of log entries per
 * step): at most one message per kind every FLUSH_MS, carrying the current summaries of the runs that
 * changed, the breakers when they changed, and the review queue after a review opened or closed.
 */
const FLUSH_MS = 50;
const HEARTBEAT_MS = 15_000;
/** Open pages at once; more get 503 (each holds a socket). */
export const MAX_CLIENTS = 32;

export function createEventStream(source: ConsoleSource) {
  const clients = new Set<ServerResponse>();
  const dirty = new Set<string>();
  let reviewsChanged = false;
  let lastBreakers = '';
  let timer: ReturnType<typeof setTimeout> | null = null;

  const write = (event: string, data: unknown) => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of clients) res.write(frame);
  };

  function flush(): void {
    timer = null;
    if (clients.size === 0) {
      dirty.clear();
      reviewsChanged = false;
      return;
    }
    const now = source.now();
    const runs = [...dirty].flatMap((id) => {
      const tracked = source.registry.get(id);
      return tracked ? [summarize(tracked, now)] : [];
    });
    dirty.clear();
    if (runs.length > 0) write('runs', { runs, total: source.registry.size });
    const breakers = source.breakers();
    const text = JSON.stringify(breakers);
    if (text !== lastBreakers) {
      lastBreakers = text;
      write('breakers', breakers);
    }
    if (reviewsChanged) {
      reviewsChanged = false;
      write('reviews', reviewList(source));
    }
  }
  const schedule = () => {
    if (timer === null && clients.size > 0) timer = setTimeout(flush, FLUSH_MS);
  };

  const unsubscribe = [
    source.registry.onChange((id) => {
      if (clients.size === 0) return;
      dirty.add(id);
      schedule();
    }),
    source.reviews.on('pending', () => {
      reviewsChanged = true;
      schedule();
    }),
    source.reviews.on('decided', () => {
      reviewsChanged = true;
      schedule();
    }),
  ];
  const heartbeat = setInterval(() => {
    for (const res of clients) res.write(': keep-alive\n\n');
  }, HEARTBEAT_MS);
  heartbeat.unref();

  return {
    open(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): void {
      if (clients.size >= MAX_CLIENTS) {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('too many open console pages\n');
        return;
      }
      res.writeHead(200, {
        ...headers,
        'content-type': 'text/event-stream; charset=utf-8',
        connection: 'keep-alive',
      });
      // The page fetches the current state itself; this stream says what changed since.
      res.write(`event: hello\ndata: ${JSON.stringify({ total: source.registry.size })}\n\n`);
      clients.add(res);
      lastBreakers = '';
      req.on('close', () => clients.delete(res));
    },
    close(): void {
      for (const off of unsubscribe) off();
      clearInterval(heartbeat);
      if (timer) clearTimeout(timer);
      for (const res of clients) res.end();
      clients.clear();
    },
  };
}
