import type { AnyActorRef } from 'xstate';
import type {
  AgentCall,
  AgentContext,
  AgentImplementation,
  AgentSpec,
  AttemptEvent,
  CheckedOutput,
  Verdict,
} from './agent-context.js';
import { keyOf } from './agent-context.js';
import type { AttemptMeta } from './attempt-meta.js';
import { splitAttemptMeta } from './attempt-meta.js';
import { beforeCallOf, hasBeforeCall } from './before-call.js';
import type { Clock } from './clock.js';
import { now } from './clock.js';
import { adoptUntrusted } from './thenable.js';
import { describeError, toPlainData } from './untrusted.js';

/**
 * One attempt of an agent call as an effect of the statechart, not an actor: entering `attempting`
 * calls the agent and arms the attempt's timer; the result comes back to the agent as an event
 * carrying the attempt number (`agent.output`, `agent.threw`, `agent.attemptTimer`), so a late
 * result of an earlier attempt changes nothing. Leaving `attempting` ends the attempt: the timer is
 * cleared and, unless the result came, the signal the agent got is aborted.
 *
 * A promise actor per attempt did the same for ~1.6x the cost of a whole call (an actor, its
 * mailbox, its inspection events, and its heap while a run waits). What it did for free is done here:
 * XState runs no exit actions when a parent stops the agent actor, so the agent's statechart ends
 * its attempt in its own transition function whenever the agent stops (`endsAttemptOnStop`).
 */

/**
 * The call, then the plain-data check and validation, all inside the attempt's time bound. Before
 * the call, the system's `beforeCall` wait (the store making earlier steps durable), which is not
 * charged to the attempt: `waited` is told when it is over.
 */
export type AttemptBody = (
  call: AgentCall,
  system?: object,
  /** Whether the attempt ended, without making its signal; default: `call.signal`. */
  ended?: { readonly aborted: boolean },
  waited?: () => void,
) => Promise<CheckedOutput>;

export function attemptBody(spec: AgentSpec, impl: AgentImplementation): AttemptBody {
  return async (call, system, ended, waited) => {
    const wait = system === undefined ? undefined : beforeCallOf(system);
    if (wait) {
      await wait();
      // Cancelled while it waited: the call is not made.
      if ((ended ?? call.signal).aborted) return { ok: false, reason: 'cancelled before the call' };
      waited?.();
    }
    // Never `await` what the agent returned: a self-resolving thenable would starve the timers.
    const adopted = await adoptUntrusted(impl.run(call));
    if (!adopted.ok) return adopted;
    const { output, meta } = splitAttemptMeta(adopted.value);
    const plain = toPlainData(output, spec.maxOutputBytes);
    if (!plain.ok) return { ...plain, meta };
    const verdict = validateSafely(impl, plain.value, meta);
    return {
      ok: true,
      value: plain.value,
      bytes: plain.bytes,
      verdict: verdict instanceof Promise ? await verdict : verdict,
      meta,
    };
  };
}

/** The verdict on a plain output; a validator that throws or rejects made it invalid. */
function validateSafely(
  impl: AgentImplementation,
  value: unknown,
  meta: AttemptMeta,
): Verdict | Promise<Verdict> {
  try {
    const verdict = impl.validate(value, meta);
    return verdict instanceof Promise ? verdict.catch(validationThrew) : verdict;
  } catch (error) {
    return validationThrew(error);
  }
}

// E.g. an async refinement that throws: the output did not validate.
function validationThrew(error: unknown): Verdict {
  const { name, message } = describeError(error);
  const reason = `validation threw ${name}: ${message}`;
  return { valid: false, reason, issues: [{ path: '(root)', message: reason }] };
}

/**
 * One attempt's abort state. Its AbortSignal (an EventTarget, ~0.8 KB) is made when the agent first
 * reads `signal`, already aborted if the attempt ended by then: an agent that never looks at it
 * does not pay for it.
 */
class AttemptAbort {
  private controller: AbortController | undefined = undefined;
  aborted = false;
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort();
    }
    return this.controller.signal;
  }
  abort(): void {
    this.aborted = true;
    this.controller?.abort();
  }
}

/**
 * What the agent's `run` gets. `signal` is an own, enumerable getter, so `{ ...args }` and
 * destructuring read it like a plain property. It is defined with one shared descriptor: a getter
 * written in an object literal (or a new closure per call) gives every call a dictionary-mode
 * object or a map of its own, about 0.5 KB per attempt in flight.
 */
class AttemptCall implements AgentCall {
  readonly #abort: AttemptAbort;
  declare readonly signal: AbortSignal;
  static readonly #signal: PropertyDescriptor = {
    get(this: AttemptCall) {
      return this.#abort.signal;
    },
    enumerable: true,
    configurable: true,
  };
  constructor(
    readonly input: unknown,
    readonly attempt: number,
    readonly idempotencyKey: string,
    readonly previous: AgentCall['previous'],
    abort: AttemptAbort,
  ) {
    this.#abort = abort;
    Object.defineProperty(this, 'signal', AttemptCall.#signal);
  }
}

/**
 * The attempt in flight of one agent actor: what ends it early. One per actor, made on its first
 * attempt.
 */
class AttemptSlot {
  /** Set while an attempt's result is awaited; null once it came or the attempt ended. */
  current: AttemptAbort | null = null;
  attempt = 0;
  timer: unknown = undefined;
  constructor(readonly clock: Clock) {}

