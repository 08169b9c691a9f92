/**
 * Where a sequential run's time goes, layer by layer, as CPU time per run against bare XState in
 * the same run (three agents that answer at once):
 *
 *   1. a plain XState chart of the workflow's shape: per step the same named states, eventless
 *      transitions and assigns, and the same happy path (checking → calling → the next step), with
 *      promise agents;
 *   2. the workflow statechart with its agents as promise actors (its own guards and actions);
 *   3. the workflow statechart with its agent statecharts (no runtime);
 *   4. the same with an inspection observer that does nothing (XState then builds an inspection
 *      event per microstep, action, event and snapshot);
 *   5. the runtime: state log, breakers, driver; 6. and tracing.
 *
 * Two floors, with nothing of agentcharts' own work: layer 1's chart with agents that are the least
 * a statechart actor can be (`minimalAgent`) and an inspection observer, and the same agents under
 * the leanest shape a guarded step can have (one state per step, every guardrail a guarded
 * transition: one microstep per step, as bare XState).
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/layers.js
 */
import { type AnyActorLogic, type AnyStateMachine, assign, createActor, fromPromise, setup } from 'xstate';
import { createRuntime, runAgent } from '../src/index.js';
import { threeSteps } from './workflow.js';

const answer = async () => ({ content: 'ok', confidence: 0.9 });
const { workflow, bare, agents } = threeSteps('layers', answer);

type Slots = Record<string, Record<string, unknown>>;
interface ShapeContext {
  taken: number;
  slots: Slots;
  state: Record<string, unknown>;
  version: number;
}

/**
 * Layer 1: the workflow's shape in plain XState, with assigns like the workflow's own. Its happy
 * path, as the workflow's: checking → calling (admitted on the way) → the next step (gated and
 * written on the way); `admitting`, `gating` and `writing` are there for the other answers.
 */
function sameShape(call: AnyActorLogic = fromPromise(answer)) {
  const ids = ['a', 'b', 'c'];
  const patch = (context: ShapeContext, id: string, fields: Record<string, unknown>) => ({
    slots: { ...context.slots, [id]: { ...context.slots[id], ...fields } },
  });
  const admit = (id: string) =>
    assign(({ context }: { context: ShapeContext }) => patch(context, id, { admission: { allowed: true } }));
  const gate = (id: string) =>
    assign(({ context, event }: { context: ShapeContext; event: unknown }) =>
      patch(context, id, { result: (event as { output: unknown }).output, decision: { passed: true } }),
    );
  const write = (id: string) =>
    assign(({ context }: { context: ShapeContext }) => ({
      ...patch(context, id, { written: { ok: true } }),
      state: { ...context.state, [id]: context.slots[id]!.result },
      version: context.version + 1,
    }));
  const passes = ({ event }: { event: unknown }) => (event as { output: unknown }).output !== undefined;
  const states: Record<string, unknown> = {};
  ids.forEach((id, i) => {
    const next = i < ids.length - 1 ? `#shape.running.${ids[i + 1]}` : '#shape.done';
    states[id] = {
      entry: assign(({ context }: { context: ShapeContext }) => ({
        taken: context.taken + 1,
        slots: { ...context.slots, [id]: { visit: 1 } },
      })),
      initial: 'checking',
      states: {
        checking: {
          always: [
            { guard: ({ context }: { context: ShapeContext }) => context.taken > 50, target: '#shape.done' },
            {
              guard: ({ context }: { context: ShapeContext }) => context.taken > 0,
              target: 'calling',
              actions: admit(id),
            },
            { target: 'admitting' },
          ],
        },
        admitting: { entry: admit(id), always: { target: 'calling' } },
        calling: {
          invoke: {
            src: 'call',
            onDone: [{ guard: passes, target: next, actions: [gate(id), write(id)] }, { target: 'gating' }],
          },
        },
        gating: { entry: gate(id), always: { target: 'writing' } },
        writing: { entry: write(id), always: { target: next } },
      },
    };
  });
  return setup({ actors: { call } }).createMachine({
    id: 'shape',
    initial: 'running',
    context: { taken: 0, slots: {}, state: {}, version: 0 },
    states: { running: { initial: 'a', states }, done: { type: 'final' } },
  } as never) as unknown as AnyStateMachine;
}

/**
 * The least an agent can be as a statechart actor: one state that starts the call in its entry,
 * takes the result as an event and ends with an output. No validation, limits or timers.
 */
