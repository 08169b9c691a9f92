import { z } from 'zod';
import type { ValidationIssue } from '../../machines/agent-result.js';
import type { EscalationOutcome } from '../../machines/escalation-context.js';
import type { BreakerState } from '../breaker.js';
import { fail, parseOptions } from '../options.js';
import { alreadyDecided, ReviewError, refused, unknownReview } from '../review/errors.js';
import type { PendingReview } from '../review/records.js';
import type { DecisionOptions } from '../review/reviews.js';
import type { RunFailed, RunResult, RunTerminal } from '../run-result.js';
import type { RunEvent } from '../trace/events.js';
import type { Trace } from '../trace/span.js';
import type { TraceExporter } from '../trace/tracer.js';
import type { Workflow } from '../workflow/define.js';
import type { ReviewDecisionRequest, ReviewDecisionResult } from './decide.js';
import { isRestateError, MAX_RESPONSE_BYTES, RestateError } from './errors.js';
import { eventsOfRun } from './events.js';
import { BREAKER_OBJECT, REVIEW_OBJECT, REVIEWS_KEY, REVIEWS_OBJECT, RUN_SERVICE } from './names.js';
import type { RunView, Settled } from './run-scope.js';
import type { RestateStateLog } from './state-log.js';
import { stateLogOf } from './state-log.js';
import { traceOfRun } from './trace.js';

export interface RestateClientOptions {
  /** The Restate ingress, e.g. `http://127.0.0.1:8080`. */
  ingressUrl: string;
  /** The admin API, e.g. `http://127.0.0.1:9070`; needed only to register deployments. */
  adminUrl?: string;
  /** Bound on each request that is not a wait for a run (ms). Default 30 s. */
  requestTimeoutMs?: number;
}

export interface RestateRun<O = unknown> {
  readonly runId: string;
  /** Settles when the run can go no further on its own: terminal, or waiting for a human. */
  readonly result: Promise<RunResult<O>>;
  /** Settles with the terminal outcome, after any reviews. */
  readonly done: Promise<RunTerminal<O>>;
}

export interface RestateReviews {
  /** Every pending review of the cluster, oldest first. */
  list(): Promise<PendingReview[]>;
  approve(reviewId: string, options: DecisionOptions): Promise<EscalationOutcome>;
  edit(reviewId: string, output: unknown, options: DecisionOptions): Promise<EscalationOutcome>;
  reject(reviewId: string, reason: string, options: DecisionOptions): Promise<EscalationOutcome>;
}

export interface RestateClient {
  /** Start a run (idempotent per run id: starting the same id again attaches to it). */
  start<I, O>(
    workflow: Workflow<I, O> | string,
    input: I,
    options?: { runId?: string },
  ): Promise<RestateRun<O>>;
  /** A handle on a run started elsewhere. */
  run<O = unknown>(runId: string): RestateRun<O>;
  readonly reviews: RestateReviews;
  /** A shared breaker's state, or undefined when no run has used it yet. */
  breaker(key: string): Promise<BreakerState | undefined>;
  /** What the run recorded so far (status, finished steps, agent calls), or undefined if unknown. */
  view(runId: string): Promise<RunView | undefined>;
  /** The run's trace from its journal; exporters (e.g. otelExporter(tracer)) receive every span. */
  trace(runId: string, options?: { exporters?: TraceExporter[] }): Promise<Trace | undefined>;
  /**
   * The run's progress events (the in-process `RunEvent` shapes), derived from its record like the
   * trace, in time order; undefined if the run is unknown. No breaker events (breakers are shared).
   */
  events(runId: string): Promise<RunEvent[] | undefined>;
  /**
   * The run's shared-state history: every accepted write (version, key, writer, op, value, at) and
   * the state it ends in; undefined if the run kept no record (unknown, or refused for its input).
   */
  log(runId: string): Promise<RestateStateLog | undefined>;
  /** Register a worker's deployment URL with the server (admin API). */
  registerDeployment(url: string): Promise<void>;
}

const url = () =>
  z.string().refine(
    (v) => {
      try {
        const u = new URL(v);
        return u.protocol === 'http:' || u.protocol === 'https:';
      } catch {
        return false;
      }
    },
    { error: 'must be an http(s) URL, e.g. http://127.0.0.1:8080' },
  );
const optionsSchema = z.strictObject({
  ingressUrl: url(),
  adminUrl: url().optional(),
  requestTimeoutMs: z.number().int().min(1).max(3_600_000).default(30_000),
});

const trim = (u: string) => u.replace(/\/+$/, '');
const seg = encodeURIComponent;

