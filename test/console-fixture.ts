import { z } from 'zod';
import { defineAgent } from '../src/agent.js';
import { createRuntime, type RuntimeOptions } from '../src/runtime.js';
import { defineWorkflow } from '../src/workflow/define.js';
import { Draft, draft } from './helpers/agents.js';
import { settle, testClock } from './helpers/clock.js';

/**
 * The console tests' workflow: researcher → (fact-checker ∥ style-checker) → writer (reviewed below
 * 0.7). Each agent call waits until the test releases it, so the test decides when every step ends;
 * time is a SimulatedClock, so no timer fires unless the test moves it.
 */
export function consoleFixture(options: RuntimeOptions = {}) {
  const clock = testClock();
  clock.set(Date.UTC(2026, 11, 2, 9, 0, 0));
  type Gate = {
    promise: Promise<unknown>;
    resolve: (v: unknown) => void;
    called: Promise<void>;
    call: () => void;
  };
  const waiting = new Map<string, Gate>();
  const gate = (key: string) => {
    let entry = waiting.get(key);
    if (!entry) {
      let resolve!: (v: unknown) => void;
      let call!: () => void;
      const promise = new Promise<unknown>((r) => {
        resolve = r;
      });
      const called = new Promise<void>((r) => {
        call = r;
      });
      entry = { promise, resolve, called, call };
      waiting.set(key, entry);
    }
    return entry;
  };
  const agent = (id: string) =>
    defineAgent({
      id,
      output: Draft,
      limits: { maxIterations: 1, attemptTimeoutMs: 60_000, deadlineMs: 120_000 },
      // idempotencyKey is `runId:stepId.visit:attempt`.
      run: ({ idempotencyKey }) => {
        const entry = gate(idempotencyKey.replace(/\.\d+:\d+$/, ''));
        entry.call();
        return entry.promise as Promise<never>;
      },
    });
  const workflow = defineWorkflow({
    id: 'report',
    input: z.object({ topic: z.string() }),
    deadlineMs: 600_000,
    steps: [
      { agent: agent('researcher'), breaker: { failureThreshold: 3, cooldownMs: 60_000 } },
      { id: 'checks', parallel: [agent('fact-checker'), agent('style-checker')] },
      { agent: agent('writer'), review: { below: 0.7, timeoutMs: 3_600_000 } },
    ],
  });
  const runtime = createRuntime({ clock, onEscalation: () => {}, ...options });
  return {
    clock,
    runtime,
    workflow,
    start: (runId: string, topic = 'solid-state batteries') => runtime.start(workflow, { topic }, { runId }),
    /** Resolves once the agent of `stepId` in `runId` has been called. */
    called: (runId: string, stepId: string) => gate(`${runId}:${stepId}`).called,
    /** End the agent call of `stepId` in `runId` with this output. */
    async release(runId: string, stepId: string, output: unknown = draft(`${stepId} of ${runId}`, 0.9)) {
      gate(`${runId}:${stepId}`).resolve(output);
      await settle();
    },
  };
}
