import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { WorkflowGraph } from '../graph.js';
import type { LogLine, RunSummary } from '../view.js';
import { ApiError, fmtMs, fmtTime, get, post } from './client.js';
import { Diagram } from './diagram.js';
import { LogScrubber } from './log.js';
import { type Review, ReviewCard } from './reviews.js';
import { StatusBadge } from './runs.js';
import { onRuns, refetcher } from './signals.js';
import { type SpanLike, Waterfall } from './waterfall.js';

/** One run: its statechart with the active states lit, its trace, its state log and its reviews. */

export interface RunDetail {
  summary: RunSummary;
  now: number;
  details: boolean;
  graph: WorkflowGraph;
  active: string[];
  visited: string[];
  spans: SpanLike[];
  logTotal: number;
  log: LogLine[];
  reviews: Review[];
  readOnly: boolean;
}

export function RunView({ id }: { id: string }) {
  const [detail, setDetail] = useState<RunDetail | null>(null);
  const [missing, setMissing] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const load = refetcher(async () => {
      try {
        setDetail(await get<RunDetail>(`runs/${encodeURIComponent(id)}`));
        setMissing(false);
        setError(null);
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) setMissing(true);
        else setError(String(e));
      }
    });
    void load();
    return onRuns(({ runs, refresh }) => {
      if (refresh || runs.some((r) => r.id === id)) void load();
    });
  }, [id]);

  if (missing)
    return h(
      'section',
      { class: 'not-found', 'data-testid': 'not-found' },
      h('h2', null, 'Run not found'),
      h(
        'p',
        null,
        `No run "${id}" in this runtime: it never ran here, or it ended long enough ago to be dropped.`,
      ),
      h('a', { href: '#/' }, '← all runs'),
    );
  if (!detail) return h('p', { class: error ? 'error' : 'muted' }, error ?? 'loading…');
  const s = detail.summary;
  const live = s.status === 'running' || s.status === 'awaitingReview';
  return h(
    'section',
    { class: 'run', 'data-run': s.id, 'data-status': s.status },
    h(
      'div',
      { class: 'run-head' },
      h('a', { href: '#/' }, '← runs'),
      h('h2', null, s.id),
      h(StatusBadge, { status: s.status }),
      h(
        'span',
        { class: 'muted' },
        `${s.workflowId} · started ${fmtTime(s.startedAt)} · ${fmtMs(s.durationMs)}`,
      ),
      s.step ? h('span', { class: 'step' }, s.step) : null,
      live && !detail.readOnly ? h(CancelButton, { id: s.id }) : null,
    ),
    s.reason ? h('p', { class: 'reason' }, s.reason) : null,
    error ? h('p', { class: 'error' }, error) : null,
    detail.reviews.length
      ? h(
          'div',
          { class: 'run-reviews' },
          detail.reviews.map((r) => h(ReviewCard, { review: r, key: r.reviewId })),
        )
      : null,
    h(
      'div',
      { class: 'panels' },
      h(
        'div',
        { class: 'panel chart' },
        h('h3', null, 'Statechart'),
        detail.graph.nodes.length
          ? h(Diagram, {
              workflowId: s.workflowId,
              graph: detail.graph,
              active: detail.active,
              visited: detail.visited,
            })
          : h(
              'p',
              { class: 'muted' },
              'no statechart: this console was not given the workflow (agentcharts console --module)',
            ),
      ),
      h(
        'div',
        { class: 'panel side' },
        h('h3', null, 'Trace'),
        detail.details
          ? h(Waterfall, { spans: detail.spans, now: detail.now })
          : h('p', { class: 'muted' }, 'this finished run’s trace was released; only its summary is kept'),
        h('h3', null, `State log (${detail.logTotal})`),
        detail.details
          ? h(LogScrubber, { runId: s.id, lines: detail.log })
          : h('p', { class: 'muted' }, 'this finished run’s log was released; only its summary is kept'),
      ),
    ),
  );
}

function CancelButton({ id }: { id: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return h(
    'span',
    null,
    h(
      'button',
      {
        class: 'danger',
        disabled: busy,
        onClick: async () => {
          if (!confirm(`Cancel run ${id}?`)) return;
          setBusy(true);
          try {
            await post(`runs/${encodeURIComponent(id)}/cancel`, {
              by: localStorage.getItem('agentcharts.by') || undefined,
            });
          } catch (e) {
            setError(String(e));
          } finally {
            setBusy(false);
          }
        },
      },
      'Cancel run',
    ),
    error ? h('span', { class: 'error' }, error) : null,
  );
}
