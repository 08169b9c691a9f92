import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AnyActorRef, Snapshot } from 'xstate';
import { assign, createActor, sendTo, setup } from 'xstate';
import type { AgentResult } from '../machines/agent-result.js';
import type { Agent, AgentRunArgs } from '../src/agent.js';
import { agentActor, defineAgent } from '../src/agent.js';
import { runAgent } from '../src/run-agent.js';
import type { MockStep } from '../src/testing/mock-agent.js';
import { mockRun } from '../src/testing/mock-agent.js';
import { Draft, draft } from './helpers/agents.js';
import { settle, type TestClock, testClock } from './helpers/clock.js';

/**
 * An attempt is an effect of the agent statechart, not an actor: these pin down what the promise
 * actor it replaced did on its own — abort when a parent stops the agent, no stray events after the
 * end, a call again after a restore (including snapshots stored while attempts were actors).
 */

const limits = { maxIterations: 3, attemptTimeoutMs: 1000 };
const retry = { initialDelayMs: 100, factor: 2, maxDelayMs: 1000 };

function writer(steps: MockStep[], clock: TestClock, honourAbort = true) {
  const run = mockRun(steps, { clock, honourAbort });
  const agent = defineAgent({ id: 'writer', output: Draft, run, limits, retry });
  return { run, agent };
}

/** A hand-written parent: invokes the agent, gives up on it after `giveUpMs`, forwards `restore`. */
function parentOf(agent: Agent, giveUpMs = 50) {
  return setup({
    types: { context: {} as { result: AgentResult | null } },
    actors: { writer: agentActor(agent) },
  }).createMachine({
    id: 'parent',
    context: { result: null },
    initial: 'working',
    states: {
      working: {
        invoke: {
          id: 'writer',
          src: 'writer',
          input: { input: 'go', runId: 'p1' },
          onDone: { target: 'done', actions: assign({ result: ({ event }) => event.output }) },
        },
        after: { [giveUpMs]: 'gaveUp' },
        on: { restore: { actions: sendTo('writer', { type: 'restore' }) } },
      },
      gaveUp: { type: 'final' },
      done: { type: 'final' },
    },
  });
}

let warn: ReturnType<typeof vi.spyOn> | undefined;
afterEach(() => warn?.mockRestore());
const watchWarnings = () => {
  warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  return warn;
};

describe('agent attempt: stopped by its parent', () => {
  it('a parent leaving the invoking state aborts the signal of the attempt in flight', async () => {
    const clock = testClock();
    const { run, agent } = writer([{ hang: true }], clock);
    const parent = createActor(parentOf(agent), { clock }).start();
    await settle();
    expect(run.calls).toHaveLength(1);
    expect(run.calls[0]!.signal.aborted).toBe(false);
    await clock.advance(50); // the parent gives up: XState stops the agent, running no exit actions
    expect(parent.getSnapshot().value).toBe('gaveUp');
    expect(run.calls[0]!.signal.aborted).toBe(true);
    // Its timer went with it: nothing is called or retried later.
    await clock.advance(5000);
    expect(run.calls).toHaveLength(1);
  });

  it('stopping the root actor aborts the signal of its agent’s attempt in flight', async () => {
    const clock = testClock();
    const { run, agent } = writer([{ hang: true }], clock);
    const parent = createActor(parentOf(agent, 10_000), { clock }).start();
    await settle();
    parent.stop();
    await settle();
    expect(run.calls[0]!.signal.aborted).toBe(true);
  });

  it('stopping a standalone agent actor aborts its attempt in flight', async () => {
    const clock = testClock();
    const { run, agent } = writer([{ hang: true }], clock);
    const actor = createActor(agentActor(agent), { clock, input: { input: null } }).start();
    await settle();
    actor.stop();
    expect(run.calls[0]!.signal.aborted).toBe(true);
  });

  it('a result that comes after the agent was stopped is dropped, with no warning', async () => {
    const warnings = watchWarnings();
    const clock = testClock();
    // An agent that ignores its signal and answers at 100 ms; its parent gives up at 50 ms.
    const { run, agent } = writer([{ output: draft('late'), delayMs: 100 }], clock, false);
    const parent = createActor(parentOf(agent), { clock }).start();
    await clock.advance(50);
    const child = parent.getSnapshot().children.writer as AnyActorRef | undefined;
    expect(child).toBeUndefined(); // stopped and gone
    await clock.advance(100);
    expect(run.calls).toHaveLength(1);
    expect(parent.getSnapshot().context.result).toBeNull();
    expect(warnings).not.toHaveBeenCalled();
    // The spy does see XState's warning for an event sent to a stopped actor.
    const stopped = createActor(agentActor(agent), { clock, input: { input: null } }).start();
    stopped.stop();
    stopped.send({ type: 'cancel' });
    expect(warnings).toHaveBeenCalledTimes(1);
  });

  it('a result of an earlier attempt that comes during a later one is ignored', async () => {
    const clock = testClock();
    // Attempt 1 ignores the abort and answers at 1500 ms, after its 1000 ms timeout; attempt 2 at 1400 + 200.
    const { run, agent } = writer(
      [
        { output: draft('from attempt 1', 0.9), delayMs: 1500 },
        { output: draft('from attempt 2', 0.7), delayMs: 500 },
      ],
      clock,
      false,
    );
    const actor = createActor(agentActor(agent), { clock, input: { input: null, runId: 'r' } }).start();
    await clock.advance(1000); // attempt 1 times out
    await clock.advance(100); // backoff over: attempt 2 starts at 1100
    expect(run.calls.map((c) => c.idempotencyKey)).toEqual(['r:writer:1', 'r:writer:2']);
    await clock.advance(400); // 1500: attempt 1's late output arrives
    expect(actor.getSnapshot().value).toEqual({ running: 'attempting' });
    await clock.advance(100); // 1600: attempt 2's
    const result = actor.getSnapshot().output!;
    expect(result).toMatchObject({ status: 'succeeded', content: { content: 'from attempt 2' } });
    expect(result.attempts.map((a) => a.outcome)).toEqual(['timedOut', 'valid']);
  });
});

