import { z } from 'zod';
import { isReviewError } from '../review/errors.js';
import type { PendingReview } from '../review/records.js';
import type { Reviews } from '../review/reviews.js';
import type { RunRegistry } from './registry.js';
import { type BreakerRow, logEntry, type RunStatus, runDetail, summarize } from './view.js';

/**
 * The console's JSON API as plain functions of (method, path, query, body) → (status, JSON), so the
 * routing and validation are testable without a socket. The HTTP server wraps it.
 */

export interface ConsoleSource {
  registry: RunRegistry;
  reviews: Pick<Reviews, 'list' | 'approve' | 'edit' | 'reject' | 'on'>;
  breakers: () => BreakerRow[];
  now: () => number;
  /** A store being browsed (`agentcharts console --store`): nothing can be cancelled or decided. */
  readOnly?: boolean;
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

const STATUSES = ['running', 'awaitingReview', 'completed', 'fallback', 'failed', 'cancelled'] as const;
const name = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');
const bodies = {
  approve: z.strictObject({ by: name }),
  edit: z.strictObject({ by: name, output: z.unknown().refine((v) => v !== undefined, 'is required') }),
  reject: z.strictObject({ by: name, reason: z.string().trim().min(1, 'must not be empty').max(2_000) }),
  cancel: z.strictObject({ by: name.optional(), reason: z.string().max(2_000).optional() }),
};

const notFound = (what: string): ApiResponse => ({ status: 404, body: { error: 'notFound', message: what } });
const badRequest = (message: string, issues: unknown[] = []): ApiResponse => ({
  status: 400,
  body: { error: 'badRequest', message, issues },
});

function parseBody<S extends z.ZodType>(
  schema: S,
  body: unknown,
): { ok: true; data: z.output<S> } | { ok: false; response: ApiResponse } {
  const parsed = schema.safeParse(body);
  if (parsed.success) return { ok: true, data: parsed.data };
  const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
  return { ok: false, response: badRequest(`${issues[0]!.path}: ${issues[0]!.message}`, issues) };
}

/** The edit form's guide: the agent's output schema as JSON Schema, when it converts. */
function schemaFor(source: ConsoleSource, review: PendingReview): unknown {
  const workflow = source.registry.get(review.runId)?.workflow;
  const schema = workflow?.agents.get(review.agentId)?.output;
  if (!schema) return null;
  try {
    return z.toJSONSchema(schema as z.ZodType, { unrepresentable: 'any' });
  } catch {
    return null;
  }
}

export function reviewList(source: ConsoleSource) {
  return source.reviews.list().map((r) => ({ ...r, schema: schemaFor(source, r) }));
}

export function runsPage(source: ConsoleSource, query: URLSearchParams) {
  const offset = Math.max(0, Math.floor(Number(query.get('offset') ?? 0)) || 0);
  const limit = Math.min(500, Math.max(1, Math.floor(Number(query.get('limit') ?? 50)) || 50));
  const wanted = (query.get('status') ?? '')
    .split(',')
    .filter((s): s is RunStatus => (STATUSES as readonly string[]).includes(s));
  const q = (query.get('q') ?? '').slice(0, 200).toLowerCase();
  const now = source.now();
  const counts: Record<string, number> = {};
  const matching = [];
  for (const tracked of source.registry.list()) {
    const summary = summarize(tracked, now);
    counts[summary.status] = (counts[summary.status] ?? 0) + 1;
    if (wanted.length > 0 && !wanted.includes(summary.status)) continue;
    if (q && !summary.id.toLowerCase().includes(q) && !summary.workflowId.toLowerCase().includes(q)) continue;
    matching.push(summary);
  }
  return { total: matching.length, offset, limit, counts, runs: matching.slice(offset, offset + limit) };
}

async function decide(
  source: ConsoleSource,
  id: string,
  action: 'approve' | 'edit' | 'reject',
  body: unknown,
): Promise<ApiResponse> {
  const result = parseBody(bodies[action], body);
  if (!result.ok) return result.response;
  const parsed = result.data;
  const by = { by: parsed.by };
  try {
    const outcome =
      action === 'approve'
        ? await source.reviews.approve(id, by)
        : action === 'edit'
          ? await source.reviews.edit(id, (parsed as { output: unknown }).output, by)
          : await source.reviews.reject(id, (parsed as { reason: string }).reason, by);
    return { status: 200, body: { ok: true, outcome } };
  } catch (error) {
    if (!isReviewError(error)) throw error;
    const status = error.code === 'unknownReview' ? 404 : error.code === 'alreadyDecided' ? 409 : 422;
    return {
      status,
      body: {
        error: error.code,
        message: error.message,
        issues: error.issues,
        outcome: error.outcome ?? null,
      },
    };
  }
}

/** Route one API request (`path` is what follows `/<token>/api/`). */
export async function handleApi(
  source: ConsoleSource,
  method: string,
  path: string,
  query: URLSearchParams,
  body: unknown,
): Promise<ApiResponse> {
  const parts = path.split('/').map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const [resource, id, action, extra] = parts;
  if (method === 'GET') {
    if (resource === 'runs' && id === undefined) return { status: 200, body: runsPage(source, query) };
    if (resource === 'runs' && id !== undefined && action === undefined) {
      const tracked = source.registry.get(id);
      if (!tracked) return notFound(`no run "${id}" in this runtime`);
      return {
        status: 200,
        body: {
          ...runDetail(tracked, source.now(), source.reviews.list()),
          readOnly: source.readOnly === true,
        },
      };
    }
    if (resource === 'runs' && id !== undefined && action === 'log' && extra !== undefined) {
      const tracked = source.registry.get(id);
      const entry = tracked ? logEntry(tracked, Number(extra)) : null;
      return entry ? { status: 200, body: entry } : notFound(`no state log entry ${extra} in run "${id}"`);
    }
    if (resource === 'reviews' && id === undefined) return { status: 200, body: reviewList(source) };
    if (resource === 'breakers' && id === undefined) return { status: 200, body: source.breakers() };
    return notFound(`no such API: GET ${path}`);
  }
  if (method === 'POST') {
    if (source.readOnly)
      return {
        status: 409,
        body: { error: 'readOnly', message: 'this console browses a store: nothing runs here' },
      };
    // Review ids hold slashes (`run/step.visit`): the action is the last segment, the id the rest.
    const verb = parts.at(-1);
    const reviewId = parts.slice(1, -1).join('/');
    if (resource === 'reviews' && reviewId && (verb === 'approve' || verb === 'edit' || verb === 'reject'))
      return decide(source, reviewId, verb, body);
    if (resource === 'runs' && id && action === 'cancel') {
      const result = parseBody(bodies.cancel, body);
      if (!result.ok) return result.response;
      const parsed = result.data;
      const tracked = source.registry.get(id);
      if (!tracked) return notFound(`no run "${id}" in this runtime`);
      if (tracked.terminal || !tracked.run)
        return { status: 409, body: { error: 'alreadyEnded', message: `run "${id}" has already ended` } };
      const reason = parsed.reason || `cancelled in the console${parsed.by ? ` by ${parsed.by}` : ''}`;
      tracked.run.cancel(reason);
      return { status: 200, body: { ok: true, terminal: await tracked.run.done } };
    }
    return notFound(`no such API: POST ${path}`);
  }
  return { status: 405, body: { error: 'methodNotAllowed', message: `${method} is not allowed` } };
}
