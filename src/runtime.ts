import type { InspectionEvent } from 'xstate';
import { z } from 'zod';
import type { Clock } from '../machines/clock.js';
import type { NotifyPolicyOptions } from '../machines/escalation-options.js';
import { persistsFrozenAsIs } from '../machines/persisted.js';
import type { WorkflowMachine } from '../machines/workflow.js';
import type { AnyAgent } from './agent.js';
import type { Breaker, BreakerState } from './breaker.js';
import { clock, fail, fn, parseOptions } from './options.js';
import { randomUrlId } from './random-id.js';
import type { Replay } from './replay.js';
import { replayRun } from './replay.js';
import type { EscalationHook } from './review/hook.js';
import { createReviews, type Reviews } from './review/reviews.js';
import { schemaValidator } from './review/validate.js';
import type { Run, RunDeps, RunOf } from './run.js';
import { haltRun, startRun } from './run.js';
import { isSafeRunId, RUN_ID_RULE } from './run-id.js';
import { createBreakerRegistry } from './runtime-breakers.js';
import type { ConsoleOption, RuntimeConsole } from './runtime-console.js';
import { consoleOptionSchema, startConsole } from './runtime-console.js';
import type { InspectOption, RuntimeInspector } from './runtime-inspector.js';
import { startInspector } from './runtime-inspector.js';
import type { Store } from './store/store.js';
import { isOtelContext, otelExporter, traceIdOf } from './trace/otel.js';
import type { ObserverErrorHandler } from './trace/report.js';
import { reportOncePerSource } from './trace/report.js';
import type { Workflow } from './workflow/define.js';
import { isWorkflow } from './workflow/define.js';

/**
 * An OpenTelemetry `Tracer`, typed by shape so the runtime's types compile without the optional
 * OpenTelemetry API package; `otelExporter` (in 'agentcharts/otel') takes the API's own type.
 */
export interface OtelTracerLike {
  startSpan(name: string, options?: object, context?: object): object;
}

/** The API's own tracer type, internally (the exporter takes it). */
type OtelTracer = Parameters<typeof otelExporter>[0];

/** An OpenTelemetry `Context` (`context.active()`), typed by shape for the same reason. */
export interface OtelContextLike {
  getValue(key: symbol): unknown;
  setValue(key: symbol, value: unknown): OtelContextLike;
  deleteValue(key: symbol): OtelContextLike;
}

export interface RuntimeOptions<W extends readonly Workflow[] = readonly Workflow[]> {
  /** Drives every timer and timestamp (agents, breakers, deadlines); SimulatedClock in tests. */
  clock?: Clock;
  /**
   * Called when a step escalates to a human (log, alert, open a ticket). Retried on failure, each
   * call bounded; failures are recorded and the review still waits. Default: one JSON line.
   */
  onEscalation?: EscalationHook;
  /** How the hook is retried: `{ maxAttempts: 3, attemptTimeoutMs: 10_000, … }`. */
  escalationRetry?: NotifyPolicyOptions;
  /** The Stately inspector: `'ws'` (a relay on 127.0.0.1, Node), `'browser'` (in a page), or options. */
  inspect?: InspectOption;
  /**
   * The agentcharts console (Node): a page on 127.0.0.1 showing runs, their statecharts, traces,
   * state logs, breakers and reviews, live. `true` or `{ port, host }`; `await runtime.console.ready`.
   */
  console?: ConsoleOption;
  /** An OpenTelemetry tracer (`trace.getTracer(name)`): every span of every run is exported to it too. */
  tracer?: OtelTracerLike;
  /** Spans and progress events for every run (`run.trace()`, `run.events()`). Default true. */
  tracing?: boolean;
  /** More XState inspection observers for every run. */
  observers?: Array<(event: InspectionEvent) => void>;
  /**
   * Where runs and breakers are persisted (memoryStore, fileStore from agentcharts/node,
   * browserStore). Without one, runs live in memory only and cannot be resumed after a restart.
   */
  store?: Store;
  /** The workflows `resume()` may find in the store, so it can run them again; they type its runs. */
  workflows?: W;
  /** Called when an observer, exporter or listener throws; the run goes on. Default: console.error once per source. */
  onObserverError?: ObserverErrorHandler;
}

