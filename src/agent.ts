import { z } from 'zod';
import type {
  AgentImplementation,
  AgentLimits,
  AgentMachine,
  AgentSpec,
  PreviousAttempt,
  Verdict,
} from '../machines/agent.js';
import { createAgentMachine } from '../machines/agent.js';
import { toValidationIssues } from '../machines/agent-result.js';
import type { AttemptMeta, WithAttemptMeta } from '../machines/attempt-meta.js';
import { deepFreeze } from '../machines/frozen.js';
import type { QualityThresholds } from '../machines/quality.js';
import type { RetryPolicy } from '../machines/retry.js';
import { forParsing } from '../machines/schema-path.js';
import { AGENT_BRAND, brand, brandOf } from './brand.js';
import { formatValue } from './errors.js';
import { fail, fn, id, integer, MAX_TIMER_MS, number, parseOptions, zodSchema } from './options.js';

/** What the agent's function is called with. */
export interface AgentRunArgs<I = unknown> {
  input: I;
  /**
   * Aborted on attempt timeout, deadline and cancel, and when the agent actor is stopped (its run
   * cancelled or past its deadline). A result after that is ignored.
   */
  signal: AbortSignal;
  /** 1-based. */
  attempt: number;
  /**
   * `runId:stepId:attempt`. Stable across a restore, which calls an in-flight attempt again
   * (at-least-once): pass it to side-effecting APIs to make the repeat harmless.
   */
  idempotencyKey: string;
  /** The previous attempt's output and why it was not accepted, so a retry can do better. */
  previous: PreviousAttempt | null;
}

/** What `run` may return: the output schema's input type, or it with attempt metadata; or a promise of either. */
export type AgentRunReturn<S extends z.ZodType> =
  | z.input<S>
  | WithAttemptMeta<z.input<S>>
  | PromiseLike<z.input<S> | WithAttemptMeta<z.input<S>>>;

export interface AgentOptions<I, S extends z.ZodType, Id extends string = string> {
  id: Id;
  /** Every output is validated against this before anyone sees it. Outputs are JSON data. */
  output: S;
  /**
   * The agent itself. Typed to return what the output schema accepts, so a mistake is a compile
   * error; at run time the result is still untrusted and validated (a model can return anything).
   * Return `withAttemptMeta(output, { usage, confidence })` to report the attempt's token usage or
   * a confidence computed outside the output.
   */
  run: (args: AgentRunArgs<I>) => AgentRunReturn<S>;
  limits?: Partial<AgentLimits>;
  retry?: Partial<RetryPolicy>;
  /** Termination check: a valid output that fails it counts as one iteration and the agent runs again. */
  isDone?: (output: z.output<S>) => boolean;
  /**
   * A function of the output giving a number in [0, 1]; default: the output's `confidence` field.
   * `'reported'`: `run` reports it with `withAttemptMeta(output, { confidence })`, and an attempt
   * that reports none is invalid. A confidence the run reports wins over the other two.
   */
  confidence?: ((output: z.output<S>) => number) | 'reported';
  quality?: Partial<QualityThresholds>;
  /** Serialised size cap for one output; default 1 MiB. */
  maxOutputBytes?: number;
}

/** Any defined agent, whatever its input and output types. */
// biome-ignore lint/suspicious/noExplicitAny: an agent's input is contravariant: `any` accepts every agent.
export type AnyAgent = Agent<any, unknown>;

/** A defined agent: plain, frozen options plus the implementation its statechart calls. */
export interface Agent<I = unknown, O = unknown, Id extends string = string> {
  readonly kind: 'agent';
  readonly id: Id;
  readonly output: z.ZodType<O>;
  readonly spec: Readonly<AgentSpec>;
  /** True when the agent has a termination check (`isDone`). */
  readonly iterates: boolean;
  /**
   * Phantom: the input the agent accepts, for type checks only (never set). A function parameter,
   * so an agent taking `unknown` fits any step and one taking `{ topic }` only a step giving it.
   */
  readonly __input?: (input: I) => void;
}

/** The input type an agent accepts. */
export type AgentInput<A> = A extends Agent<infer I, unknown, string> ? I : never;
/** The (validated) output type of an agent. */
export type AgentOutput<A> = A extends Agent<never, infer O, string> ? O : never;

const DEFAULTS = {
  maxIterations: 3,
  attemptTimeoutMs: 30_000,
  retry: { initialDelayMs: 500, factor: 2, maxDelayMs: 10_000, jitter: 0 },
  quality: { high: 0.85, medium: 0.65 },
  maxOutputBytes: 1024 * 1024,
} as const;

