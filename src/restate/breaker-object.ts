import * as restate from '@restatedev/restate-sdk';
import { createActor, SimulatedClock } from 'xstate';
import type { AgentResult } from '../../machines/agent-result.js';
import { breakerMachine, isGranted, rejectionOf } from '../../machines/breaker.js';
import type { BreakerConfig } from '../../machines/breaker-options.js';
import type { BreakerOpen, EdgeDecision } from '../../machines/edge-result.js';
import { applyGate } from '../../machines/gate.js';
import type { BreakerState } from '../breaker.js';
import { breakerStateOf, parseBreakerOptions } from '../breaker.js';
import { BREAKER_OBJECT } from './names.js';

/**
 * A breaker as a Restate virtual object keyed by the breaker key (e.g. `style-checker→writer`): one
 * per cluster, shared by every worker, its calls serialised by the server. Each call restores the
 * breaker statechart (machines/breaker.ts) from the stored snapshot on a simulated clock set to the
 * journaled time, applies one event and stores the snapshot again. The cooldown needs no timer: an
 * open breaker past its absolute `probeAt` turns halfOpen on the next request, as in-process.
 */

export interface Peek {
  value: string;
  epoch: number;
  /** Consecutive failures counted while closed. */
  failures: number;
}

export type Admission =
  | { allowed: true; epoch: number; probe: boolean }
  | { allowed: false; refusal: BreakerOpen };

interface Stored {
  snapshot: unknown;
  at: number;
}

function load(key: string, options: unknown, stored: Stored | null, at: number) {
  const config = gateOptionsOf(options, key);
  const clock = new SimulatedClock();
  clock.set(Math.max(at, stored?.at ?? 0));
  const actor = createActor(breakerMachine, {
    input: { key, options: config },
    clock,
    ...(stored ? { snapshot: stored.snapshot as never } : {}),
  });
  actor.start();
  return { actor, clock, config };
}

async function withBreaker<T>(
  ctx: restate.ObjectContext,
  options: unknown,
  apply: (b: ReturnType<typeof load>, at: number) => T,
): Promise<T> {
  const at = await ctx.date.now();
  const stored = await ctx.get<Stored>('breaker');
  const b = load(ctx.key, options, stored, at);
  const out = apply(b, at);
  ctx.set<Stored>('breaker', { snapshot: JSON.parse(JSON.stringify(b.actor.getPersistedSnapshot())), at });
  b.actor.stop();
  return out;
}

export const breakerObject = restate.object({
  name: BREAKER_OBJECT,
  handlers: {
    /** May the upstream agent be called? */
    acquire: async (
      ctx: restate.ObjectContext,
      req: { requestId: string; options: unknown },
    ): Promise<Admission> =>
      withBreaker(ctx, req.options, ({ actor }, at) => {
        actor.send({ type: 'request', requestId: req.requestId });
        const snap = actor.getSnapshot();
        if (isGranted(snap, req.requestId))
          return { allowed: true, epoch: snap.context.epoch, probe: snap.value === 'halfOpen' };
        const state = snap.value === 'open' ? 'open' : 'halfOpen';
        return { allowed: false, refusal: rejectionOf(snap.context, state, at) };
      }),
    /** The agent's result, counted by the breaker (runs send it one-way and gate the result themselves). */
    report: async (
      ctx: restate.ObjectContext,
      req: { requestId: string; epoch: number; result: AgentResult; options: unknown },
    ): Promise<EdgeDecision> =>
      withBreaker(ctx, req.options, ({ actor, config }) => {
        const decision = applyGate(req.result, config);
        actor.send({ type: 'outcome', requestId: req.requestId, epoch: req.epoch, result: req.result });
        return decision;
      }),
    /**
     * The breaker's value and epoch without taking the object's lock. A closed breaker grants every
     * request without changing state, so runs ask `acquire` (exclusive) only when it is not closed.
     */
    peek: restate.handlers.object.shared(async (ctx: restate.ObjectSharedContext): Promise<Peek | null> => {
      const stored = await ctx.get<Stored>('breaker');
      if (!stored) return null;
      const snap = stored.snapshot as { value: string; context: { epoch: number; failures: number } };
      return { value: snap.value, epoch: snap.context.epoch, failures: snap.context.failures };
    }),
    state: restate.handlers.object.shared(
      async (ctx: restate.ObjectSharedContext): Promise<BreakerState | null> => {
        const stored = await ctx.get<Stored>('breaker');
        if (!stored) return null;
        const b = load(ctx.key, {}, stored, stored.at);
        const state = breakerStateOf(b.actor.getSnapshot());
        b.actor.stop();
        return state;
      },
    ),
  },
});

export type BreakerObject = typeof breakerObject;

/**
 * A breaker's options without the in-process parts (clock, snapshot, inspect, listeners): what the
 * statechart takes, and the gate options (the gate is a pure function: runs apply it themselves).
 */
export function gateOptionsOf(options: unknown, key: string): BreakerConfig {
  const {
    clock: _c,
    snapshot: _s,
    inspect: _i,
    onListenerError: _l,
    ...config
  } = parseBreakerOptions(options, `breaker ${JSON.stringify(key)}`);
  return config as BreakerConfig;
}
