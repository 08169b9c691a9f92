import { getShortestPaths } from '@xstate/graph';
import { describe, expect, it } from 'vitest';
import type { AnyEventObject } from 'xstate';
import { createActor } from 'xstate';
import type { AgentMachine } from '../machines/agent.js';
import type { Agent } from '../src/agent.js';
import { agentActor, defineAgent } from '../src/agent.js';
import type { MockStep } from '../src/testing/mock-agent.js';
import { mockRun } from '../src/testing/mock-agent.js';
import { Draft, draft } from './helpers/agents.js';
import { settle, testClock } from './helpers/clock.js';

/**
 * Model-based test: @xstate/graph enumerates the agent statechart's paths (timers and invoked
 * actors fed as events), and each shortest path to a final state is replayed on a real actor with a
 * scripted agent and a simulated clock, which must end in the same final state.
 */

const FINAL_STATES = [
  'succeeded',
  'timedOut',
  'maxIterations',
  'invalidOutput',
  'failed',
  'deadlineExceeded',
  'cancelled',
] as const;

const RETRY = { initialDelayMs: 10, factor: 1, maxDelayMs: 10 };
// Without a deadline: every way out but deadlineExceeded. With one shorter than an attempt: that one.
const configs = [
  { name: 'no deadline', limits: { maxIterations: 2, attemptTimeoutMs: 100 } },
  { name: 'deadline', limits: { maxIterations: 2, attemptTimeoutMs: 100, deadlineMs: 50 } },
];

// Behaviours a scripted attempt can have, keyed by the model events they produce.
const VALID = draft('long enough', 0.9);
const NOT_DONE = draft('short', 0.9);
const INVALID = { content: 1 };
const OVERSIZED = { content: 'x'.repeat(300), confidence: 1 };

function makeAgent(
  limits: (typeof configs)[number]['limits'],
  steps: MockStep[],
  clock: ReturnType<typeof testClock>,
) {
  return defineAgent({
    id: 'model',
    output: Draft,
    run: mockRun(steps, { clock }),
    limits,
    retry: RETRY,
    maxOutputBytes: 200,
    isDone: (d) => d.content !== NOT_DONE.content,
  });
}

// An attempt's result carries its verdict (valid and done, valid but not done, or invalid) and the
// metadata its run reported beside the output (withAttemptMeta); each event names its attempt.
const ran = (attempt: number, value: unknown, verdict: object): AnyEventObject => ({
  type: 'agent.output',
  attempt,
  output: { ok: true, value, bytes: 10, verdict, meta: {} },
});
const modelEvents = (attempt: number): AnyEventObject[] => [
  ran(attempt, VALID, { valid: true, output: VALID, confidence: 0.9, done: true }),
  ran(attempt, NOT_DONE, { valid: true, output: NOT_DONE, confidence: 0.9, done: false }),
  ran(attempt, INVALID, { valid: false, reason: 'schema', issues: [] }),
  { type: 'agent.output', attempt, output: { ok: false, reason: 'over the cap', meta: {} } },
  { type: 'agent.threw', attempt, error: new Error('boom') },
  { type: 'agent.attemptTimer', attempt },
  { type: 'xstate.after.backoff.agent.running.backingOff' },
  { type: 'cancel' },
];

type Path = ReturnType<typeof getShortestPaths<AgentMachine>>[number];

/** Turn a model path into a script for the real agent plus the clock/cancel actions between attempts. */
function toScript(path: Path, limits: (typeof configs)[number]['limits']) {
  const steps: MockStep[] = [];
  const actions: Array<{ kind: 'advance'; ms: number } | { kind: 'cancel' }> = [];
  const events = path.steps.map((s) => s.event as AnyEventObject);
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.type === 'agent.output') {
      const out = (e as unknown as { output: { ok: boolean; verdict?: { valid: boolean; done?: boolean } } })
        .output;
      if (!out.ok) steps.push({ output: OVERSIZED });
      else steps.push({ output: !out.verdict!.valid ? INVALID : out.verdict!.done ? VALID : NOT_DONE });
    } else if (e.type === 'agent.threw') steps.push({ throws: new Error('boom') });
    else if (e.type === 'agent.attemptTimer') {
      steps.push({ hang: true });
      actions.push({ kind: 'advance', ms: Math.min(limits.attemptTimeoutMs, limits.deadlineMs ?? Infinity) });
    } else if (e.type === 'xstate.after.backoff.agent.running.backingOff') {
      actions.push({ kind: 'advance', ms: RETRY.initialDelayMs });
    } else if (e.type === 'cancel') {
      // The state before the cancel: an attempt started that has no behaviour yet is in flight.
      const before = path.steps[i - 1]?.state;
      if (before && before.context.attempt > steps.length) steps.push({ hang: true });
      actions.push({ kind: 'cancel' });
    }
  }
  return { steps, actions };
}

const finalOf = (path: Path) => String(path.state.value);

describe('agent statechart, model-based', () => {
  const all: Array<{ config: (typeof configs)[number]; path: Path }> = [];
  for (const config of configs) {
    const clock = testClock();
    const machine = agentActor(makeAgent(config.limits, [], clock) as Agent);
    const paths = getShortestPaths(machine, {
      events: ((s: { context: { attempt: number } }) => modelEvents(s.context.attempt)) as never,
      input: { input: null, runId: 'model' },
      // Time stamps differ between traversal steps; the decision-relevant state is value + attempts.
      serializeState: (s) =>
        JSON.stringify([s.value, s.context.attempts.map((a) => a.outcome), s.context.attempt]),
      toState: (s) => s.status === 'done',
    });
    for (const path of paths) all.push({ config, path });
  }

  it('every final state is reachable in the statechart', () => {
    expect([...new Set(all.map((p) => finalOf(p.path)))].sort()).toEqual([...FINAL_STATES].sort());
  });

  const describePath = (path: Path) => path.steps.map((s) => s.event.type.replace('xstate.', '')).join(' → ');
  for (const { config, path } of all) {
    const finalState = finalOf(path);
    it(`[${config.name}] ${describePath(path)} ⇒ ${finalState}`, async () => {
      const { steps, actions } = toScript(path, config.limits);
      const clock = testClock();
      const agent = makeAgent(config.limits, steps, clock);
      const actor = createActor(agentActor(agent), {
        input: { input: null, runId: 'replay' },
        clock,
      }).start();
      await settle();
      for (const action of actions) {
        if (action.kind === 'advance') await clock.advance(action.ms);
        else actor.send({ type: 'cancel' });
        await settle();
      }
      const snapshot = actor.getSnapshot();
      expect(snapshot.value).toBe(finalState);
      expect(snapshot.output?.status).toBe(finalState);
      expect(snapshot.output?.attempts.map((a) => a.outcome)).toEqual(
        path.state.context.attempts.map((a) => a.outcome),
      );
    });
  }
});