const optionsSchema = z.strictObject({
  id: id(),
  output: zodSchema(),
  run: fn<(...args: never[]) => unknown>(),
  limits: z
    .strictObject({
      maxIterations: integer(1, 1000).default(DEFAULTS.maxIterations),
      attemptTimeoutMs: integer(1, MAX_TIMER_MS).default(DEFAULTS.attemptTimeoutMs),
      deadlineMs: integer(1, MAX_TIMER_MS).nullable().default(null),
    })
    .default({
      maxIterations: DEFAULTS.maxIterations,
      attemptTimeoutMs: DEFAULTS.attemptTimeoutMs,
      deadlineMs: null,
    }),
  retry: z
    .strictObject({
      initialDelayMs: integer(0, MAX_TIMER_MS).default(DEFAULTS.retry.initialDelayMs),
      factor: number(1, 100).default(DEFAULTS.retry.factor),
      maxDelayMs: integer(0, MAX_TIMER_MS).default(DEFAULTS.retry.maxDelayMs),
      jitter: number(0, 1).default(DEFAULTS.retry.jitter),
    })
    .default({ ...DEFAULTS.retry }),
  isDone: fn<(output: unknown) => boolean>().optional(),
  confidence: z
    .custom<((output: unknown) => number) | 'reported'>((v) => typeof v === 'function' || v === 'reported', {
      error: "must be a function (output) => number, or 'reported' (run reports it with withAttemptMeta)",
    })
    .optional(),
  quality: z
    .strictObject({
      high: number(0, 1, true).default(DEFAULTS.quality.high),
      medium: number(0, 1, true).default(DEFAULTS.quality.medium),
    })
    .default({ ...DEFAULTS.quality }),
  maxOutputBytes: integer(1, 256 * 1024 * 1024).default(DEFAULTS.maxOutputBytes),
});

/**
 * Define an agent: its output schema, its function, and the limits that keep a call bounded.
 * Bad options throw an OptionsError naming the field and the value received.
 */
export function defineAgent<I = unknown, S extends z.ZodType = z.ZodType, const Id extends string = string>(
  options: AgentOptions<I, S, Id>,
): Agent<I, z.output<S>, Id> {
  const where = `defineAgent(${typeof options?.id === 'string' ? JSON.stringify(options.id) : formatValue(options?.id)})`;
  const o = parseOptions(optionsSchema, options, where);
  if (o.retry.maxDelayMs < o.retry.initialDelayMs) {
    fail(
      where,
      'retry.maxDelayMs',
      o.retry.maxDelayMs,
      `must be at least retry.initialDelayMs (${o.retry.initialDelayMs})`,
    );
  }
  if (o.quality.medium > o.quality.high) {
    fail(where, 'quality.medium', o.quality.medium, `must not exceed quality.high (${o.quality.high})`);
  }
  if (!o.confidence && !hasConfidenceField(o.output)) {
    fail(
      where,
      'confidence',
      undefined,
      "is required when the output schema has no numeric `confidence` field: a function (output) => number, or 'reported' when run reports it with withAttemptMeta",
    );
  }
  const spec: AgentSpec = deepFreeze({
    id: o.id,
    limits: o.limits,
    retry: o.retry,
    quality: o.quality,
    maxOutputBytes: o.maxOutputBytes,
  });
  const impl: AgentImplementation = {
    run: o.run as AgentImplementation['run'],
    validate: (output, meta) =>
      validate(o.output, output, meta ?? {}, o.confidence ?? defaultConfidence, o.isDone),
  };
  const internals: AgentInternals = {
    machine: createAgentMachine(spec, impl),
    options: options as unknown as AgentOptions<unknown, z.ZodType>,
  };
  const agent: Agent<I, z.output<S>, Id> = {
    kind: 'agent' as const,
    id: o.id as Id,
    output: o.output as z.ZodType<z.output<S>>,
    spec,
    iterates: o.isDone !== undefined,
  };
  return Object.freeze(brand(agent, AGENT_BRAND, internals));
}

/** What the brand carries: any copy of agentcharts can run an agent another copy defined. */
interface AgentInternals {
  readonly machine: AgentMachine;
  readonly options: AgentOptions<unknown, z.ZodType>;
}

const internalsOf = (value: unknown): AgentInternals | undefined => {
  const internals = brandOf(value, AGENT_BRAND) as AgentInternals | undefined;
  return typeof internals === 'object' && internals !== null && 'machine' in internals
    ? internals
    : undefined;
};

/** The options an agent was defined with (internal: e.g. the load test wraps `run` with faults). */
export function agentOptionsOf(agent: AnyAgent): AgentOptions<unknown, z.ZodType> {
  const internals = internalsOf(agent);
  if (!internals)
    throw new TypeError(`expected an agent made by defineAgent, received ${formatValue(agent)}`);
  return internals.options;
}

