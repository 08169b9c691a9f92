// biome-ignore-all lint/suspicious/noThenProperty: these tests are about hostile thenables
import { describe, expect, it } from 'vitest';
import { MAX_THENABLE_LINKS } from '../machines/thenable.js';
import { defineAgent } from '../src/agent.js';
import { runAgent } from '../src/run-agent.js';
import { Draft, draft } from './helpers/agents.js';
import { testClock } from './helpers/clock.js';

type Resolve = (value: unknown) => void;

/**
 * `t = { then: (r) => r(t) }`, except that it gives in after `limit` calls, so that code which
 * adopts it the way `await` does ends (with the draft) instead of spinning forever.
 */
function selfResolving(limit = 1_000_000) {
  const state = { calls: 0 };
  const t = {
    then(resolve: Resolve) {
      state.calls++;
      resolve(state.calls < limit ? t : draft('gave in'));
    },
  };
  return Object.assign(state, { t });
}

// `as never`: these runs return hostile thenables on purpose; the types would refuse them.
describe('agent: what run returns is settled without letting it spin the event loop', () => {
  it('a thenable that resolves to itself ends in invalidOutput, after one call of its then', async () => {
    const self = selfResolving();
    const agent = defineAgent({
      id: 't',
      output: Draft,
      run: () => self.t as never,
      limits: { maxIterations: 1 },
    });
    const result = await runAgent(agent, null, { clock: testClock() });
    expect(result.status).toBe('invalidOutput');
    expect(result.reason).toMatch(/returned a thenable that resolves to itself/);
    expect(self.calls).toBe(1);
  });

  it('an endless chain of fresh thenables is followed a bounded number of links', async () => {
    let calls = 0;
    const link = (): unknown => ({
      then(resolve: Resolve) {
        calls++;
        resolve(calls < 1_000_000 ? link() : draft('gave in'));
      },
    });
    const agent = defineAgent({ id: 't', output: Draft, run: link as never, limits: { maxIterations: 1 } });
    const result = await runAgent(agent, null, { clock: testClock() });
    expect(result.status).toBe('invalidOutput');
    expect(result.reason).toMatch(`returned a chain of more than ${MAX_THENABLE_LINKS} thenables`);
    expect(calls).toBe(MAX_THENABLE_LINKS);
  });

  it('the timers keep running: the retry backs off and the next attempt times out on the simulated clock', async () => {
    const clock = testClock();
    const self = selfResolving();
    let attempt = 0;
    const agent = defineAgent({
      id: 't',
      output: Draft,
      // Attempt 1: the self-resolving thenable. Attempt 2: a thenable that never settles.
      run: () => (++attempt === 1 ? self.t : { then: () => {} }) as never,
      limits: { maxIterations: 2, attemptTimeoutMs: 500 },
      retry: { initialDelayMs: 100 },
    });
    let settled = false;
    const done = runAgent(agent, null, { clock }).finally(() => {
      settled = true;
    });
    await clock.advance(100); // the backoff
    expect(attempt).toBe(2);
    await clock.advance(499);
    expect(settled).toBe(false);
    await clock.advance(1);
    const result = await done;
    expect(result.status).toBe('timedOut');
    expect(result.attempts.map((a) => a.outcome)).toEqual(['invalid', 'timedOut']);
  });

  it('well-behaved thenables and promises are adopted as before', async () => {
    const cases: Array<[string, () => unknown]> = [
      ['a thenable', () => ({ then: (r: Resolve) => r(draft('a')) })],
      [
        'a thenable of a thenable',
        () => ({ then: (r: Resolve) => r({ then: (r2: Resolve) => r2(draft('a')) }) }),
      ],
      ['a thenable of a promise', () => ({ then: (r: Resolve) => r(Promise.resolve(draft('a'))) })],
      [
        'a thenable that calls back twice',
        () => ({
          then(r: Resolve) {
            r(draft('a'));
            r(draft('b'));
          },
        }),
      ],
      [
        'a thenable that throws after resolving',
        () => ({
          then(r: Resolve) {
            r(draft('a'));
            throw new Error('ignored');
          },
        }),
      ],
      ['an async function', async () => draft('a')],
    ];
    for (const [what, run] of cases) {
      const agent = defineAgent({ id: 't', output: Draft, run: run as never, limits: { maxIterations: 1 } });
      const result = await runAgent(agent, null, { clock: testClock() });
      expect([what, result.status, result.content]).toEqual([what, 'succeeded', draft('a')]);
    }
  });

  it("a real promise is followed with the engine's then, never its own overridden then", async () => {
    let own = 0;
    const promise = Object.assign(Promise.resolve(draft('a')), {
      then() {
        own++;
        return this;
      },
    });
    const agent = defineAgent({ id: 't', output: Draft, run: () => promise, limits: { maxIterations: 1 } });
    const result = await runAgent(agent, null, { clock: testClock() });
    expect(result.status).toBe('succeeded');
    expect(own).toBe(0);
  });

  it('a thenable that rejects, or whose then cannot be read or throws, is a failed attempt with the reason', async () => {
    const cases: Array<[string, () => unknown, RegExp]> = [
      ['rejects', () => ({ then: (_: Resolve, reject: Resolve) => reject(new Error('no')) }), /Error: no/],
      [
        'a then getter that throws',
        () =>
          Object.defineProperty({}, 'then', {
            get() {
              throw new Error('getter');
            },
          }),
        /Error: getter/,
      ],
      [
        'a then that throws',
        () => ({
          then() {
            throw new Error('then');
          },
        }),
        /Error: then/,
      ],
    ];
    for (const [what, run, reason] of cases) {
      const agent = defineAgent({ id: 't', output: Draft, run: run as never, limits: { maxIterations: 1 } });
      const result = await runAgent(agent, null, { clock: testClock() });
      expect([what, result.status]).toEqual([what, 'failed']);
      expect(result.reason).toMatch(reason);
    }
  });
});

