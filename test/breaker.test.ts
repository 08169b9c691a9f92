import { describe, expect, it, vi } from 'vitest';
import { createActor, createMachine, SimulatedClock } from 'xstate';
import { type BreakerEmitted, breakerMachine } from '../machines/breaker.js';
import { cooldownFor } from '../machines/breaker-options.js';
import { MAX_TIMER_MS } from '../machines/clock.js';
import { BREAKER_OPEN_CONTENT } from '../machines/edge-result.js';
import { type Breaker, type CreateBreakerOptions, createBreaker, type Permit } from '../src/breaker.js';
import { isOptionsError } from '../src/errors.js';
import { fallback, success } from './helpers/results.js';

const KEY = 'researcher→writer';

function setup(options: CreateBreakerOptions = {}) {
  const clock = new SimulatedClock();
  const breaker = createBreaker(KEY, { clock, ...options });
  const events: BreakerEmitted[] = [];
  for (const type of ['opened', 'halfOpened', 'closed', 'rejected'] as const) {
    breaker.on(type, (e) => events.push(e));
  }
  return { clock, breaker, events };
}

function acquire(breaker: Breaker): Permit {
  const a = breaker.tryAcquire();
  if (!a.allowed) throw new Error(`expected a permit, got: ${a.fallback.reason}`);
  return a.permit;
}

const fail = (breaker: Breaker, n = 1) => {
  for (let i = 0; i < n; i++) acquire(breaker).failure('boom');
};

describe('closed', () => {
  it('opens after failureThreshold consecutive failures (default 3)', () => {
    const { breaker, events } = setup();
    fail(breaker, 2);
    expect(breaker.state()).toMatchObject({ value: 'closed', failures: 2 });
    fail(breaker);
    expect(breaker.state()).toMatchObject({
      value: 'open',
      failures: 3,
      opens: 1,
      openedAt: 0,
      probeAt: 30_000,
    });
    expect(events).toEqual([
      {
        type: 'opened',
        key: KEY,
        at: 0,
        probeAt: 30_000,
        cooldownMs: 30_000,
        failures: 3,
        opens: 1,
        reason: 'boom',
      },
    ]);
  });

  it('a success resets the consecutive count', () => {
    const { breaker } = setup();
    fail(breaker, 2);
    acquire(breaker).success();
    fail(breaker, 2);
    expect(breaker.state()).toMatchObject({ value: 'closed', failures: 2 });
  });

  it('counts a LOW output and an agent fallback as failures, and gates them', () => {
    const { breaker } = setup();
    const low = acquire(breaker).record(success(0.5));
    expect(low.passed).toBe(false);
    expect(!low.passed && low.fallback.content).toBe('[Low confidence — human review required]');
    acquire(breaker).record(fallback('timedOut'));
    expect(breaker.state().failures).toBe(2);
    const ok = acquire(breaker).record(success(0.9));
    expect(ok.passed).toBe(true);
    expect(breaker.state().failures).toBe(0);
  });

  it('treats a cancelled agent result as neutral', () => {
    const { breaker } = setup({ failureThreshold: 1 });
    const decision = acquire(breaker).record(fallback('cancelled'));
    expect(decision.passed).toBe(false);
    expect(breaker.state()).toMatchObject({ value: 'closed', failures: 0 });
  });

  it('counts a permit once, however often it is settled', () => {
    const { breaker } = setup();
    const permit = acquire(breaker);
    permit.failure('a');
    permit.failure('b');
    permit.record(success(0.1));
    expect(breaker.state().failures).toBe(1);
  });

  it('honours minQuality HIGH', () => {
    const { breaker } = setup({ minQuality: 'HIGH', failureThreshold: 1 });
    acquire(breaker).record(success(0.8));
    expect(breaker.state().value).toBe('open');
  });
});