/** A client of a Restate cluster running agentcharts workers: any process, any machine. */
export function createRestateClient(options: RestateClientOptions): RestateClient {
  const o = parseOptions(optionsSchema, options, 'createRestateClient');
  const ingress = trim(o.ingressUrl);
  const admin = o.adminUrl ? trim(o.adminUrl) : null;

  /** One HTTP call; unreachable → RestateError naming the URL; non-2xx → RestateError with the body. */
  async function call(
    method: string,
    target: string,
    body?: unknown,
    opts: { timeoutMs?: number | null; allow?: number[]; signal?: AbortSignal } = {},
  ): Promise<{ status: number; json: unknown }> {
    const timeoutMs = opts.timeoutMs === undefined ? o.requestTimeoutMs : opts.timeoutMs;
    const signals = [
      ...(timeoutMs === null ? [] : [AbortSignal.timeout(timeoutMs)]),
      ...(opts.signal ? [opts.signal] : []),
    ];
    let res: Response;
    try {
      res = await fetch(target, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signals.length === 0
          ? {}
          : { signal: signals.length === 1 ? signals[0] : AbortSignal.any(signals) }),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new RestateError('unreachable', target, `cannot reach the Restate server at ${target} (${why})`);
    }
    const text = await readBounded(res, target);
    const json = text.length === 0 ? null : safeJson(text);
    if (!res.ok && !opts.allow?.includes(res.status)) {
      const message = (json as { message?: string } | null)?.message ?? text.slice(0, 500);
      throw new RestateError(
        'http',
        target,
        `${method} ${target} → HTTP ${res.status}: ${message}`,
        res.status,
      );
    }
    return { status: res.status, json };
  }

  const runUrl = (runId: string, handler: string) => `${ingress}/${RUN_SERVICE}/${seg(runId)}/${handler}`;

  function handle<O>(runId: string): RestateRun<O> {
    // Long polls end when the run does: an open request would keep the process alive.
    const polls = new AbortController();
    const longPoll = <T>(handler: string) =>
      call('POST', runUrl(runId, handler), undefined, { timeoutMs: null, signal: polls.signal }).then(
        (r) => r.json as T,
      );
    // Started on first use: `result` needs no attach unless the run ends without a pause.
    let attached: Promise<RunTerminal<O>> | undefined;
    let settled: Promise<Settled | null> | undefined;
    const attachOnce = () => (attached ??= attach<O>(runId, polls.signal));
    const settledOnce = () => (settled ??= longPoll<Settled | null>('settled').catch(() => null));
    let done: Promise<RunTerminal<O>> | undefined;
    let result: Promise<RunResult<O>> | undefined;
    const handle: RestateRun<O> = {
      runId,
      get done() {
        // A worker that refused the run (another version of its workflow) halts it: a failed result.
        done ??= Promise.race([
          attachOnce(),
          settledOnce().then((s): Promise<RunTerminal<O>> | RunTerminal<O> => {
            if (s?.kind === 'halted') return failed(runId, s.reason);
            if (s?.kind !== 'paused') return attachOnce();
            return Promise.race([
              attachOnce(),
              longPoll<{ reason: string } | null>('halted')
                .catch(() => null)
                .then((h) => (h ? failed(runId, h.reason) : attachOnce())),
            ]);
          }),
        ]).finally(() => polls.abort());
        return done;
      },
      get result() {
        result ??= settledOnce().then((s): Promise<RunResult<O>> | RunResult<O> => {
          if (s?.kind === 'paused') return s.result as RunResult<O>;
          if (s?.kind === 'halted') return failed(runId, s.reason);
          return handle.done;
        });
        return result;
      },
    };
    return handle;
  }

  /** Waits for the run's outcome. A run the engine failed (e.g. a version mismatch) is a failed result. */
  async function attach<O>(runId: string, signal: AbortSignal): Promise<RunTerminal<O>> {
    const target = `${ingress}/restate/workflow/${RUN_SERVICE}/${seg(runId)}/attach`;
    for (let unavailable = 0; ; ) {
      try {
        const { json } = await call('GET', target, undefined, { timeoutMs: null, signal });
        return json as RunTerminal<O>;
      } catch (error) {
        if (isRestateError(error) && error.code === 'http' && error.status !== null && error.status < 500)
          throw error;
        // The server is busy or failing over (a lost node): attach again, for a bounded while.
        if (isRestateError(error) && [502, 503, 504].includes(error.status ?? 0) && ++unavailable <= 60) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 100 * unavailable)));
          continue;
        }
        // Any other server error is the run's own failure (a terminal error), with its message.
        if (isRestateError(error) && error.code === 'http') {
          return failed(runId, error.message.replace(/^GET \S+ → HTTP \d+: /, ''));
        }
        // A long wait cut by the HTTP client: attach again (attach is idempotent).
        if (isRestateError(error) && /HEADERS_TIMEOUT|BODY_TIMEOUT|other side closed/i.test(error.message))
          continue;
        throw error;
      }
    }
  }

  async function decide(req: ReviewDecisionRequest): Promise<EscalationOutcome> {
    if (typeof req.reviewId !== 'string' || req.reviewId.length === 0 || req.reviewId.length > 1000)
      throw unknownReview(req.reviewId);
    // Review ids are opaque: the run that holds one is looked up, never parsed out of the id.
    const found = await call('POST', `${ingress}/${REVIEW_OBJECT}/${seg(req.reviewId)}/runOf`);
    const runId = found.json;
    if (typeof runId !== 'string' || runId.length === 0) throw unknownReview(req.reviewId);
    const { json } = await call('POST', runUrl(runId, 'decide'), req, { allow: [404] });
    const r = json as ReviewDecisionResult | null;
    if (!r || typeof r !== 'object' || !('ok' in r)) throw unknownReview(req.reviewId);
    if (r.ok) return r.outcome;
    if (r.code === 'unknownReview') throw unknownReview(req.reviewId);
    if (r.code === 'alreadyDecided') throw alreadyDecided(req.reviewId, r.outcome!);
    const refusal = r.refusal!;
    return Promise.reject(
      refused(req.reviewId, {
        kind: refusal.kind,
        requestId: null,
        by: req.by ?? null,
        at: Date.now(),
        reason: refusal.reason,
        issues: (r.issues ?? []) as ValidationIssue[],
      }),
    );
  }

  /** What the run recorded (its view) and, once it ended, its result: what trace/events/log read. */
  async function recordOf(runId: string): Promise<{ view: RunView | null; result: RunTerminal | null }> {
    const view = (await call('POST', runUrl(runId, 'view'))).json as RunView | null;
    if (view && view.status !== 'ended') return { view, result: null };
    // Ended, or no view at all (a run refused for its input ends before it keeps one).
    const output = await call(
      'GET',
      `${ingress}/restate/workflow/${RUN_SERVICE}/${seg(runId)}/output`,
      undefined,
      { allow: [404, 470] },
    );
    const result = output.status === 200 ? (output.json as RunTerminal | null) : null;
    return { view, result };
  }

  const by = (opts: DecisionOptions | undefined) => ({
    by: opts?.by as string,
    ...(opts?.at === undefined ? {} : { at: opts.at }),
  });

  return {
    async start(workflow, input, startOptions = {}) {
      const workflowId = typeof workflow === 'string' ? workflow : workflow?.id;
      if (typeof workflowId !== 'string' || workflowId.length === 0)
        fail('restate.start', 'workflow', workflow, 'must be a workflow made by defineWorkflow, or its id');
      const runId = startOptions.runId ?? globalThis.crypto.randomUUID();
      if (typeof runId !== 'string' || runId.length === 0 || runId.length > 200 || runId.includes('/'))
        fail(
          'restate.start',
          'runId',
          runId,
          'must be a non-empty string of at most 200 characters without "/"',
        );
      await call('POST', `${runUrl(runId, 'run')}/send`, { workflowId, input });
      return handle(runId);
    },
    run: (runId) => handle(runId),
    reviews: {
      async list() {
        const { json } = await call('POST', `${ingress}/${REVIEWS_OBJECT}/${REVIEWS_KEY}/list`);
        return (json as PendingReview[] | null) ?? [];
      },
      approve: (id, opts) => decide({ reviewId: id, type: 'review.approve', ...by(opts) }),
      edit: (id, output, opts) => decide({ reviewId: id, type: 'review.edit', output, ...by(opts) }),
      reject: (id, reason, opts) => decide({ reviewId: id, type: 'review.reject', reason, ...by(opts) }),
    },
    async breaker(key) {
      const { json } = await call('POST', `${ingress}/${BREAKER_OBJECT}/${seg(key)}/state`);
      return (json as BreakerState | null) ?? undefined;
    },
    async view(runId) {
      const { json } = await call('POST', runUrl(runId, 'view'));
      return (json as RunView | null) ?? undefined;
    },
    async trace(runId, traceOptions = {}) {
      const { view, result } = await recordOf(runId);
      if (!view) return undefined;
      return traceOfRun(runId, view, result, traceOptions.exporters ?? []);
    },
    async log(runId) {
      const { json } = await call('POST', runUrl(runId, 'view'));
      const view = json as RunView | null;
      return view ? stateLogOf(runId, view) : undefined;
    },
    async events(runId) {
      const { view, result } = await recordOf(runId);
      const workflowId = view?.workflowId ?? result?.workflowId;
      if (workflowId === undefined) return undefined;
      return eventsOfRun(runId, view, result, workflowId);
    },
    async registerDeployment(deploymentUrl) {
      if (!admin)
        fail('restate.registerDeployment', 'adminUrl', undefined, 'must be given to createRestateClient');
      await call('POST', `${admin}/deployments`, { uri: deploymentUrl, force: true });
    },
  };
}

async function readBounded(res: Response, target: string): Promise<string> {
  const length = Number(res.headers.get('content-length') ?? 0);
  if (length > MAX_RESPONSE_BYTES)
    throw new RestateError(
      'http',
      target,
      `response of ${length} bytes is over the ${MAX_RESPONSE_BYTES}-byte cap`,
    );
  const text = await res.text();
  if (text.length > MAX_RESPONSE_BYTES)
    throw new RestateError('http', target, `response is over the ${MAX_RESPONSE_BYTES}-byte cap`);
  return text;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 500) };
  }
}

export { ReviewError };

/** A run that failed outside its own record (halted on another version, a terminal server error). */
const failed = (runId: string, reason: string): RunFailed => ({
  status: 'failed',
  runId,
  workflowId: '',
  steps: [],
  startedAt: 0,
  endedAt: 0,
  durationMs: 0,
  reason,
});
