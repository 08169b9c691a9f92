import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { defineAgent } from '../src/agent.js';
import { UNREADABLE } from '../src/log/freeze.js';
import { createStateLog } from '../src/log/state-log.js';
import { createRuntime } from '../src/runtime.js';
import { defineWorkflow } from '../src/workflow/define.js';
import { Draft } from './helpers/agents.js';
import { testClock } from './helpers/clock.js';

/** A value that throws whatever is asked of it: every Proxy trap throws. */
const hostileProxy = () =>
  new Proxy(
    {},
    {
      get: () => {
        throw new Error('get trap');
      },
      getPrototypeOf: () => {
        throw new Error('getPrototypeOf trap');
      },
      ownKeys: () => {
        throw new Error('ownKeys trap');
      },
      isExtensible: () => {
        throw new Error('isExtensible trap');
      },
      has: () => {
        throw new Error('has trap');
      },
    },
  );

/** An Error whose message and name throw when read. */
const hostileError = () => {
  const error = new Error('x');
  Object.defineProperty(error, 'message', {
    get() {
      throw new Error('message getter');
    },
  });
  Object.defineProperty(error, 'name', {
    get() {
      throw new Error('name getter');
    },
  });
  return error;
};

afterEach(() => vi.restoreAllMocks());

describe('the state log and hostile values', () => {
  it('records an unreadable part as unreadable and keeps the entry', () => {
    const onUnreadable = vi.fn();
    const log = createStateLog({ onUnreadable });
    const getter = {
      ok: 1,
      get bad() {
        throw new Error('getter');
      },
    };
    log.append({ actorId: 'a', event: { type: 'x', error: hostileProxy() }, state: { getter } });
    expect(log.size).toBe(1);
    const entry = log.current('a')!;
    expect(entry.event).toEqual({ type: 'x', error: UNREADABLE });
    expect(entry.state).toEqual({ getter: { ok: 1, bad: UNREADABLE } });
    expect(onUnreadable).toHaveBeenCalledTimes(2);
  });

  it('shares unchanged parts between entries instead of copying them', () => {
    const log = createStateLog();
    const big = { list: Array.from({ length: 100 }, (_, i) => ({ i })) };
    log.append({ actorId: 'a', event: { type: 'one' }, state: { big, n: 1 } });
    log.append({ actorId: 'a', event: { type: 'two' }, state: { big, n: 2 } });
    const [first, second] = log.history('a') as readonly { state: { big: unknown } }[];
    expect(second!.state.big).toBe(first!.state.big);
    expect(Object.isFrozen(first!.state.big)).toBe(true);
    // The live value is not frozen: its owner still holds it.
    expect(Object.isFrozen(big)).toBe(false);
  });

  for (const [name, make] of [
    ['a Proxy whose every trap throws', hostileProxy],
    ['an Error whose getters throw', hostileError],
  ] as const) {
    it(`drops no entry when an agent throws ${name}, and reports it once`, async () => {
      const consoleError = vi.spyOn(console, 'error').mockImplementation(() => {});
      const runOnce = async (thrown: () => unknown) => {
        const clock = testClock();
        const agent = defineAgent({
          id: 'thrower',
          output: Draft,
          limits: { maxIterations: 3, attemptTimeoutMs: 1000 },
          retry: { initialDelayMs: 10, maxDelayMs: 10 },
          run: async () => {
            throw thrown();
          },
        });
        const workflow = defineWorkflow({
          id: 'hostile',
          input: z.object({}),
          output: z.unknown(),
          steps: [agent],
        });
        const onObserverError = vi.fn();
        const runtime = createRuntime({ clock, onObserverError });
        const run = runtime.start(workflow, {});
        for (let i = 0; i < 10; i++) await clock.advance(10);
        const done = await run.done;
        await runtime.stop();
        return { done, log: run.log(), onObserverError };
      };
      const plain = await runOnce(() => new Error('plain'));
      const hostile = await runOnce(make);
      expect(hostile.done.status).toBe(plain.done.status);
      // Same run, same transitions: the same number of entries, none dropped.
      expect(hostile.log.length).toBe(plain.log.length);
      expect(hostile.log.map((e) => e.seq)).toEqual(hostile.log.map((_, i) => i + 1));
      expect(JSON.stringify(hostile.log)).toContain(UNREADABLE);
      const sources = hostile.onObserverError.mock.calls.map(([, source]) => source as string);
      expect(sources.some((s) => s.startsWith('the state log'))).toBe(true);
      expect(new Set(sources).size).toBe(sources.length);
      expect(consoleError).not.toHaveBeenCalled();
    });
  }
});