export interface StartOptions {
  /** Stable id for the run; part of every idempotency key. Default: a random id. */
  runId?: string;
  /** Aborting it cancels the run. */
  signal?: AbortSignal;
  /**
   * An OpenTelemetry Context (e.g. `context.active()` in an HTTP handler): the run's span becomes a
   * child of the span in it, and the run's trace id (`run.trace().traceId`) is that span's trace id.
   */
  parent?: OtelContextLike;
}

/** `W`: the workflows given in `createRuntime({ workflows })`, which type the runs `resume()` returns. */
export interface Runtime<W extends Workflow = Workflow> {
  /** Pending human reviews across runs: list, approve, edit, reject. */
  readonly reviews: Reviews;
  /** The Stately inspector, when `inspect` was given: `await runtime.inspector.ready` tells where. */
  readonly inspector: RuntimeInspector | null;
  /** The console, when `console` was given: `(await runtime.console.ready).url` is the page to open. */
  readonly console: RuntimeConsole | null;
  /** Validate the input and start a run. Bad input gives a `failed` result and runs nothing. */
  start<I, O, Id extends string, A extends AnyAgent>(
    workflow: Workflow<I, O, Id, A>,
    input: I,
    options?: StartOptions,
  ): Run<O, Id, A>;
  /** The runs that have not ended. */
  runs(): Run[];
  /** The shared breakers by key, created when a workflow first runs here. */
  breakers(): ReadonlyMap<string, Breaker>;
  /** A breaker's state by key, or undefined when no run has used it yet. */
  breaker(key: string): BreakerState | undefined;
  /**
   * Bring back every unfinished run in the store (and the breakers' states), where it was: timers
   * re-armed from their absolute times; an agent call that was in flight runs again with the same
   * idempotency key (at-least-once). Call it before starting new runs. Runs that cannot be loaded
   * are returned as errors and never stop the others.
   */
  resume(): Promise<{ runs: RunOf<W>[]; errors: Error[] }>;
  /**
   * Re-drive a stored run (finished or not) from its log, without calling agents: step through its
   * states with the returned timeline. Needs the store and the run's workflow in `workflows`.
   */
  replay(runId: string): Promise<Replay>;
  /** Cancel every run, stop every breaker and the inspector; the process can exit afterwards. */
  stop(): Promise<void>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const optionsSchema = z.strictObject({
  clock: clock().optional(),
  onEscalation: fn<EscalationHook>().optional(),
  escalationRetry: z.record(z.string(), z.unknown()).optional(),
  inspect: z
    .custom<InspectOption>(
      (v) => v === 'ws' || v === 'browser' || (isObject(v) && ('ws' in v || 'browser' in v)),
      {
        error: "must be 'ws', 'browser', { ws: { port } } or { browser: {} }",
      },
    )
    .optional(),
  console: consoleOptionSchema.optional(),
  tracer: z
    .custom<OtelTracerLike>((v) => isObject(v) && typeof v.startSpan === 'function', {
      error: 'must be an OpenTelemetry Tracer (trace.getTracer(name))',
    })
    .optional(),
  tracing: z.boolean({ error: 'must be true or false' }).default(true),
  observers: z.array(fn<(event: InspectionEvent) => void>()).optional(),
  store: z
    .custom<Store>(
      (v) => isObject(v) && typeof v.commit === 'function' && typeof v.listUnfinished === 'function',
      {
        error: 'must be a store (memoryStore(), fileStore({ dir }), browserStore({ name }))',
      },
    )
    .optional(),
  workflows: z
    .array(z.custom<Workflow>(isWorkflow, { error: 'must be workflows made by defineWorkflow' }))
    .optional(),
  onObserverError: fn<ObserverErrorHandler>().optional(),
});

/** The runtime: runs workflows, owns the breakers every run shares, and observes every actor. */
export function createRuntime<const W extends readonly Workflow[] = readonly Workflow[]>(
  options: RuntimeOptions<W> = {},
): Runtime<W[number]> {
  const o = parseOptions(optionsSchema, options, 'createRuntime');
  const onError = o.onObserverError ?? reportOncePerSource();
  const reviews = createReviews({
    ...(o.onEscalation ? { onEscalation: o.onEscalation } : {}),
    ...(o.escalationRetry ? { notify: o.escalationRetry as NotifyPolicyOptions } : {}),
    ...(o.clock ? { clock: o.clock } : {}),
    onListenerError: (error) => onError(error, 'a reviews listener'),
  });
  const store = o.store;
  const now = () => o.clock?.now() ?? Date.now();
  const breakerSnapshots = new Map<string, unknown>();
  const registry = createBreakerRegistry({
    clock: o.clock,
    onError,
    snapshots: breakerSnapshots,
    ...(store
      ? {
          onBreakerChange: (key: string, breaker: Breaker) => {
            store
              .saveBreaker(key, breaker.persist(), now())
              .catch((error) => onError(error, `the store (breaker ${key})`));
          },
        }
      : {}),
  });
  const inspector = o.inspect ? startInspector(o.inspect, onError) : null;
  const consoleServer = o.console
    ? startConsole(o.console as ConsoleOption, { reviews, breakers: () => registry.breakers, now })
    : null;
  const exporters = o.tracing ? (o.tracer ? [otelExporter(o.tracer as OtelTracer)] : []) : null;
  const active = new Map<string, Run>();
  const machines = new WeakMap<Workflow, WorkflowMachine>();
  let stopped = false;

  /** The workflow's statechart with this runtime's breakers and review hook provided. */
  function machineFor(workflow: Workflow): WorkflowMachine {
    let machine = machines.get(workflow);
    if (!machine) {
      registry.prepare(workflow);
      const reviewActors = Object.fromEntries(
        [...workflow.reviewedAgents].map((agentId) => [
          `review:${agentId}`,
          reviews.logic({ validateEdit: schemaValidator(workflow.agents.get(agentId)!.output) }),
        ]),
      );
      machine = workflow.machine.provide({
        actors: reviewActors,
        actions: registry.actions(workflow) as never,
        guards: registry.guards as never,
      }) as WorkflowMachine;
      // `provide` makes a new machine: it gets the quick persisted snapshot again.
      persistsFrozenAsIs(machine);
      machines.set(workflow, machine);
    }
    return machine;
  }

  /** A run parented to a caller's span gets an exporter of its own that starts from that span. */
  const exportersFor = (parent: OtelContextLike | undefined) =>
    parent && exporters && o.tracer
      ? [otelExporter(o.tracer as OtelTracer, { context: () => parent })]
      : exporters;

  // What every run of this runtime shares; a run adds only its workflow's machine (and a caller's
  // trace, when parented), so starting a run makes no closures here.
  const shared = {
    clock: o.clock,
    inspectors: [
      ...(inspector ? [{ source: 'inspection observer "stately"', next: inspector.inspect }] : []),
      ...(o.observers ?? []).map((next, i) => ({ source: `inspection observer "observers[${i}]"`, next })),
    ],
    exporters,
    onObserverError: onError,
    onEnd: (id: string) => {
      active.delete(id);
      registry.release(id);
    },
    track: (ref: Parameters<Reviews['track']>[0]) => reviews.track(ref),
    onObserver: (id: string, observer: Parameters<typeof registry.observe>[1]) =>
      registry.observe(id, observer),
    ...(store ? { store, beforeCall: (runId: string) => store.flush(runId) } : {}),
  };
  const depsByWorkflow = new WeakMap<Workflow, RunDeps>();
  const deps = (workflow: Workflow, parent?: OtelContextLike): RunDeps => {
    if (parent) {
      return {
        ...shared,
        machine: machineFor(workflow),
        exporters: exportersFor(parent),
        ...(traceIdOf(parent) ? { traceId: traceIdOf(parent) } : {}),
      };
    }
    let made = depsByWorkflow.get(workflow);
    if (!made) {
      made = { ...shared, machine: machineFor(workflow) };
      depsByWorkflow.set(workflow, made);
    }
    return made;
  };

  return {
    reviews,
    inspector,
    console: consoleServer,
    async resume() {
      if (!store) return { runs: [], errors: [] };
      const stored = await store.loadBreakers();
      for (const [key, snapshot] of stored.breakers)
        if (!breakerSnapshots.has(key)) breakerSnapshots.set(key, snapshot);
      const { runs, errors } = await store.listUnfinished();
      const resumed: Run[] = [];
      const problems: Error[] = [...stored.errors, ...errors];
      const byId = new Map((o.workflows ?? []).map((w) => [w.id, w]));
      for (const run of runs) {
        const workflow = byId.get(run.meta.workflowId);
        if (!workflow) {
          problems.push(
            new Error(
              `resume: run ${run.meta.runId} is of workflow "${run.meta.workflowId}", which createRuntime({ workflows }) does not list`,
            ),
          );
          continue;
        }
        if (active.has(run.meta.runId)) continue;
        try {
          const handle = startRun(deps(workflow), workflow, run.meta.input, run.meta.runId, undefined, {
            snapshot: run.snapshot?.value ?? null,
            entries: run.entries,
          });
          if (handle.actor) active.set(handle.id, handle as Run);
          consoleServer?.track(handle as Run, workflow);
          resumed.push(handle);
        } catch (error) {
          problems.push(
            new Error(
              `resume: run ${run.meta.runId} could not be restored: ${error instanceof Error ? error.message : String(error)}`,
            ),
          );
        }
      }
      // Each run was started from the workflow with its id, so it is that workflow's run.
      return { runs: resumed as RunOf<W[number]>[], errors: problems };
    },
    async replay(runId) {
      if (!store) throw new Error('runtime.replay: this runtime has no store (createRuntime({ store }))');
      const stored = await store.load(runId);
      const workflow = (o.workflows ?? []).find((w) => w.id === stored.meta.workflowId);
      if (!workflow) {
        throw new Error(
          `runtime.replay: run ${runId} is of workflow "${stored.meta.workflowId}", which createRuntime({ workflows }) does not list`,
        );
      }
      return replayRun(workflow, stored);
    },
    start(workflow, input, startOptions = {}) {
      if (stopped) throw new Error('agentcharts: this runtime has been stopped');
      if (!isWorkflow(workflow)) {
        fail('runtime.start', 'workflow', workflow, 'must be a workflow made by defineWorkflow');
      }
      const runId = startOptions.runId ?? randomUrlId();
      // One rule with the stores: an id a store would refuse never starts an unpersisted run.
      if (!isSafeRunId(runId)) fail('runtime.start', 'runId', runId, RUN_ID_RULE);
      if (active.has(runId)) fail('runtime.start', 'runId', runId, 'is already running in this runtime');
      const parent = startOptions.parent;
      if (parent !== undefined && !isOtelContext(parent)) {
        fail('runtime.start', 'parent', parent, 'must be an OpenTelemetry Context (e.g. context.active())');
      }
      const run = startRun(deps(workflow, parent), workflow, input, runId, startOptions.signal);
      // An input that failed validation ends at once and is never active.
      if (run.actor) active.set(runId, run as Run);
      consoleServer?.track(run as Run, workflow as Workflow);
      return run;
    },
    runs: () => [...active.values()],
    breakers: () => registry.breakers,
    breaker: (key) => registry.breakers.get(key)?.state(),
    async stop() {
      stopped = true;
      const ending = [...active.values()];
      // With a store, unfinished runs stay unfinished there, to be resumed; without one, they end.
      for (const run of ending) {
        if (store) haltRun(run);
        else run.cancel('the runtime stopped');
      }
      await Promise.all(ending.map((run) => run.done));
      registry.stop();
      await store?.flush();
      // Let another process open the store (the file store's folder lock) once this one is done.
      await store?.release?.();
      await inspector?.stop();
      await consoleServer?.stop();
    },
  };
}