describe('agent attempt: the signal', () => {
  it('is made when the agent reads it: read after a timeout it is already aborted, after a result it is not', async () => {
    const clock = testClock();
    const calls: AgentRunArgs[] = [];
    const agent = defineAgent({
      id: 'lazy',
      output: Draft,
      limits: { maxIterations: 2, attemptTimeoutMs: 100 },
      retry: { initialDelayMs: 10, maxDelayMs: 10 },
      // Attempt 1 hangs without looking at its signal; attempt 2 answers.
      run: (args) => {
        calls.push(args);
        return args.attempt === 1 ? new Promise<never>(() => {}) : draft('second');
      },
    });
    const done = runAgent(agent, null, { clock });
    await clock.advance(100); // attempt 1 times out
    await clock.advance(10); // the backoff
    expect((await done).status).toBe('succeeded');
    expect(calls[0]!.signal.aborted).toBe(true);
    expect(calls[0]!.signal).toBe(calls[0]!.signal); // one signal per attempt
    expect(calls[1]!.signal.aborted).toBe(false);
  });

  it('travels with a copy of the arguments, and the copy aborts with the attempt', async () => {
    const clock = testClock();
    let copied: AgentRunArgs | undefined;
    const agent = defineAgent({
      id: 'spread',
      output: Draft,
      limits: { maxIterations: 1, attemptTimeoutMs: 100 },
      run: (args) => {
        copied = { ...args };
        return new Promise<never>(() => {});
      },
    });
    const done = runAgent(agent, null, { clock });
    await settle();
    expect(copied!.signal).toBeInstanceOf(AbortSignal);
    expect(Object.keys(copied!)).toEqual(['input', 'attempt', 'idempotencyKey', 'previous', 'signal']);
    expect(copied!.signal.aborted).toBe(false);
    await clock.advance(100);
    expect((await done).status).toBe('timedOut');
    expect(copied!.signal.aborted).toBe(true);
  });
});

