import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import { h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { GraphNode, WorkflowGraph } from '../graph.js';

/**
 * The workflow's statechart, laid out by elkjs (the Eclipse Layout Kernel, the engine behind Stately's
 * own visualiser) and drawn as SVG. ELK is loaded on first use (a separate chunk) and each workflow is
 * laid out once; live updates only move the `active` classes.
 */

interface Box {
  node: GraphNode;
  /** Drawn as a container (label top-left): a compound state, or a calling state with its agent's loop. */
  container: boolean;
  x: number;
  y: number;
  width: number;
  height: number;
}
interface Layout {
  width: number;
  height: number;
  boxes: Box[];
  edges: Array<{
    id: string;
    label: string;
    points: Array<{ x: number; y: number }>;
    labelAt: { x: number; y: number } | null;
  }>;
}

const layouts = new Map<string, Promise<Layout>>();
const CHAR = 6.6;

async function layoutGraph(graph: WorkflowGraph): Promise<Layout> {
  // A CommonJS module: its default export is the ELK constructor (typed as the namespace under NodeNext).
  const module = await import('elkjs/lib/elk.bundled.js');
  const ELK = module.default as unknown as typeof import('elkjs/lib/elk-api.js').default;
  const elk = new ELK();
  const elkNodes = new Map<string, ElkNode>();
  const hasChildren = new Set(graph.nodes.map((n) => n.parent).filter((p): p is string => p !== null));
  for (const n of graph.nodes) {
    const compound = hasChildren.has(n.id);
    elkNodes.set(n.id, {
      id: n.id,
      ...(compound
        ? {
            layoutOptions: {
              'elk.padding': '[top=26,left=10,bottom=10,right=10]',
              'elk.direction': n.type === 'parallel' ? 'RIGHT' : 'DOWN',
            },
          }
        : { width: Math.max(70, n.label.length * CHAR + 20), height: 28 }),
      children: [],
    });
  }
  let root: ElkNode | undefined;
  for (const n of graph.nodes) {
    const node = elkNodes.get(n.id)!;
    if (n.parent === null) root = node;
    else elkNodes.get(n.parent)?.children?.push(node);
  }
  root!.layoutOptions = {
    'elk.algorithm': 'layered',
    'elk.direction': 'DOWN',
    'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
    'elk.layered.spacing.nodeNodeBetweenLayers': '28',
    'elk.spacing.nodeNode': '18',
    'elk.edgeLabels.inline': 'true',
  };
  root!.edges = graph.edges.map(
    (e): ElkExtendedEdge => ({
      id: e.id,
      sources: [e.source],
      targets: [e.target],
      labels: e.label ? [{ text: e.label, width: e.label.length * 5.6, height: 12 }] : [],
    }),
  );
  const laid = await elk.layout(root!);

  const boxes: Box[] = [];
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const place = (node: ElkNode, dx: number, dy: number) => {
    const x = dx + (node.x ?? 0);
    const y = dy + (node.y ?? 0);
    const container = (node.children ?? []).length > 0;
    boxes.push({
      node: byId.get(node.id)!,
      container,
      x,
      y,
      width: node.width ?? 0,
      height: node.height ?? 0,
    });
    for (const child of node.children ?? []) place(child, x, y);
  };
  place(laid, 0, 0);
  const edges = (laid.edges ?? []).map((edge: ElkExtendedEdge) => {
    const e = edge as ElkExtendedEdge & { container?: string };
    // Edge coordinates are relative to the edge's container node.
    const origin = boxes.find((b) => b.node.id === (e.container ?? laid.id));
    const ox = origin && origin.node.id !== laid.id ? origin.x : 0;
    const oy = origin && origin.node.id !== laid.id ? origin.y : 0;
    const points = (e.sections ?? []).flatMap((s) => [s.startPoint, ...(s.bendPoints ?? []), s.endPoint]);
    const label = e.labels?.[0];
    return {
      id: e.id,
      label: label?.text ?? '',
      points: points.map((p) => ({ x: p.x + ox, y: p.y + oy })),
      labelAt: label && label.x !== undefined ? { x: label.x + ox, y: (label.y ?? 0) + oy + 9 } : null,
    };
  });
  return { width: laid.width ?? 0, height: laid.height ?? 0, boxes, edges };
}

export function Diagram({
  workflowId,
  graph,
  active,
  visited = [],
}: {
  workflowId: string;
  graph: WorkflowGraph;
  active: string[];
  /** States the run has been in: its path, drawn fainter than the active ones. */
  visited?: string[];
}) {
  const [layout, setLayout] = useState<Layout | null>(null);
  const [error, setError] = useState<string | null>(null);
  const svg = useRef<SVGSVGElement>(null);
  const [fit, setFit] = useState(false);
  const key = active.join(' ');
  // Follow the run: keep the innermost active state in view inside the scrolling panel.
  useEffect(() => {
    const panel = svg.current?.closest<HTMLElement>('.panel');
    const leaves = svg.current?.querySelectorAll<SVGGElement>('g.state.active:not(.container)');
    const target = leaves?.[leaves.length - 1];
    if (!panel || !target) return;
    const box = target.getBoundingClientRect();
    const view = panel.getBoundingClientRect();
    panel.scrollTop += box.top - view.top - view.height / 2 + box.height / 2;
    panel.scrollLeft += box.left - view.left - view.width / 2 + box.width / 2;
  }, [layout, key, fit]);
  useEffect(() => {
    let promise = layouts.get(workflowId);
    if (!promise) {
      promise = layoutGraph(graph);
      layouts.set(workflowId, promise);
      promise.catch(() => layouts.delete(workflowId));
    }
    promise.then(setLayout, (e: unknown) => setError(String(e)));
  }, [workflowId]);
  if (error) return h('p', { class: 'error' }, `diagram: ${error}`);
  if (!layout) return h('p', { class: 'muted' }, 'laying out the statechart…');
  const on = new Set(active);
  const been = new Set(visited);
  const toggle = h(
    'button',
    {
      class: 'fit',
      onClick: () => setFit(!fit),
      title: 'fit the whole statechart in the panel, or show it at full size',
    },
    fit ? 'full size' : 'fit',
  );
  return h(
    'div',
    { class: 'diagram-wrap' },
    toggle,
    h(
      'svg',
      {
        ref: svg,
        class: fit ? 'diagram fit' : 'diagram',
        width: fit ? '100%' : layout.width,
        height: fit ? undefined : layout.height,
        viewBox: `0 0 ${layout.width} ${layout.height}`,
        role: 'img',
        'aria-label': `statechart of ${workflowId}`,
      },
      h(
        'defs',
        null,
        h(
          'marker',
          {
            id: 'arrow',
            viewBox: '0 0 10 10',
            refX: 9,
            refY: 5,
            markerWidth: 6,
            markerHeight: 6,
            orient: 'auto',
          },
          h('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }),
        ),
      ),
      layout.boxes
        .filter((b) => b.node.parent !== null)
        .map((b) =>
          h(
            'g',
            {
              key: b.node.id,
              class: `state ${b.node.type}${b.container ? ' container' : ''}${b.node.guardrail ? ` guard-${b.node.guardrail}` : ''}${on.has(b.node.id) ? ' active' : been.has(b.node.id) ? ' visited' : ''}`,
              'data-state': b.node.id,
              'data-active': on.has(b.node.id) ? 'true' : undefined,
            },
            h('rect', { x: b.x, y: b.y, width: b.width, height: b.height, rx: 6 }),
            h(
              'text',
              {
                x: b.x + (b.container ? 8 : b.width / 2),
                y: b.y + (b.container ? 16 : b.height / 2 + 4),
                'text-anchor': b.container ? 'start' : 'middle',
              },
              b.node.type === 'parallel' ? `${b.node.label} ∥` : b.node.label,
            ),
          ),
        ),
      layout.edges.map((e) =>
        h(
          'g',
          { key: e.id, class: 'edge' },
          h('polyline', {
            points: e.points.map((p) => `${p.x},${p.y}`).join(' '),
            'marker-end': 'url(#arrow)',
          }),
          e.labelAt && e.label ? h('text', { x: e.labelAt.x, y: e.labelAt.y }, e.label) : null,
        ),
      ),
    ),
  );
}