/**
 * The agent's statechart as XState actor logic, to `invoke` from any machine or `createActor`.
 * Input: `{ input, runId?, stepId? }`; output: an AgentResult (every way out is typed).
 */
export function agentActor<I, O>(agent: Agent<I, O>): AgentMachine {
  const machine = internalsOf(agent)?.machine;
  if (!machine)
    throw new TypeError(`agentActor: expected an agent made by defineAgent, received ${formatValue(agent)}`);
  return machine;
}

export const isAgent = (value: unknown): value is Agent => internalsOf(value) !== undefined;

function defaultConfidence(output: unknown): number {
  return (output as { confidence?: unknown })?.confidence as number;
}

function hasConfidenceField(schema: z.ZodType): boolean {
  // Only object schemas can be checked here; others are checked on every output instead.
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
  if (!shape || typeof shape !== 'object') return true;
  const field = shape.confidence;
  if (!field) return false;
  return field.safeParse(0.5).success;
}

/**
 * Schema, confidence and isDone on one output. Always an async parse: a sync parse of a schema with
 * an async refinement would call the refinement twice and drop the first promise it returned.
 */
function validate(
  schema: z.ZodType,
  output: unknown,
  meta: AttemptMeta,
  confidenceOf: ((output: unknown) => number) | 'reported',
  isDone: ((output: unknown) => boolean) | undefined,
): Promise<Verdict> {
  // A schema with a key named like an Object.prototype member (toString) must not see the inherited one.
  return schema
    .safeParseAsync(forParsing(schema, output))
    .then((parsed) => judge(parsed, meta, confidenceOf, isDone));
}

function judge(
  parsed: z.ZodSafeParseResult<unknown>,
  meta: AttemptMeta,
  confidenceOf: ((output: unknown) => number) | 'reported',
  isDone: ((output: unknown) => boolean) | undefined,
): Verdict {
  if (!parsed.success) {
    const issues = toValidationIssues(parsed.error.issues);
    const first = issues[0]!;
    const more = issues.length > 1 ? ` (+${issues.length - 1} more)` : '';
    return { valid: false, reason: `schema: ${first.path}: ${first.message}${more}`, issues };
  }
  const data = parsed.data;
  const confidence = confidenceFor(data, meta, confidenceOf);
  if (!confidence.ok) return invalid(confidence.message);
  let done = true;
  if (isDone) {
    const verdict = attempt(() => isDone(data));
    if (!verdict.ok) return invalid(`isDone() threw: ${verdict.message}`);
    // An async isDone would never be true here: say so rather than iterate to maxIterations.
    if (isThenable(verdict.value))
      return invalid('isDone() returned a promise: it must return true or false synchronously');
    done = verdict.value === true;
  }
  return { valid: true, output: data, confidence: confidence.value, done };
}

/** The attempt's confidence: reported by the run (withAttemptMeta), else read from the output. */
function confidenceFor(
  data: unknown,
  meta: AttemptMeta,
  confidenceOf: ((output: unknown) => number) | 'reported',
): { ok: true; value: number } | { ok: false; message: string } {
  const reported = meta.confidence;
  if (typeof reported === 'object')
    return { ok: false, message: `confidence unavailable: ${reported.unavailable}` };
  if (reported === undefined && confidenceOf === 'reported') {
    return {
      ok: false,
      message: 'no confidence was reported: run must return withAttemptMeta(output, { confidence })',
    };
  }
  let value: unknown = reported;
  if (reported === undefined && confidenceOf !== 'reported') {
    const read = attempt(() => confidenceOf(data));
    if (!read.ok) return { ok: false, message: `confidence() threw: ${read.message}` };
    value = read.value;
  }
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    const which = reported === undefined ? 'confidence' : 'reported confidence';
    return { ok: false, message: `${which} must be a number in [0, 1], received ${formatValue(value)}` };
  }
  return { ok: true, value };
}

const invalid = (reason: string): Verdict => ({
  valid: false,
  reason,
  issues: [{ path: '(root)', message: reason }],
});

function attempt<T>(f: () => T): { ok: true; value: T } | { ok: false; message: string } {
  try {
    return { ok: true, value: f() };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : formatValue(error) };
  }
}

/** Has a callable `then` (read once, safely): a promise or a look-alike. */
function isThenable(value: unknown): boolean {
  if ((typeof value !== 'object' || value === null) && typeof value !== 'function') return false;
  try {
    return typeof (value as { then?: unknown }).then === 'function';
  } catch {
    return false;
  }
}
