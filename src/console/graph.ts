import type { AnyActorRef, AnyStateMachine } from 'xstate';

/**
 * A workflow's statechart as plain nodes and edges for the console's diagram, read from the compiled
 * XState machine itself (so what is drawn is what runs): every state a node, each agent call's own
 * statechart nested inside its `calling` state, and the guardrails' states tagged so the page can
 * colour them.
 */

export type Guardrail =
  | 'breaker'
  | 'attempt'
  | 'backoff'
  | 'gate'
  | 'review'
  | 'write'
  | 'fallback'
  | 'failed';

export interface GraphNode {
  /** The XState state node id (agent states: `<calling state id>~<agent state id>`). */
  id: string;
  label: string;
  parent: string | null;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  guardrail?: Guardrail;
  /** The step this node belongs to (a top-level step's id). */
  step?: string;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  label: string;
}

export interface WorkflowGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

interface StateNodeLike {
  id: string;
  key: string;
  type: GraphNode['type'];
  states: Record<string, StateNodeLike>;
  transitions: Map<string, Array<{ target?: StateNodeLike[] }>>;
  always?: Array<{ target?: StateNodeLike[] }>;
  invoke: Array<{ id: string; src: unknown }>;
}

const GUARDRAILS: Record<string, Guardrail> = {
  admitting: 'breaker',
  attempting: 'attempt',
  backingOff: 'backoff',
  gating: 'gate',
  reviewing: 'review',
  writing: 'write',
  fallback: 'fallback',
  timedOut: 'fallback',
  maxIterations: 'fallback',
  invalidOutput: 'fallback',
  deadlineExceeded: 'fallback',
  failed: 'failed',
};

/** A short label for a transition, from its event and where it goes. */
function edgeLabel(event: string, from: string, to: string): string {
  const source = from.split(/[.~]/).at(-1)!;
  const target = to.split(/[.~]/).at(-1)!;
  if (event === '') {
    if (source === 'deciding')
      return target === 'attempting' ? 'retry' : target === 'backingOff' ? 'back off' : '';
    // A closed breaker admits on the way out of `checking`; any other is asked in `admitting`.
    if (source === 'checking')
      return target === 'admitting' ? 'ask the breaker' : target === 'fallback' ? 'step limit' : 'admitted';
    // The breaker, the gate and the write decide inside the transition; these route on the answer.
    if (source === 'admitting')
      return target === 'fallback'
        ? 'breaker open'
        : target === 'reviewing'
          ? 'breaker open → review'
          : 'admitted';
    if (source === 'gating')
      return target === 'fallback' ? 'gate blocked' : target === 'reviewing' ? 'needs review' : 'passed';
    if (source === 'writing') return target === 'fallback' ? 'write conflict' : 'written';
    return '';
  }
  if (event === 'cancel') return 'cancel';
  if (event.includes('Deadline') || event === 'workflow.deadline') return 'deadline';
  if (event.startsWith('xstate.after.') || event.endsWith('Timer'))
    return source === 'backingOff' ? 'retry' : 'timeout';
  if (event.endsWith('backoffDone')) return 'retry';
  if (event.startsWith('xstate.done.actor.')) {
    if (target === 'fallback') return 'rejected / expired';
    if (target === 'gating') return 'output';
    // A result the gate passes and the shared state accepts: gated and written in this transition.
    return source === 'calling' ? 'passed · written' : 'done';
  }
  if (event.startsWith('xstate.error.actor.')) return 'error';
  return event.replace(/^agent\./, '');
}

const AGENT_SRC = /^agent:/;

