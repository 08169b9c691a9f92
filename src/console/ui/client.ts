import type { RunSummary } from '../view.js';

/** Talks to the console server the page came from; every URL is relative (the token is in the path). */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: { error?: string; message?: string; issues?: Array<{ path: string; message: string }> },
  ) {
    super(body.message ?? `HTTP ${status}`);
  }
}

export async function get<T>(path: string): Promise<T> {
  const res = await fetch(`./api/${path}`, { headers: { accept: 'application/json' } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, body);
  return body as T;
}

export async function post<T>(path: string, body: unknown): Promise<T> {
  const res = await fetch(`./api/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, answer);
  return answer as T;
}

export type Live = {
  runs: (runs: RunSummary[], total: number) => void;
  reviews: (reviews: unknown[]) => void;
  breakers: (rows: unknown[]) => void;
  connected: (on: boolean) => void;
  /** After a (re)connection: what changed while disconnected is not replayed, so fetch again. */
  refresh: () => void;
};

/** Server-sent events: what changed since the page fetched. EventSource reconnects by itself. */
export function subscribe(live: Live): () => void {
  const source = new EventSource('./api/events');
  let first = true;
  source.addEventListener('hello', () => {
    live.connected(true);
    if (!first) live.refresh();
    first = false;
  });
  source.addEventListener('error', () => live.connected(false));
  source.addEventListener('runs', (e) => {
    const data = JSON.parse((e as MessageEvent).data) as { runs: RunSummary[]; total: number };
    live.runs(data.runs, data.total);
  });
  source.addEventListener('reviews', (e) => live.reviews(JSON.parse((e as MessageEvent).data)));
  source.addEventListener('breakers', (e) => live.breakers(JSON.parse((e as MessageEvent).data)));
  return () => source.close();
}

export const fmtMs = (ms: number): string =>
  ms < 1_000
    ? `${Math.round(ms)} ms`
    : ms < 60_000
      ? `${(ms / 1_000).toFixed(1)} s`
      : `${(ms / 60_000).toFixed(1)} min`;

export const fmtTime = (at: number): string => new Date(at).toLocaleTimeString();