describe("fromModel's hooks: a self-resolving thenable from prompt() or a judge ends the attempt", () => {
  it('a judge that returns one: confidence unavailable, invalidOutput', async () => {
    const { fromModel } = await import('../src/model/index.js');
    const { reply, scriptedModel } = await import('./helpers/model.js');
    const self = selfResolving();
    const agent = fromModel({
      id: 'judged',
      model: scriptedModel([reply(draft('x'))]),
      output: Draft,
      confidence: { judge: () => self.t as never },
      limits: { maxIterations: 1 },
    });
    const result = await runAgent(agent, 'q', { clock: testClock() });
    expect(result.status).toBe('invalidOutput');
    expect(result.reason).toMatch(
      /confidence unavailable: the judge returned a thenable that resolves to itself/,
    );
    expect(self.calls).toBe(1);
  });

  it('a prompt function that returns one: the attempt failed with the reason', async () => {
    const { fromModel } = await import('../src/model/index.js');
    const { reply, scriptedModel } = await import('./helpers/model.js');
    const self = selfResolving();
    const agent = fromModel({
      id: 'prompted',
      model: scriptedModel([reply(draft('x'))]),
      output: Draft,
      prompt: () => self.t as never,
      limits: { maxIterations: 1 },
    });
    const result = await runAgent(agent, 'q', { clock: testClock() });
    expect(result.status).toBe('failed');
    expect(result.reason).toMatch(/prompt\(\) returned a thenable that resolves to itself/);
    expect(self.calls).toBe(1);
  });
});

describe('isDone is synchronous', () => {
  it('an async isDone (it returns a promise) is invalid output with the reason, not maxIterations', async () => {
    const agent = defineAgent({
      id: 't',
      output: Draft,
      run: () => draft('x'),
      isDone: (async () => true) as never,
      limits: { maxIterations: 1 },
    });
    const result = await runAgent(agent, null, { clock: testClock() });
    expect(result.status).toBe('invalidOutput');
    expect(result.reason).toMatch(
      /isDone\(\) returned a promise: it must return true or false synchronously/,
    );
  });
});
