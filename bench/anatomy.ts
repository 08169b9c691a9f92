/**
 * What one sequential three-step run costs, by kind: actors, inspection events, snapshots.
 *   npx tsc -p tsconfig.build.json && node --expose-gc dist/bench/anatomy.js
 */
import { createActor, type InspectionEvent } from 'xstate';
import { createRuntime } from '../src/index.js';
import { threeSteps } from './workflow.js';

const { workflow, bare } = threeSteps('anatomy', async () => ({ content: 'ok', confidence: 0.9 }));

function count() {
  const by = new Map<string, number>();
  const actors = new Set<string>();
  const inspect = (e: InspectionEvent) => {
    by.set(e.type, (by.get(e.type) ?? 0) + 1);
    actors.add(e.actorRef.sessionId);
  };
  return { by, actors, inspect };
}

export async function anatomy() {
  const ours = count();
  const runtime = createRuntime({ observers: [ours.inspect] });
  await runtime.start(workflow, {}).done;
  await runtime.stop();
  const theirs = count();
  await new Promise<void>((resolve) => {
    const actor = createActor(bare, { inspect: theirs.inspect });
    actor.subscribe({ complete: () => resolve() });
    actor.start();
  });
  return { ours, theirs };
}

export function printAnatomy({ ours, theirs }: Awaited<ReturnType<typeof anatomy>>): void {
  const kinds = ['@xstate.actor', '@xstate.event', '@xstate.snapshot', '@xstate.microstep', '@xstate.action'];
  const head = ['actors', 'events', 'snapshots', 'microsteps', 'actions'];
  console.log(`${''.padEnd(28)}${head.map((k) => k.padStart(11)).join('')}`);
  for (const [name, c] of [
    ['agentcharts, 3 steps', ours],
    ['bare XState, 3 promises', theirs],
  ] as const) {
    console.log(`${name.padEnd(28)}${kinds.map((k) => String(c.by.get(k) ?? 0).padStart(11)).join('')}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) printAnatomy(await anatomy());
