import { describe, expect, it } from 'vitest';
import { defineAgent } from '../src/agent.js';
import type { RunDeps } from '../src/run.js';
import { startRun } from '../src/run.js';
import { mockRun } from '../src/testing/mock-agent.js';
import { defineWorkflow } from '../src/workflow/define.js';
import { Draft, draft } from './helpers/agents.js';
import { testClock } from './helpers/clock.js';

/**
 * A crash of the workflow actor itself (a bug, never an agent failure) ends the run as failed,
 * once, with the crash named; nothing after it changes the result, and its agents stop calling.
 * The run watches its actor for errors only: snapshots and the end come through the inspection
 * stream.
 */
function crashingRun(action: 'enterStep' | 'write') {
  const clock = testClock();
  const agentRun = mockRun([{ output: draft('ok'), delayMs: 5 }], { clock });
  const writer = defineAgent({ id: 'writer', output: Draft, run: agentRun });
  const workflow = defineWorkflow({ id: 'crashing', output: Draft, steps: [writer] });
  const ended: string[] = [];
  const reports: unknown[] = [];
  const deps: RunDeps = {
    clock,
    // A custom action that throws, in place of one of the workflow's own.
    machine: workflow.machine.provide({
      actions: {
        [action]: () => {
          throw new Error(`${action} broke`);
        },
      },
    } as never) as RunDeps['machine'],
    inspectors: [],
    exporters: [],
    onObserverError: (error) => reports.push(error),
    onEnd: (runId) => ended.push(runId),
  };
  const run = startRun(deps, workflow, {}, 'run-1', undefined);
  return { run, calls: agentRun.calls, clock, ended, reports };
}

describe('the workflow actor crashes', () => {
  it('in its first step’s entry (while starting): the run fails once, naming the crash', async () => {
    const { run, calls, ended, reports } = crashingRun('enterStep');
    const result = await run.done;
    expect(result).toMatchObject({
      status: 'failed',
      runId: 'run-1',
      reason: 'the workflow actor crashed: enterStep broke',
    });
    expect(await run.result).toBe(result);
    // XState reports the snapshot it was starting from after the crash: the run stays ended.
    expect(ended).toEqual(['run-1']);
    expect(reports).toEqual([]);
    expect(run.trace().spans.find((s) => s.operation === 'run')).toMatchObject({ status: 'error' });
    // XState stops no children when an actor crashes: the run stops its agent, whose call is aborted.
    expect(calls).toHaveLength(1);
    expect(calls[0]!.signal.aborted).toBe(true);
  });

  it('in a later transition (writing the output): the run fails once, naming the crash', async () => {
    const { run, clock, ended } = crashingRun('write');
    await clock.advance(10);
    const result = await run.done;
    expect(result).toMatchObject({ status: 'failed', reason: 'the workflow actor crashed: write broke' });
    expect(ended).toEqual(['run-1']);
  });
});