/** The diagram of a compiled workflow machine; `actors` are its provided actor logics (for agent charts). */
export function workflowGraph(machine: AnyStateMachine): WorkflowGraph {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const actors = (machine.implementations?.actors ?? {}) as Record<string, unknown>;

  const edgeIndex = new Map<string, GraphEdge>();
  /** Transitions of `node` as edges; `within` limits targets (an agent chart draws its loop only). */
  const addEdges = (node: StateNodeLike, id: string, prefix: string, within: string | null) => {
    const add = (event: string, targets: StateNodeLike[] | undefined) => {
      for (const t of targets ?? []) {
        const target = prefix + t.id;
        if (target === id || (within !== null && !target.startsWith(within))) continue;
        // A crash of an invoked actor is a bug path (workflow.failed), not a guardrail: left out.
        if (event.startsWith('xstate.error.actor.') && within === null) continue;
        const label = edgeLabel(event, id, target);
        const key = `${id}->${target}`;
        const existing = edgeIndex.get(key);
        if (existing) {
          if (label && !existing.label.split(' / ').includes(label))
            existing.label = existing.label ? `${existing.label} / ${label}` : label;
          continue;
        }
        const edge = { id: key, source: id, target, label };
        edgeIndex.set(key, edge);
        edges.push(edge);
      }
    };
    for (const [event, transitions] of node.transitions) {
      if (event === 'restore' || event === 'workflow.resume') continue;
      for (const t of transitions) add(event, t.target);
    }
    for (const t of node.always ?? []) add('', t.target);
  };

  const walk = (node: StateNodeLike, parent: string | null, step: string | undefined) => {
    const id = node.id;
    const guardrail = GUARDRAILS[node.key];
    nodes.push({
      id,
      label: node.key,
      parent,
      type: node.type,
      ...(guardrail && parent !== null ? { guardrail } : {}),
      ...(step ? { step } : {}),
    });
    addEdges(node, id, '', null);
    // An agent call: its attempt loop (attempt, validate, decide, back off) drawn inside the calling
    // state; its final states are the call's outcomes, which the step's own transitions show.
    for (const invoke of node.invoke) {
      const src = typeof invoke.src === 'string' ? invoke.src : '';
      const logic = actors[src] as { root?: StateNodeLike } | undefined;
      const loop = logic?.root?.states.running;
      if (!AGENT_SRC.test(src) || !loop) continue;
      const prefix = `${id}~`;
      for (const state of Object.values(loop.states)) {
        const guard = GUARDRAILS[state.key];
        nodes.push({
          id: prefix + state.id,
          label: state.key,
          parent: id,
          type: state.type,
          ...(guard ? { guardrail: guard } : {}),
          ...(step ? { step } : {}),
        });
        addEdges(state, prefix + state.id, prefix, `${prefix}${loop.id}.`);
      }
    }
    for (const child of Object.values(node.states)) {
      const childStep =
        step ?? (node.id === 'workflow.running' && child.key !== 'finishing' ? child.key : undefined);
      walk(child, id, childStep);
    }
  };
  walk(machine.root as unknown as StateNodeLike, null, undefined);
  return { nodes, edges };
}

interface ActorSnapshotLike {
  value?: unknown;
  status?: string;
  children?: Record<string, AnyActorRef | undefined>;
}

/** The ids of the active state nodes (leaves and their ancestors), agent calls' states included. */
export function activeStates(machine: AnyStateMachine, snapshot: unknown): string[] {
  const out: string[] = [];
  const s = snapshot as ActorSnapshotLike;
  const children = s.children ?? {};
  const visit = (node: StateNodeLike, value: unknown, prefix: string) => {
    out.push(prefix + node.id);
    for (const invoke of node.invoke) {
      const child = children[invoke.id];
      const logic = (child as { logic?: { root?: StateNodeLike } } | undefined)?.logic;
      const childSnap = child?.getSnapshot?.() as ActorSnapshotLike | undefined;
      if (prefix === '' && logic?.root && AGENT_SRC.test(invoke.id) && childSnap?.status === 'active')
        visit(logic.root, childSnap.value, `${node.id}~`);
    }
    if (typeof value === 'string') {
      const child = node.states[value];
      if (child) visit(child, undefined, prefix);
    } else if (value && typeof value === 'object') {
      for (const [key, sub] of Object.entries(value)) {
        const child = node.states[key];
        if (child) visit(child, sub, prefix);
      }
    }
  };
  if (s.value !== undefined) visit(machine.root as unknown as StateNodeLike, s.value, '');
  return out;
}

/** The active step(s) of a workflow snapshot, e.g. `writer · reviewing` or `checks · fact-checker calling, …`. */
export function currentStep(value: unknown): string | null {
  if (!value || typeof value !== 'object') return null;
  const running = (value as Record<string, unknown>).running;
  if (!running || typeof running !== 'object') return null;
  const [step, sub] =
    Object.entries(running as Record<string, unknown>).find(([k]) => k !== 'blackboard') ?? [];
  if (!step) return null;
  if (typeof sub === 'string') return `${step} · ${sub}`;
  if (sub && typeof sub === 'object') {
    const branches = (sub as Record<string, unknown>).branches;
    if (branches && typeof branches === 'object')
      return `${step} · ${Object.entries(branches)
        .map(([b, v]) => `${b} ${typeof v === 'string' ? v : Object.keys(v as object)[0]}`)
        .join(', ')}`;
    return `${step} · ${Object.keys(sub)[0]}`;
  }
  return step;
}
