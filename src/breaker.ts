import { type Actor, createActor, type InspectionEvent, type Observer, type Snapshot } from 'xstate';
import { z } from 'zod';
import type { AgentResult } from '../machines/agent-result.js';
import {
  type BreakerEmitted,
  type BreakerMachine,
  type BreakerStateValue,
  breakerMachine,
  isGranted,
  rejectionOf,
} from '../machines/breaker.js';
import {
  type BreakerConfig,
  type BreakerOptions,
  breakerOptionsShape,
  checkCooldowns,
} from '../machines/breaker-options.js';
import { type Clock, now } from '../machines/clock.js';
import type { BreakerOpen, EdgeDecision, GateDecision } from '../machines/edge-result.js';
import { applyGate } from '../machines/gate.js';
import { describeError } from '../machines/untrusted.js';
import { clock, fail, parseOptions } from './options.js';

/** A persisted breaker snapshot: plain JSON (state, counts, absolute cooldown end). */
export type PersistedBreaker = Snapshot<unknown>;

export type BreakerListenerErrorHandler = (error: unknown, event: BreakerEmitted) => void;

export interface CreateBreakerOptions extends BreakerOptions {
  /** Drives the cooldown and is read for "now"; e.g. xstate's SimulatedClock in tests. Default: real time. */
  clock?: Clock;
  /** Resume from `persist()`: state, counts and the cooldown end are kept; these options replace the old ones. */
  snapshot?: PersistedBreaker;
  /** XState inspection observer (e.g. the runtime's tracer or the Stately inspector). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Called when a listener throws; the breaker carries on. Default: console.error. */
  onListenerError?: BreakerListenerErrorHandler;
}

const isFunction = (v: unknown): boolean => typeof v === 'function';
const isObject = (v: unknown): boolean => typeof v === 'object' && v !== null;
const handleShape = {
  ...breakerOptionsShape,
  clock: clock().optional(),
  snapshot: z
    .custom<PersistedBreaker>(isObject, { error: 'must be a snapshot from breaker.persist()' })
    .optional(),
  inspect: z
    .custom<CreateBreakerOptions['inspect']>((v) => isFunction(v) || isObject(v), {
      error: 'must be an inspection observer or function',
    })
    .optional(),
  onListenerError: z
    .custom<BreakerListenerErrorHandler>(isFunction, { error: 'must be a function' })
    .optional(),
};

const HandleOptionsSchema = z.strictObject(handleShape).superRefine(checkCooldowns);

/**
 * Validate breaker options at definition time (defaults applied). Throws OptionsError naming the
 * field and the value received, e.g. `createBreaker("a→b"): failureThreshold must be an integer ≥ 1, received 0`.
 */
export function parseBreakerOptions(options: unknown, where: string): BreakerConfig & CreateBreakerOptions {
  return parseOptions(HandleOptionsSchema, options ?? {}, where);
}

/** Permission for one call. Settle it exactly once; later settlements are ignored. */
export interface Permit {
  readonly requestId: string;
  /** The breaker epoch the permit was granted in; reports from an older epoch are ignored as stale. */
  readonly epoch: number;
  /** True when this call is the half-open breaker's single probe. */
  readonly probe: boolean;
  /** Pass the agent's result through the gate and report the verdict to the breaker. */
  record<T>(result: AgentResult<T>): GateDecision<T>;
  success(): void;
  failure(reason: string): void;
  /** Give the permit back without a verdict (the call was cancelled, or never made). */
  release(): void;
}

export type Acquisition = { allowed: true; permit: Permit } | { allowed: false; fallback: BreakerOpen };

export interface BreakerState {
  value: BreakerStateValue;
  failures: number;
  successes: number;
  opens: number;
  openedAt: number | null;
  probeAt: number | null;
  probeInFlight: boolean;
  lastFailure: string | null;
}

/** The plain state of a breaker statechart's snapshot (shared with the Restate breaker object). */
export function breakerStateOf(snapshot: {
  value: BreakerStateValue;
  context: {
    failures: number;
    successes: number;
    opens: number;
    openedAt: number | null;
    probeAt: number | null;
    probe: unknown;
    lastFailure: string | null;
  };
}): BreakerState {
  const { value, context } = snapshot;
  return {
    value,
    failures: context.failures,
    successes: context.successes,
    opens: context.opens,
    openedAt: context.openedAt,
    probeAt: context.probeAt,
    probeInFlight: context.probe !== null,
    lastFailure: context.lastFailure,
  };
}

