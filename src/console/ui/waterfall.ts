import { h } from 'preact';
import { fmtMs } from './client.js';

/** The trace as a waterfall: one bar per span (run, step, agent call, attempt, gate, breaker, escalation). */

export interface SpanLike {
  spanId: string;
  parentSpanId: string | null;
  name: string;
  operation: string;
  status: string;
  startedAt: number;
  endedAt?: number;
  reason?: string;
  attributes: Record<string, string | number | boolean>;
}

/** `now` is the runtime's clock (not the browser's): spans still open end there. */
export function Waterfall({ spans, now }: { spans: SpanLike[]; now: number }) {
  if (spans.length === 0) return h('p', { class: 'muted' }, 'no spans');
  const start = Math.min(...spans.map((s) => s.startedAt));
  const end = Math.max(...spans.map((s) => s.endedAt ?? Math.max(s.startedAt, now)));
  const total = Math.max(1, end - start);
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const depth = (s: SpanLike): number => {
    let d = 0;
    for (let p = s.parentSpanId; p && d < 10; p = byId.get(p)?.parentSpanId ?? null) d++;
    return d;
  };
  // Children right under their parent, in start order.
  const ordered: SpanLike[] = [];
  const kids = new Map<string | null, SpanLike[]>();
  for (const s of [...spans].sort((a, b) => a.startedAt - b.startedAt)) {
    const key = s.parentSpanId && byId.has(s.parentSpanId) ? s.parentSpanId : null;
    kids.set(key, [...(kids.get(key) ?? []), s]);
  }
  const visit = (parent: string | null) => {
    for (const s of kids.get(parent) ?? []) {
      ordered.push(s);
      visit(s.spanId);
    }
  };
  visit(null);
  return h(
    'div',
    { class: 'waterfall' },
    ordered.map((s) => {
      const to = s.endedAt ?? now;
      const left = ((s.startedAt - start) / total) * 100;
      const width = Math.max(0.5, ((to - s.startedAt) / total) * 100);
      return h(
        'div',
        {
          class: `span-row op-${s.operation} ${s.status}`,
          key: s.spanId,
          title: `${s.name}: ${s.status}${s.reason ? ` — ${s.reason}` : ''}`,
        },
        h('span', { class: 'span-name', style: { paddingLeft: `${depth(s) * 10}px` } }, s.name),
        h(
          'span',
          { class: 'span-track' },
          h('span', { class: 'span-bar', style: { left: `${left}%`, width: `${width}%` } }),
        ),
        h('span', { class: 'span-ms' }, s.endedAt === undefined ? '…' : fmtMs(s.endedAt - s.startedAt)),
      );
    }),
  );
}