describe('open', () => {
  it('fails fast with a typed breakerOpen result and never calls the agent', async () => {
    const { clock, breaker, events } = setup();
    clock.set(1_000);
    fail(breaker, 3);
    clock.increment(500);
    const agent = vi.fn(async () => success(0.9));
    const decision = await breaker.call(agent);
    expect(agent).not.toHaveBeenCalled();
    expect(decision).toEqual({
      passed: false,
      fallback: {
        status: 'breakerOpen',
        fallback: true,
        breaker: KEY,
        content: BREAKER_OPEN_CONTENT,
        confidence: 0,
        quality: 'LOW',
        state: 'open',
        at: 1_500,
        probeAt: 31_000,
        reason: `breaker "${KEY}" is open after 3 consecutive failure(s) (last: boom); next probe at 31000`,
      },
    });
    expect(events.at(-1)).toEqual({
      type: 'rejected',
      key: KEY,
      at: 1_500,
      requestId: '4',
      state: 'open',
      probeAt: 31_000,
      reason: expect.stringContaining('is open'),
    });
  });

  it('ignores late outcomes from calls granted before it opened', () => {
    const { breaker } = setup();
    const late = [acquire(breaker), acquire(breaker)];
    fail(breaker, 3);
    late[0]!.success();
    late[1]!.failure('late');
    expect(breaker.state()).toMatchObject({ value: 'open', failures: 3 });
  });

  it('still ignores them after it has closed again (they are from an older epoch)', () => {
    const { clock, breaker } = setup({ failureThreshold: 1, cooldownMs: 1_000 });
    const late = acquire(breaker);
    fail(breaker);
    clock.increment(1_000);
    acquire(breaker).success();
    expect(breaker.state().value).toBe('closed');
    late.failure('from before');
    expect(breaker.state()).toMatchObject({ value: 'closed', failures: 0 });
  });

  it('stays open until probeAt - 1 and is halfOpen at probeAt (the cooldown boundary)', () => {
    const { clock, breaker, events } = setup({ cooldownMs: 10_000 });
    clock.set(5_000);
    fail(breaker, 3);
    clock.set(14_999);
    expect(breaker.state().value).toBe('open');
    expect(breaker.tryAcquire().allowed).toBe(false);
    clock.set(15_000);
    expect(breaker.state().value).toBe('halfOpen');
    expect(events.filter((e) => e.type === 'halfOpened')).toEqual([
      { type: 'halfOpened', key: KEY, at: 15_000 },
    ]);
  });

  it('a cooldown of 0 goes halfOpen as soon as the clock moves', () => {
    const { clock, breaker } = setup({ cooldownMs: 0 });
    fail(breaker, 3);
    clock.increment(0);
    expect(breaker.state().value).toBe('halfOpen');
  });
});

describe('halfOpen', () => {
  function halfOpen(options: CreateBreakerOptions = {}) {
    const s = setup({ cooldownMs: 1_000, ...options });
    fail(s.breaker, s.breaker.options.failureThreshold);
    s.clock.increment(1_000);
    expect(s.breaker.state().value).toBe('halfOpen');
    return s;
  }

  it('lets exactly one probe through; others fail fast while it is in flight', () => {
    const { breaker, events } = halfOpen();
    const probe = breaker.tryAcquire();
    expect(probe.allowed && probe.permit.probe).toBe(true);
    const second = breaker.tryAcquire();
    expect(second.allowed).toBe(false);
    expect(!second.allowed && second.fallback).toMatchObject({
      status: 'breakerOpen',
      state: 'halfOpen',
      probeAt: null,
      reason: `breaker "${KEY}" is half-open and its one probe is in flight`,
    });
    expect(events.at(-1)).toMatchObject({ type: 'rejected', state: 'halfOpen', probeAt: null });
    expect(breaker.state().probeInFlight).toBe(true);
  });

  it('closes after one probe success (default M = 1) and resets the counts', () => {
    const { breaker, events } = halfOpen();
    acquire(breaker).record(success(0.9));
    expect(breaker.state()).toEqual({
      value: 'closed',
      failures: 0,
      successes: 0,
      opens: 0,
      openedAt: null,
      probeAt: null,
      probeInFlight: false,
      lastFailure: 'boom',
    });
    expect(events.at(-1)).toEqual({ type: 'closed', key: KEY, at: 1_000 });
    fail(breaker, 2);
    expect(breaker.state().value).toBe('closed');
  });

  it('re-opens on a failed probe, with a fresh cooldown from now', () => {
    const { clock, breaker, events } = halfOpen();
    clock.increment(250);
    acquire(breaker).record(success(0.2));
    expect(breaker.state()).toMatchObject({ value: 'open', opens: 2, openedAt: 1_250, probeAt: 2_250 });
    expect(events.at(-1)).toMatchObject({ type: 'opened', opens: 2, reason: expect.stringContaining('LOW') });
  });

  it('needs M probe successes, one probe at a time, when successThreshold = M', () => {
    const { breaker } = halfOpen({ successThreshold: 2 });
    const first = acquire(breaker);
    expect(breaker.tryAcquire().allowed).toBe(false);
    first.success();
    expect(breaker.state()).toMatchObject({ value: 'halfOpen', successes: 1, probeInFlight: false });
    acquire(breaker).success();
    expect(breaker.state().value).toBe('closed');
  });

  it('a failure after some probe successes re-opens it', () => {
    const { breaker } = halfOpen({ successThreshold: 3 });
    acquire(breaker).success();
    acquire(breaker).failure('flaky');
    expect(breaker.state()).toMatchObject({ value: 'open', successes: 0, lastFailure: 'flaky' });
  });

  it('ignores outcomes from permits other than the probe', () => {
    const { clock, breaker } = setup({ cooldownMs: 1_000 });
    const stale = acquire(breaker); // granted while closed
    fail(breaker, 3);
    clock.increment(1_000);
    const probe = acquire(breaker);
    stale.failure('old');
    expect(breaker.state()).toMatchObject({ value: 'halfOpen', probeInFlight: true });
    probe.success();
    expect(breaker.state().value).toBe('closed');
  });

  it('a released probe (or a cancelled result) frees the slot without a verdict', () => {
    const { breaker } = halfOpen();
    acquire(breaker).release();
    expect(breaker.state()).toMatchObject({ value: 'halfOpen', probeInFlight: false, successes: 0 });
    acquire(breaker).record(fallback('cancelled'));
    expect(breaker.state()).toMatchObject({ value: 'halfOpen', probeInFlight: false });
    expect(breaker.tryAcquire().allowed).toBe(true);
  });

  it('a throwing call counts as a failed probe and is rethrown', async () => {
    const { breaker } = halfOpen();
    await expect(
      breaker.call(() => {
        throw new Error('network down');
      }),
    ).rejects.toThrow('network down');
    expect(breaker.state()).toMatchObject({ value: 'open', lastFailure: 'the call threw: network down' });
  });
});