type Listener<K extends BreakerEmitted['type']> = (event: Extract<BreakerEmitted, { type: K }>) => void;

export interface Breaker {
  readonly key: string;
  /** The resolved breaker and gate options. */
  readonly options: Readonly<BreakerConfig>;
  /** The running statechart, for inspection or a hand-written machine. */
  readonly actor: Actor<BreakerMachine>;
  /** Ask to call the upstream agent. Refused while open, and in halfOpen while the probe is out. */
  tryAcquire(): Acquisition;
  /** Acquire, call, gate, report. A throwing `fn` is reported as a failure and rethrown. */
  call<T>(fn: () => AgentResult<T> | Promise<AgentResult<T>>): Promise<EdgeDecision<T>>;
  state(): BreakerState;
  /** Subscribe to opened / halfOpened / closed / rejected. Returns the unsubscribe function. */
  on<K extends BreakerEmitted['type']>(type: K, listener: Listener<K>): () => void;
  /** A JSON copy of the snapshot to store; give it back as `createBreaker(key, { snapshot })`. */
  persist(): PersistedBreaker;
  stop(): void;
}

const reportListenerError: BreakerListenerErrorHandler = (error, event) => {
  console.error(
    `agentcharts: a listener for breaker "${'key' in event ? event.key : '?'}" ${event.type} threw`,
    error,
  );
};

/**
 * A long-lived breaker + quality gate for one edge (e.g. `researcher→writer`) or agent, shared by
 * every run that crosses it. Options are validated here, at definition time.
 */
export function createBreaker(key: string, options: CreateBreakerOptions = {}): Breaker {
  const where = `createBreaker(${JSON.stringify(key)})`;
  if (typeof key !== 'string' || key.length === 0)
    fail('createBreaker', 'key', key, 'must be a non-empty string');
  const { clock, snapshot, inspect, onListenerError, ...rest } = parseBreakerOptions(options, where);
  const config: BreakerConfig = Object.freeze(rest);
  const persistedKey = (snapshot as { context?: { key?: unknown } } | undefined)?.context?.key;
  if (snapshot && persistedKey !== key) {
    fail(
      where,
      'snapshot',
      persistedKey,
      `must be a snapshot of breaker ${JSON.stringify(key)} (its key differs)`,
    );
  }

  const actor = createActor(breakerMachine, {
    input: { key, options: config },
    ...(clock ? { clock } : {}),
    ...(snapshot ? { snapshot } : {}),
    ...(inspect ? { inspect } : {}),
  });
  actor.start();
  // Re-arms the cooldown from the absolute probeAt (XState does not restore pending timers).
  if (snapshot) actor.send({ type: 'restore', options: config });

  const onError = onListenerError ?? reportListenerError;
  let seq = 0;
  let stopped = false;

  const send = (event: Parameters<typeof actor.send>[0]) => {
    if (!stopped) actor.send(event);
  };

  const core: PermitCore = { actor, config, send };
  // A user's permit has its methods as own functions (`.then(permit.success)` works); the
  // runtime's holds no closures while its call is in flight (see `acquirePermit`).
  const makePermit = (requestId: string, epoch: number, probe: boolean): Permit =>
    new BreakerPermit(core, requestId, epoch, probe);
  const ownMethods = (p: Permit): Permit => ({
    requestId: p.requestId,
    epoch: p.epoch,
    probe: p.probe,
    record: (result) => p.record(result),
    success: () => p.success(),
    failure: (reason) => p.failure(reason),
    release: () => p.release(),
  });

  /** Ask the statechart; a granted request gets a permit. */
  const acquire = (): Acquisition => {
    if (stopped) throw new Error(`${where}: the breaker is stopped`);
    const requestId = String(++seq);
    // A closed breaker grants every request without a transition (its `request` changes nothing
    // there): the common path sends no event, and the statechart sees what can change it.
    const current = actor.getSnapshot();
    if (current.value === 'closed') {
      return { allowed: true, permit: makePermit(requestId, current.context.epoch, false) };
    }
    actor.send({ type: 'request', requestId });
    // The actor processes the event synchronously, so its snapshot already holds the answer.
    const snap = actor.getSnapshot();
    if (isGranted(snap, requestId)) {
      return {
        allowed: true,
        permit: makePermit(requestId, snap.context.epoch, snap.value === 'halfOpen'),
      };
    }
    const state = snap.value === 'open' ? 'open' : 'halfOpen';
    return { allowed: false, fallback: rejectionOf(snap.context, state, now(actor.system)) };
  };

  const breaker: Breaker = {
    key,
    options: config,
    actor,
    tryAcquire() {
      const acquired = acquire();
      return acquired.allowed ? { allowed: true, permit: ownMethods(acquired.permit) } : acquired;
    },
    async call<T>(fn: () => AgentResult<T> | Promise<AgentResult<T>>): Promise<EdgeDecision<T>> {
      const acquired = acquire();
      if (!acquired.allowed) return { passed: false, fallback: acquired.fallback };
      let result: AgentResult<T>;
      try {
        result = await fn();
      } catch (error) {
        acquired.permit.failure(`the call threw: ${describeError(error).message}`);
        throw error;
      }
      return acquired.permit.record(result);
    },
    state: () => breakerStateOf(actor.getSnapshot()),
    on(type, listener) {
      // One XState listener per subscription: nothing runs for event types nobody listens to.
      const subscription = actor.on(type, (event) => {
        try {
          (listener as (e: BreakerEmitted) => void)(event);
        } catch (error) {
          try {
            onError(error, event);
          } catch {
            // A throwing error handler must not break the breaker either.
          }
        }
      });
      return () => subscription.unsubscribe();
    },
    persist() {
      // A JSON copy: nothing shared with the live actor, and proof it can be stored.
      return JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
    },
    stop() {
      stopped = true;
      actor.stop();
    },
  };
  acquirers.set(breaker, acquire);
  return breaker;
}