  /** Ends the attempt in flight, if any: clears its timer and aborts its signal if no result came. */
  end(): void {
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    const current = this.current;
    if (current !== null) {
      this.current = null;
      current.abort();
    }
  }
}

const slots = new WeakMap<AnyActorRef, AttemptSlot>();

function slotOf(self: AnyActorRef, system: { _clock: unknown }): AttemptSlot {
  let slot = slots.get(self);
  if (slot === undefined) {
    slot = new AttemptSlot(system._clock as Clock);
    slots.set(self, slot);
  }
  return slot;
}

/** Starts attempt `context.attempt` of the actor: calls the agent and arms the attempt's timer. */
export function startAttempt(
  self: AnyActorRef,
  system: { _clock: unknown },
  context: AgentContext,
  body: AttemptBody,
): void {
  const slot = slotOf(self, system);
  slot.end();
  const attempt = context.attempt;
  const abort = new AttemptAbort();
  slot.current = abort;
  slot.attempt = attempt;
  // Absolute times, so a restored attempt keeps its bound; clipped to the deadline, so that one
  // timer covers both. Time spent waiting for the store before the call is not the agent's: the
  // bound moves by it (`boundMover`; a store that never answers still ends the attempt here).
  const deadline = context.deadlineAt !== null && context.attemptEndsAt > context.deadlineAt;
  slot.timer = slot.clock.setTimeout(
    () => {
      slot.timer = undefined;
      deliver(self, { type: 'agent.attemptTimer', attempt, deadline });
    },
    Math.max(0, (deadline ? context.deadlineAt! : context.attemptEndsAt) - now(system)),
  );
  const call = new AttemptCall(context.input, attempt, keyOf(context, attempt), context.previous, abort);
  // Made only when there is a wait: a closure here would widen every attempt's scope.
  const waited = hasBeforeCall(self.system) ? boundMover(self, system, slot, abort, context) : undefined;
  body(call, self.system, abort, waited).then(
    (output) => {
      if (slot.current !== abort) return; // the attempt ended first: a late result is ignored
      slot.current = null;
      deliver(self, { type: 'agent.output', attempt, output });
    },
    (error: unknown) => {
      if (slot.current !== abort) return;
      slot.current = null;
      deliver(self, { type: 'agent.threw', attempt, error });
    },
  );
}

/** What moves the attempt's bound by the time its call waited for the store, told when the wait ends. */
function boundMover(
  self: AnyActorRef,
  system: { _clock: unknown },
  slot: AttemptSlot,
  abort: AttemptAbort,
  context: AgentContext,
): () => void {
  const from = now(system);
  return () => {
    const waitedFor = now(system) - from;
    if (slot.current !== abort || slot.timer === undefined || waitedFor <= 0) return;
    slot.clock.clearTimeout(slot.timer);
    const end = context.attemptEndsAt + waitedFor;
    const deadline = context.deadlineAt !== null && end > context.deadlineAt;
    const attempt = context.attempt;
    // The same timer as `startAttempt` arms, written out there: a helper making the callback would
    // give every attempt's timer a scope of its own (~60 B per run in flight).
    slot.timer = slot.clock.setTimeout(
      () => {
        slot.timer = undefined;
        deliver(self, { type: 'agent.attemptTimer', attempt, deadline });
      },
      Math.max(0, (deadline ? context.deadlineAt! : end) - now(system)),
    );
  };
}

/** After a restore: calls the attempt in flight again (same key) unless it already runs here. */
export function resumeAttempt(
  self: AnyActorRef,
  system: { _clock: unknown },
  context: AgentContext,
  body: AttemptBody,
): void {
  const slot = slots.get(self);
  if (slot?.current && slot.attempt === context.attempt) return;
  startAttempt(self, system, context, body);
}

/** On leaving `attempting`: the attempt is over, whatever ended it. */
export function endAttempt(self: AnyActorRef): void {
  slots.get(self)?.end();
}

/**
 * Makes `logic` end an actor's attempt when the actor is stopped (by its parent, or the run's end)
 * or crashes. XState runs no exit actions then, but every stop, as every event, goes through the
 * logic's transition function. (Done needs nothing here: reaching a final state leaves
 * `attempting`, whose exit ends the attempt.) Watching the actor instead (an observer per agent)
 * cost ~0.2 KB per run in flight.
 */
export function endsAttemptOnStop<L extends { transition: (...args: never[]) => unknown }>(logic: L): void {
  const transition = logic.transition as unknown as (
    snapshot: unknown,
    event: unknown,
    scope: { self: AnyActorRef },
  ) => { status: string };
  (logic as { transition: unknown }).transition = function endingAttempt(
    this: unknown,
    snapshot: unknown,
    event: unknown,
    scope: { self: AnyActorRef },
  ) {
    let next: { status: string };
    try {
      next = transition.call(this, snapshot, event, scope);
    } catch (error) {
      endAttempt(scope.self);
      throw error;
    }
    if (next.status === 'stopped' || next.status === 'error') endAttempt(scope.self);
    return next;
  };
}

// Sending to a stopped actor logs a warning; a result after the end is simply dropped. An actor
// that stopped without its transition seeing it (an entry action of its first state threw) has its
// attempt ended here, when the attempt's timer or result comes.
function deliver(self: AnyActorRef, event: AttemptEvent): void {
  if (self.getSnapshot().status === 'active') self.send(event);
  else endAttempt(self);
}
