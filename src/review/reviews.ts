import {
  type Actor,
  type AnyActorRef,
  createActor,
  fromPromise,
  type InspectionEvent,
  type Observer,
  type Snapshot,
} from 'xstate';
import { z } from 'zod';
import type { Clock } from '../../machines/clock.js';
import {
  createEscalationMachine,
  type EditValidator,
  type EscalationMachine,
} from '../../machines/escalation.js';
import type {
  EscalationEvent,
  EscalationNotice,
  EscalationOutcome,
} from '../../machines/escalation-context.js';
import {
  type EscalationInput,
  type NotifyPolicy,
  type NotifyPolicyOptions,
  NotifyPolicySchema,
} from '../../machines/escalation-options.js';
import { formatValue } from '../errors.js';
import { clock, fn, integer, parseOptions } from '../options.js';
import {
  alreadyDecided,
  isReviewError,
  type ReviewError,
  refused,
  unknownReview,
  unreadableDecision,
} from './errors.js';
import { type EscalationHook, jsonLineHook, type LineWriter } from './hook.js';
import type { ReviewId } from './id.js';
import {
  type ClosedReview,
  closedRecord,
  frozenCopy,
  isEscalationSnapshot,
  isStale,
  type PendingReview,
  pendingRecord,
  type ReviewRecord,
} from './records.js';

export interface DecisionOptions {
  /** Who decides: a user name or id. Recorded in the state log. */
  by: string;
  /** When the human decided (ms on the runtime's clock); default: when the decision is taken. */
  at?: number;
}

export type ReviewsEvent =
  | { type: 'pending'; review: PendingReview }
  | { type: 'decided'; review: ClosedReview };

type Listener<K extends ReviewsEvent['type']> = (event: Extract<ReviewsEvent, { type: K }>) => void;

export interface CreateReviewsOptions {
  /** Called when a review opens; retried on failure, each call bounded. Default: one JSON line via `write`. */
  onEscalation?: EscalationHook;
  /** Where the default hook writes its line. Default: console.warn. */
  write?: LineWriter;
  /** How the hook is called: `{ maxAttempts: 3, attemptTimeoutMs: 10_000, initialDelayMs: 1_000, factor: 2, maxDelayMs: 30_000 }`. */
  notify?: NotifyPolicyOptions;
  /** For reviews opened with `open()`; e.g. xstate's SimulatedClock in tests. Default: real time. */
  clock?: Clock;
  /** How many closed reviews `get(id)` remembers (so a late decision is `alreadyDecided`). Default 1000. */
  remember?: number;
  /** Called when a listener throws; the registry carries on. Default: console.error. */
  onListenerError?: (error: unknown, event: ReviewsEvent) => void;
}