describe('cooldown growth', () => {
  it('multiplies the cooldown on each re-open, up to the cap, and resets on close', () => {
    const { clock, breaker } = setup({ cooldownMs: 1_000, cooldownGrowth: 2, maxCooldownMs: 3_000 });
    fail(breaker, 3);
    const cooldowns: number[] = [];
    for (let i = 0; i < 4; i++) {
      const { openedAt, probeAt } = breaker.state();
      cooldowns.push(probeAt! - openedAt!);
      clock.set(probeAt!);
      acquire(breaker).failure('still down');
    }
    expect(cooldowns).toEqual([1_000, 2_000, 3_000, 3_000]);
    clock.set(breaker.state().probeAt!);
    acquire(breaker).success();
    fail(breaker, 3);
    const { openedAt, probeAt } = breaker.state();
    expect(probeAt! - openedAt!).toBe(1_000);
  });

  it('cooldownFor stays finite when growth overflows', () => {
    const config = {
      failureThreshold: 3,
      successThreshold: 1,
      cooldownMs: 1_000,
      cooldownGrowth: 10,
      maxCooldownMs: 60_000,
      minQuality: 'MEDIUM' as const,
    };
    expect(cooldownFor(config, 5_000)).toBe(60_000);
  });
});

describe('persist and restore', () => {
  it('keeps state, counts and the absolute cooldown end across a restart', () => {
    const { clock, breaker } = setup({ cooldownMs: 10_000 });
    clock.set(100);
    fail(breaker, 3);
    clock.set(4_000);
    const saved = breaker.persist();
    breaker.stop();

    const clock2 = new SimulatedClock();
    clock2.set(4_000);
    const restored = createBreaker(KEY, { clock: clock2, cooldownMs: 10_000, snapshot: saved });
    expect(restored.state()).toMatchObject({
      value: 'open',
      failures: 3,
      opens: 1,
      openedAt: 100,
      probeAt: 10_100,
    });
    clock2.set(10_099);
    expect(restored.state().value).toBe('open');
    clock2.set(10_100);
    expect(restored.state().value).toBe('halfOpen');
  });

  it('goes halfOpen at once when restored after probeAt', () => {
    const { breaker } = setup({ cooldownMs: 1_000 });
    fail(breaker, 3);
    const clock2 = new SimulatedClock();
    clock2.set(50_000);
    const restored = createBreaker(KEY, { clock: clock2, cooldownMs: 1_000, snapshot: breaker.persist() });
    expect(restored.state().value).toBe('halfOpen');
  });

  it('keeps the closed failure count', () => {
    const { breaker } = setup();
    fail(breaker, 2);
    const restored = createBreaker(KEY, { clock: new SimulatedClock(), snapshot: breaker.persist() });
    expect(restored.state().failures).toBe(2);
    fail(restored);
    expect(restored.state().value).toBe('open');
  });

  it('applies the options given at restore, not the persisted ones', () => {
    const { breaker } = setup();
    fail(breaker, 2);
    const restored = createBreaker(KEY, { failureThreshold: 5, snapshot: breaker.persist() });
    fail(restored, 2);
    expect(restored.state()).toMatchObject({ value: 'closed', failures: 4 });
    expect(restored.options.failureThreshold).toBe(5);
  });

  it('frees a half-open probe held by the previous process', () => {
    const { clock, breaker } = setup({ cooldownMs: 1_000 });
    fail(breaker, 3);
    clock.increment(1_000);
    acquire(breaker); // the probe, never settled: its process "died"
    const restored = createBreaker(KEY, { clock: new SimulatedClock(), snapshot: breaker.persist() });
    expect(restored.state()).toMatchObject({ value: 'halfOpen', probeInFlight: false });
    expect(restored.tryAcquire().allowed).toBe(true);
  });

  it('the raw machine: a restored actor has no timer until `restore`, and a request still probes on time', () => {
    const clock = new SimulatedClock();
    const actor = createActor(breakerMachine, {
      clock,
      input: { key: KEY, options: { cooldownMs: 1_000 } },
    }).start();
    for (const requestId of ['1', '2', '3']) {
      actor.send({ type: 'request', requestId });
      actor.send({ type: 'failure', requestId, epoch: 0, reason: 'x' });
    }
    const saved = actor.getPersistedSnapshot();
    actor.stop();

    const clock2 = new SimulatedClock();
    const restored = createActor(breakerMachine, {
      clock: clock2,
      snapshot: saved,
      input: { key: KEY },
    }).start();
    clock2.set(5_000);
    // XState did not restore the pending `after` timer…
    expect(restored.getSnapshot().value).toBe('open');
    // …but a request past probeAt is admitted as the probe, not refused.
    restored.send({ type: 'request', requestId: 'p' });
    expect(restored.getSnapshot()).toMatchObject({ value: 'halfOpen', context: { probe: 'p' } });

    const clock3 = new SimulatedClock();
    const rearmed = createActor(breakerMachine, {
      clock: clock3,
      snapshot: saved,
      input: { key: KEY },
    }).start();
    rearmed.send({ type: 'restore' });
    clock3.set(999);
    expect(rearmed.getSnapshot().value).toBe('open');
    clock3.set(1_000);
    expect(rearmed.getSnapshot().value).toBe('halfOpen');
  });

  it('refuses a snapshot of another breaker', () => {
    const { breaker } = setup();
    expect(() => createBreaker('other', { snapshot: breaker.persist() })).toThrow(
      `createBreaker("other"): snapshot must be a snapshot of breaker "other" (its key differs), received "${KEY}"`,
    );
  });

  it('persists plain JSON', () => {
    const { breaker } = setup();
    fail(breaker, 3);
    const saved = breaker.persist();
    expect(JSON.parse(JSON.stringify(saved))).toEqual(saved);
  });
});