const minimalAgent = setup({
  actions: {
    start: ({ self }) => {
      void answer().then((output) => self.send({ type: 'output', output }));
    },
  },
}).createMachine({
  context: { output: null as unknown },
  initial: 'attempting',
  states: {
    attempting: {
      entry: 'start',
      on: {
        output: {
          target: 'done',
          actions: assign({ output: ({ event }) => (event as unknown as { output: unknown }).output }),
        },
      },
    },
    done: { type: 'final' },
  },
  output: ({ context }) => context.output,
});

/** The leanest shape a guarded step can have: one state per step, every guardrail a guarded transition. */
function leanestShape(call: AnyActorLogic) {
  const ids = ['a', 'b', 'c'];
  const states: Record<string, unknown> = {};
  ids.forEach((id, i) => {
    const next = i < ids.length - 1 ? `#lean.running.${ids[i + 1]}` : '#lean.done';
    states[id] = {
      entry: assign(({ context }: { context: ShapeContext }) => ({
        taken: context.taken + 1,
        slots: { ...context.slots, [id]: { visit: 1, admission: { allowed: true } } },
      })),
      invoke: {
        src: 'call',
        onDone: [
          { guard: ({ context }: { context: ShapeContext }) => context.taken > 50, target: '#lean.done' },
          {
            target: next,
            actions: assign(({ context, event }: { context: ShapeContext; event: unknown }) => {
              const output = (event as { output: unknown }).output;
              return {
                slots: {
                  ...context.slots,
                  [id]: { ...context.slots[id], result: output, decision: { passed: true } },
                },
                state: { ...context.state, [id]: output },
                version: context.version + 1,
              };
            }),
          },
        ],
      },
    };
  });
  return setup({ actors: { call } }).createMachine({
    id: 'lean',
    initial: 'running',
    context: { taken: 0, slots: {}, state: {}, version: 0 },
    states: { running: { initial: 'a', states }, done: { type: 'final' } },
  } as never) as unknown as AnyStateMachine;
}

const runMachine =
  (machine: AnyStateMachine, options: Record<string, unknown> = {}) =>
  () =>
    new Promise<void>((resolve) => {
      const actor = createActor(machine, options);
      actor.subscribe({ complete: () => resolve() });
      actor.start();
    });

/** CPU µs per run (user + system), 100 runs in flight at a time; the best of 5 rounds. */
async function cpuPerRun(once: () => Promise<unknown>): Promise<number> {
  const batch = () => Promise.all(Array.from({ length: 100 }, once));
  for (let i = 0; i < 5; i++) await batch();
  const cpu = () => {
    const used = process.cpuUsage();
    return used.user + used.system;
  };
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 5; round++) {
    const started = cpu();
    for (let i = 0; i < 20; i++) await batch();
    best = Math.min(best, (cpu() - started) / 2000);
  }
  return best;
}

export interface Layer {
  name: string;
  cpuMicros: number;
}

export async function layersBench(): Promise<Layer[]> {
  const result = await runAgent(agents[0]!, {});
  const promised = workflow.machine.provide({
    actors: Object.fromEntries(agents.map((agent) => [`agent:${agent.id}`, fromPromise(async () => result)])),
  } as never) as AnyStateMachine;
  const input = { input: { input: {} } };
  const off = createRuntime({ tracing: false });
  const on = createRuntime();
  const layers: Array<[string, () => Promise<unknown>]> = [
    ['bare XState, 3 invoked promises', runMachine(bare)],
    ['1. plain XState chart of the same shape', runMachine(sameShape())],
    [
      '   floor: same shape, minimal agents, observer',
      runMachine(sameShape(minimalAgent), { inspect: () => {} }),
    ],
    [
      '   floor: leanest shape, minimal agents, obs.',
      runMachine(leanestShape(minimalAgent), { inspect: () => {} }),
    ],
    ['2. workflow statechart, agents as promises', runMachine(promised, input)],
    ['3. workflow statechart, agent statecharts', runMachine(workflow.machine as AnyStateMachine, input)],
    [
      '4. + an inspection observer doing nothing',
      runMachine(workflow.machine as AnyStateMachine, { ...input, inspect: () => {} }),
    ],
    ['5. runtime (log, breakers), tracing off', () => off.start(workflow, {}).done],
    ['6. runtime, tracing on', () => on.start(workflow, {}).done],
  ];
  const out: Layer[] = [];
  for (const [name, once] of layers) out.push({ name, cpuMicros: await cpuPerRun(once) });
  await off.stop();
  await on.stop();
  return out;
}

export function printLayersReport(layers: Layer[]): void {
  const bare = layers[0]!.cpuMicros;
  for (const layer of layers) {
    console.log(
      `${layer.name.padEnd(44)} ${layer.cpuMicros.toFixed(0).padStart(5)} µs CPU/run  ${(layer.cpuMicros / bare).toFixed(1).padStart(4)}x bare`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) printLayersReport(await layersBench());