export interface OpenOptions {
  validateEdit?: EditValidator;
  /** Resume a persisted escalation (`actor.getPersistedSnapshot()`); its timers are re-armed. */
  snapshot?: Snapshot<unknown>;
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

export interface OpenedReview {
  readonly reviewId: string;
  readonly actor: Actor<EscalationMachine>;
  /** Settles with the outcome; rejects (unknownReview) if the actor is stopped first. */
  readonly done: Promise<EscalationOutcome>;
}

export interface Reviews {
  /** The reviews waiting for a human, oldest first. */
  list(): readonly PendingReview[];
  /** A pending review, or a recently closed one with its outcome. */
  get(id: string): ReviewRecord | undefined;
  /** Accept the output as it is. */
  approve(id: string, options: DecisionOptions): Promise<EscalationOutcome>;
  /** Replace the output; it must pass the step's validator, or the review stays pending (`invalidEdit`). */
  edit<O = unknown>(
    id: string | ReviewId<O>,
    output: NoInfer<O>,
    options: DecisionOptions,
  ): Promise<EscalationOutcome>;
  reject(id: string, reason: string, options: DecisionOptions): Promise<EscalationOutcome>;
  /** Register a running escalation actor (e.g. a run's invoked child). Returns the untrack function. */
  track(ref: AnyActorRef): () => void;
  untrack(idOrRef: string | AnyActorRef): void;
  on<K extends ReviewsEvent['type']>(type: K, listener: Listener<K>): () => void;
  /** The escalation statechart with this registry's hook as `notify`: invoke it from a step. */
  logic(options?: { validateEdit?: EditValidator }): EscalationMachine;
  /** Open a review outside a workflow: create, start and track an escalation actor. */
  open(input: EscalationInput, options?: OpenOptions): OpenedReview;
  /** The resolved hook policy; pass it as the escalation input's `notify`. */
  readonly notifyPolicy: Readonly<NotifyPolicy>;
}

const OptionsSchema = z.strictObject({
  onEscalation: fn<EscalationHook>().optional(),
  write: fn<LineWriter>().optional(),
  notify: NotifyPolicySchema.default(NotifyPolicySchema.parse({})),
  clock: clock().optional(),
  remember: integer(0, 1_000_000).default(1_000),
  onListenerError: fn<(error: unknown, event: ReviewsEvent) => void>().optional(),
});

interface Entry {
  ref: AnyActorRef;
  record: PendingReview;
  unsubscribe: () => void;
}

const reportListenerError = (error: unknown, event: ReviewsEvent) => {
  console.error(
    `agentcharts: a reviews listener for "${event.type}" (${event.review.reviewId}) threw`,
    error,
  );
};

/**
 * The human review API (`runtime.reviews`): lists pending reviews and takes decisions on them.
 * Each review is an escalation actor; a decision is an event to it, and the actor takes one event at
 * a time, so of concurrent decisions on one review exactly one wins and the others get
 * `alreadyDecided`. Options are validated here, at definition time.
 */
export function createReviews(options: CreateReviewsOptions = {}): Reviews {
  const o = parseOptions(OptionsSchema, options ?? {}, 'createReviews');
  const notifyPolicy: NotifyPolicy = Object.freeze({ ...o.notify });
  const hook = o.onEscalation ?? jsonLineHook(o.write);
  const onListenerError = o.onListenerError ?? reportListenerError;

  const notify = fromPromise<void, EscalationNotice>(async ({ input, signal }) => {
    await hook(input, { signal });
  });
  // Reviews opened by a workflow step take the registry's retry policy (the runtime's escalationRetry).
  const defaultLogic = createEscalationMachine({ notify: notifyPolicy }).provide({ actors: { notify } });
  const logics = new WeakMap<EditValidator, EscalationMachine>();

  const active = new Map<string, Entry>();
  const closed = new Map<string, ClosedReview>();
  type AnyListener = (event: ReviewsEvent) => void;
  const listeners = { pending: new Set<AnyListener>(), decided: new Set<AnyListener>() };
  let seq = 0;

  function publish(event: ReviewsEvent): void {
    for (const listener of listeners[event.type]) {
      try {
        listener(event);
      } catch (error) {
        try {
          onListenerError(error, event);
        } catch {
          // A throwing error handler must not break the registry either.
        }
      }
    }
  }

  function close(id: string, review: ClosedReview): void {
    closed.delete(id);
    closed.set(id, review);
    while (closed.size > o.remember) closed.delete(closed.keys().next().value as string);
    publish({ type: 'decided', review });
  }

  function forget(id: string, ref: AnyActorRef): void {
    const entry = active.get(id);
    if (!entry || entry.ref !== ref) return;
    active.delete(id);
    entry.unsubscribe();
  }

  function track(ref: AnyActorRef): () => void {
    const snap = ref?.getSnapshot?.();
    if (!isEscalationSnapshot(snap)) {
      throw new TypeError(
        `reviews.track: expected an escalation actor, received ${formatValue(snap ?? ref)}`,
      );
    }
    const id = snap.context.reviewId;
    const existing = active.get(id);
    if (existing) {
      if (existing.ref === ref) return () => forget(id, ref);
      throw new Error(`reviews.track: review "${id}" is already tracked by another actor`);
    }
    if (snap.status === 'done') {
      if (!closed.has(id)) close(id, closedRecord(snap));
      return () => {};
    }
    if (snap.status !== 'active') return () => {};

    const entry: Entry = { ref, record: pendingRecord(snap), unsubscribe: () => {} };
    active.set(id, entry);
    const subscription = ref.subscribe({
      next: (next: unknown) => {
        if (active.get(id) !== entry || !isEscalationSnapshot(next)) return;
        if (next.status === 'done') {
          active.delete(id);
          subscription?.unsubscribe();
          close(id, closedRecord(next, entry.record));
          return;
        }
        if (isStale(entry.record, next)) entry.record = pendingRecord(next, entry.record);
      },
      // Stopped (its run was cancelled) or failed before a decision: nothing left to decide.
      complete: () => forget(id, ref),
      error: () => forget(id, ref),
    });
    entry.unsubscribe = () => subscription.unsubscribe();
    publish({ type: 'pending', review: entry.record });
    return () => forget(id, ref);
  }

  /** The answer to our request in this snapshot, or null when it has not been processed yet. */
  function answer(
    id: string,
    snap: unknown,
    requestId: string,
  ): { ok: true; outcome: EscalationOutcome } | { ok: false; error: ReviewError } | null {
    if (!isEscalationSnapshot(snap)) return null;
    if (snap.status === 'done') {
      if (snap.context.decided?.requestId === requestId)
        return { ok: true, outcome: frozenCopy(snap.output!) };
      const review = closed.get(id);
      return { ok: false, error: review ? alreadyDecided(id, review.outcome) : unknownReview(id) };
    }
    const refusal = snap.context.refusals.find((r) => r.requestId === requestId);
    return refusal ? { ok: false, error: refused(id, refusal) } : null;
  }

  function decide(id: string, event: EscalationEvent & { requestId?: string }): Promise<EscalationOutcome> {
    const entry = typeof id === 'string' ? active.get(id) : undefined;
    if (!entry) {
      const review = typeof id === 'string' ? closed.get(id) : undefined;
      return Promise.reject(review ? alreadyDecided(id, review.outcome) : unknownReview(id));
    }
    const requestId = `${id}#${++seq}`;
    const { ref } = entry;
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (snap: unknown): boolean => {
        if (settled) return true;
        const result = answer(id, snap, requestId);
        if (!result) return false;
        settled = true;
        subscription.unsubscribe();
        if (result.ok) resolve(result.outcome);
        else reject(result.error);
        return true;
      };
      // Every processed event yields a snapshot: usually at once, within `send`; when the send lands
      // mid-transition (e.g. from the hook itself), with a later one.
      const subscription = ref.subscribe({
        next: settle,
        complete: () => {
          if (!settle(ref.getSnapshot())) {
            settled = true;
            reject(unknownReview(id));
          }
        },
        error: () => {
          if (!settled) {
            settled = true;
            reject(unknownReview(id));
          }
        },
      });
      ref.send({ ...event, requestId });
    });
  }

  const decision = (options: DecisionOptions | undefined) => ({
    by: (options as { by?: unknown } | undefined)?.by as string,
    ...(options?.at === undefined ? {} : { at: options.at }),
  });

  /** A decision always answers with a promise: arguments that throw when read reject it. */
  function guarded(id: string, take: () => Promise<EscalationOutcome>): Promise<EscalationOutcome> {
    try {
      return take();
    } catch (error) {
      return Promise.reject(isReviewError(error) ? error : unreadableDecision(id, error));
    }
  }

  function logic(opts: { validateEdit?: EditValidator } = {}): EscalationMachine {
    const validateEdit = opts.validateEdit;
    if (!validateEdit) return defaultLogic;
    let machine = logics.get(validateEdit);
    if (!machine) {
      machine = createEscalationMachine({ validateEdit, notify: notifyPolicy }).provide({
        actors: { notify },
      });
      logics.set(validateEdit, machine);
    }
    return machine;
  }

  const reviews: Reviews = {
    notifyPolicy,
    list() {
      return Object.freeze([...active.values()].map((e) => e.record).sort((a, b) => a.openedAt - b.openedAt));
    },
    get(id) {
      return active.get(id)?.record ?? closed.get(id);
    },
    approve: (id, opts) => guarded(id, () => decide(id, { type: 'review.approve', ...decision(opts) })),
    edit: (id, output, opts) =>
      guarded(id, () => decide(id, { type: 'review.edit', output, ...decision(opts) })),
    reject: (id, reason, opts) =>
      guarded(id, () => decide(id, { type: 'review.reject', reason, ...decision(opts) })),
    track,
    untrack(idOrRef) {
      if (typeof idOrRef === 'string') {
        const entry = active.get(idOrRef);
        if (entry) forget(idOrRef, entry.ref);
        return;
      }
      for (const [id, entry] of active) if (entry.ref === idOrRef) forget(id, idOrRef);
    },
    on(type, listener) {
      const set = listeners[type];
      // Wrapped, so the same function subscribed twice is two subscriptions.
      const wrapped: AnyListener = (event) => (listener as AnyListener)(event);
      set.add(wrapped);
      return () => {
        set.delete(wrapped);
      };
    },
    logic,
    open(input, opts = {}) {
      const actor = createActor(logic(opts), {
        input: { ...input, notify: input.notify ?? notifyPolicy },
        ...(o.clock ? { clock: o.clock } : {}),
        ...(opts.snapshot ? { snapshot: opts.snapshot } : {}),
        ...(opts.inspect ? { inspect: opts.inspect } : {}),
      });
      const first = actor.getSnapshot();
      // A bad input fails in the context factory; say so here rather than as a silent errored actor.
      if (first.status === 'error') throw first.error;
      const id = first.context.reviewId;
      const done = new Promise<EscalationOutcome>((resolve, reject) => {
        actor.subscribe({
          complete: () => {
            const snap = actor.getSnapshot();
            if (snap.status === 'done') resolve(frozenCopy(snap.output));
            else reject(unknownReview(id));
          },
          error: reject,
        });
      });
      done.catch(() => {}); // nobody has to await `done`
      track(actor);
      actor.start();
      // Re-arms the review timer from the absolute expiresAt (XState does not restore timers).
      if (opts.snapshot) actor.send({ type: 'restore' });
      return { reviewId: id, actor, done };
    },
  };
  return reviews;
}