describe('listeners', () => {
  it('a throwing listener never breaks the breaker; the error goes to onListenerError', () => {
    const errors: unknown[] = [];
    const { breaker } = setup({ onListenerError: (error, event) => errors.push([error, event.type]) });
    breaker.on('opened', () => {
      throw new Error('listener bug');
    });
    const after = vi.fn();
    breaker.on('opened', after);
    fail(breaker, 3);
    expect(breaker.state().value).toBe('open');
    expect(after).toHaveBeenCalledTimes(1);
    expect(errors).toEqual([[new Error('listener bug'), 'opened']]);
  });

  it('reports to console.error by default, and survives a throwing error handler', () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const a = setup().breaker;
      a.on('opened', () => {
        throw new Error('x');
      });
      fail(a, 3);
      expect(spy).toHaveBeenCalledWith(
        `agentcharts: a listener for breaker "${KEY}" opened threw`,
        new Error('x'),
      );

      const b = setup({
        onListenerError: () => {
          throw new Error('handler bug');
        },
      }).breaker;
      b.on('opened', () => {
        throw new Error('y');
      });
      fail(b, 3);
      expect(b.state().value).toBe('open');
    } finally {
      spy.mockRestore();
    }
  });

  it('unsubscribes', () => {
    const { breaker } = setup();
    const listener = vi.fn();
    const off = breaker.on('opened', listener);
    off();
    fail(breaker, 3);
    expect(listener).not.toHaveBeenCalled();
  });
});

