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

if (import.meta.url === `file://${process.argv[1]}`) {
  const { ours, theirs } = await anatomy();
  for (const [name, c] of [
    ['agentcharts', ours],
    ['bare XState', theirs],
  ] as const) {
    console.log(name, 'actors', c.actors.size, Object.fromEntries(c.by));
  }
}