describe('agent attempt: restore', () => {
  it('a restore event mid-attempt on a live agent does not call it twice', async () => {
    const clock = testClock();
    const { run, agent } = writer([{ output: draft('once'), delayMs: 100 }], clock);
    const actor = createActor(agentActor(agent), { clock, input: { input: null } }).start();
    await settle();
    actor.send({ type: 'restore' });
    await clock.advance(100);
    expect(run.calls).toHaveLength(1);
    expect(actor.getSnapshot().output?.status).toBe('succeeded');
  });

  it('a restored agent calls its in-flight attempt again, bounded by its timer at the same absolute time', async () => {
    const clock = testClock();
    const first = writer([{ hang: true }], clock);
    const actor = createActor(agentActor(first.agent), { clock, input: { input: 'q', runId: 'r' } }).start();
    await clock.advance(300);
    const saved = JSON.parse(JSON.stringify(actor.getPersistedSnapshot())) as Snapshot<unknown>;
    actor.stop();

    const second = writer([{ hang: true }], clock);
    const restored = createActor(agentActor(second.agent), {
      clock,
      snapshot: saved,
      input: { input: null },
    }).start();
    await settle();
    expect(second.run.calls.map((c) => c.idempotencyKey)).toEqual(['r:writer:1']);
    await clock.advance(699);
    expect(restored.getSnapshot().value).toEqual({ running: 'attempting' });
    await clock.advance(1); // 1000 ms after the attempt started, in the first process
    expect(second.run.calls[0]!.signal.aborted).toBe(true);
    expect(restored.getSnapshot().value).toEqual({ running: 'backingOff' });
  });
});

// Snapshots stored by the previous version, whose attempts were `run` promise actors (see the README).
const v1 = JSON.parse(
  readFileSync(new URL('./fixtures/agent-v1/snapshots.json', import.meta.url), 'utf8'),
) as {
  agent: Snapshot<unknown> & { children: Record<string, unknown> };
  parent: Snapshot<unknown>;
};

describe('agent attempt: snapshots stored when attempts were actors', () => {
  it('the fixture is what that version stored: an agent in flight with a `run` child', () => {
    expect(Object.keys(v1.agent.children)).toEqual(['run']);
  });

  it('a standalone agent resumes: its in-flight attempt runs again with the same key and input', async () => {
    const warnings = watchWarnings();
    const clock = testClock();
    clock.set(150);
    const { run, agent } = writer([{ output: draft('resumed', 0.9) }], clock);
    const actor = createActor(agentActor(agent), { clock, snapshot: v1.agent, input: { input: null } });
    const errors: unknown[] = [];
    actor.subscribe({ error: (e) => errors.push(e) });
    actor.start();
    actor.send({ type: 'restore' });
    await settle();
    expect(run.calls.map((c) => [c.idempotencyKey, c.input, c.previous])).toEqual([
      ['r1:writer:2', { q: 1 }, { attempt: 1, outcome: 'threw', reason: 'Error: x' }],
    ]);
    const result = actor.getSnapshot().output!;
    expect(result).toMatchObject({ status: 'succeeded', content: { content: 'resumed' } });
    expect(result.attempts.map((a) => [a.attempt, a.outcome])).toEqual([
      [1, 'threw'],
      [2, 'valid'],
    ]);
    expect(errors).toEqual([]);
    expect(warnings).not.toHaveBeenCalled();
  });

  it('an agent invoked by a hand-written parent resumes and hands the parent its result', async () => {
    const warnings = watchWarnings();
    const clock = testClock();
    clock.set(150);
    const { run, agent } = writer([{ output: draft('resumed', 0.95) }], clock);
    const parent = createActor(parentOf(agent, 10_000), { clock, snapshot: v1.parent }).start();
    parent.send({ type: 'restore' });
    await settle();
    expect(run.calls.map((c) => c.idempotencyKey)).toEqual(['p1:writer:1']);
    expect(parent.getSnapshot().value).toBe('done');
    expect(parent.getSnapshot().context.result).toMatchObject({ status: 'succeeded', quality: 'HIGH' });
    expect(warnings).not.toHaveBeenCalled();
  });

  it('a restored old attempt that hangs still times out at its absolute end (1110 ms)', async () => {
    const clock = testClock();
    clock.set(150);
    const { run, agent } = writer([{ hang: true }], clock);
    const actor = createActor(agentActor(agent), {
      clock,
      snapshot: v1.agent,
      input: { input: null },
    }).start();
    actor.send({ type: 'restore' });
    await clock.advance(959);
    expect(actor.getSnapshot().value).toEqual({ running: 'attempting' });
    await clock.advance(1);
    expect(run.calls[0]!.signal.aborted).toBe(true);
    expect(actor.getSnapshot().context.attempts.map((a) => [a.attempt, a.outcome, a.endedAt])).toEqual([
      [1, 'threw', 10],
      [2, 'timedOut', 1110],
    ]);
  });
});