describe('replyTo protocol (for hand-written statecharts)', () => {
  it('answers breaker.granted / breaker.rejected to the requesting actor', () => {
    const received: unknown[] = [];
    const caller = createActor(
      createMachine({ on: { '*': { actions: ({ event }) => received.push(event) } } }),
    ).start();
    const clock = new SimulatedClock();
    const breaker = createActor(breakerMachine, {
      clock,
      input: { key: KEY, options: { failureThreshold: 1 } },
    }).start();
    breaker.send({ type: 'request', requestId: 'a', replyTo: caller });
    breaker.send({ type: 'failure', requestId: 'a', epoch: 0, reason: 'x' });
    breaker.send({ type: 'request', requestId: 'b', replyTo: caller });
    expect(received).toEqual([
      { type: 'breaker.granted', key: KEY, requestId: 'a', epoch: 0, probe: false },
      {
        type: 'breaker.rejected',
        key: KEY,
        requestId: 'b',
        rejection: expect.objectContaining({ status: 'breakerOpen', probeAt: 30_000 }),
      },
    ]);
  });
});

describe('options', () => {
  const message = (options: unknown, key = KEY) => {
    try {
      createBreaker(key, options as CreateBreakerOptions);
    } catch (error) {
      expect(isOptionsError(error)).toBe(true);
      return (error as Error).message;
    }
    throw new Error('expected an OptionsError');
  };

  it('applies the seed defaults from the schema', () => {
    expect(createBreaker(KEY).options).toEqual({
      failureThreshold: 3,
      successThreshold: 1,
      cooldownMs: 30_000,
      cooldownGrowth: 1,
      minQuality: 'MEDIUM',
    });
    const actor = createActor(breakerMachine, { input: { key: KEY } });
    expect(actor.getSnapshot().context.config.failureThreshold).toBe(3);
  });

  it('fails at definition time with a message naming the field and the value', () => {
    const where = `createBreaker("${KEY}")`;
    expect(message({ failureThreshold: 0 })).toBe(
      `${where}: failureThreshold must be an integer ≥ 1, received 0`,
    );
    expect(message({ successThreshold: 1.5 })).toBe(
      `${where}: successThreshold must be an integer ≥ 1, received 1.5`,
    );
    expect(message({ cooldownMs: -1 })).toBe(
      `${where}: cooldownMs must be a number of milliseconds from 0 to ${MAX_TIMER_MS}, received -1`,
    );
    expect(message({ cooldownMs: 2 ** 31 })).toContain('cooldownMs must be a number of milliseconds');
    expect(message({ minQuality: 'GOOD' })).toBe(
      `${where}: minQuality must be one of "LOW", "MEDIUM", "HIGH", received "GOOD"`,
    );
    expect(message({ cooldownGrowth: 0.5 })).toBe(
      `${where}: cooldownGrowth must be a number ≥ 1 (1 = no growth), received 0.5`,
    );
    expect(message({ cooldownGrowth: 2 })).toBe(
      `${where}: maxCooldownMs is required when cooldownGrowth > 1 (got 2), so the cooldown has a cap, received undefined`,
    );
    expect(message({ cooldownMs: 5_000, maxCooldownMs: 1_000 })).toBe(
      `${where}: maxCooldownMs must be ≥ cooldownMs (5000), received 1000`,
    );
    expect(message({ quality: { high: 0.5, medium: 0.7 } })).toContain('quality must have medium ≤ high');
    expect(message({ quality: { high: 2, medium: 0.7 } })).toBe(
      `${where}: quality.high must be a number from 0 to 1, received 2`,
    );
    expect(message({ failureTreshold: 5 })).toBe(
      `${where}: failureTreshold is not a known option, received 5`,
    );
    expect(message({ clock: {} })).toContain(
      'clock must be a clock with now(), setTimeout() and clearTimeout()',
    );
    expect(message({}, '')).toBe('createBreaker: key must be a non-empty string, received ""');
  });
});

describe('lifecycle', () => {
  it('refuses use after stop', () => {
    const { breaker } = setup();
    const permit = acquire(breaker);
    breaker.stop();
    expect(() => permit.success()).not.toThrow();
    expect(() => breaker.tryAcquire()).toThrow(`createBreaker("${KEY}"): the breaker is stopped`);
  });
});