const acquirers = new WeakMap<Breaker, () => Acquisition>();

/**
 * `tryAcquire` for the runtime, whose permits wait in a table while their calls run: the permit is
 * one small object with its methods on the prototype, not seven closures.
 */
export const acquirePermit = (breaker: Breaker): Acquisition =>
  (acquirers.get(breaker) ?? (() => breaker.tryAcquire()))();

/**
 * What the runtime's permit would decide on `result` if recorded now, without recording it: the
 * gate's decision with its breaker's options. Undefined for a permit made elsewhere.
 */
export const permitDecision = <T>(permit: Permit, result: AgentResult<T>): GateDecision<T> | undefined =>
  permit instanceof BreakerPermit ? permit.decide(result) : undefined;

interface PermitCore {
  actor: Actor<BreakerMachine>;
  config: BreakerConfig;
  send(event: Parameters<Actor<BreakerMachine>['send']>[0]): void;
}

/** A granted request: reports once (the first of record, success, failure or release counts). */
class BreakerPermit implements Permit {
  readonly #core: PermitCore;
  #settled = false;
  constructor(
    core: PermitCore,
    readonly requestId: string,
    readonly epoch: number,
    readonly probe: boolean,
  ) {
    this.#core = core;
  }

  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    return true;
  }

  /** What `record` decides on `result`, without reporting it. */
  decide<T>(result: AgentResult<T>): GateDecision<T> {
    return applyGate(result, this.#core.config);
  }

  record<T>(result: AgentResult<T>): GateDecision<T> {
    const { actor, config } = this.#core;
    const decision = applyGate(result, config);
    if (!this.#settle()) return decision;
    // A pass on a closed breaker that counts no failures changes nothing there: no event.
    const snap = actor.getSnapshot();
    const unchanged =
      decision.passed &&
      snap.value === 'closed' &&
      snap.context.epoch === this.epoch &&
      snap.context.failures === 0 &&
      result.status !== 'cancelled';
    if (!unchanged)
      this.#core.send({ type: 'outcome', requestId: this.requestId, epoch: this.epoch, result });
    return decision;
  }
  success(): void {
    if (this.#settle()) this.#core.send({ type: 'success', requestId: this.requestId, epoch: this.epoch });
  }
  failure(reason: string): void {
    if (this.#settle()) {
      this.#core.send({
        type: 'failure',
        requestId: this.requestId,
        epoch: this.epoch,
        reason: String(reason),
      });
    }
  }
  release(): void {
    if (this.#settle()) this.#core.send({ type: 'release', requestId: this.requestId, epoch: this.epoch });
  }
}
