import { h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { RunSummary } from '../view.js';
import { fmtMs, fmtTime, get } from './client.js';
import { onRuns, refetcher } from './signals.js';

/** The runs, newest first, a page at a time (the server pages: thousands of runs stay fast). */

interface Page {
  total: number;
  offset: number;
  limit: number;
  counts: Record<string, number>;
  runs: RunSummary[];
}

export const PAGE_SIZE = 50;
const STATUSES = ['running', 'awaitingReview', 'completed', 'fallback', 'failed', 'cancelled'];

export function StatusBadge({ status }: { status: string }) {
  return h('span', { class: `badge ${status}` }, status);
}

export function RunsView() {
  const [page, setPage] = useState<Page | null>(null);
  const [offset, setOffset] = useState(0);
  const [status, setStatus] = useState('');
  const [q, setQ] = useState('');
  const [error, setError] = useState<string | null>(null);
  const shown = useRef<Page | null>(null);
  shown.current = page;

  useEffect(() => {
    const query = new URLSearchParams({ offset: String(offset), limit: String(PAGE_SIZE) });
    if (status) query.set('status', status);
    if (q) query.set('q', q);
    let loading = false;
    const load = refetcher(async () => {
      loading = true;
      try {
        const next = await get<Page>(`runs?${query}`);
        shown.current = next;
        setPage(next);
        setError(null);
      } catch (e) {
        setError(String(e));
      } finally {
        loading = false;
      }
    });
    void load();
    return onRuns(({ runs, refresh }) => {
      const current = shown.current;
      // A change during a fetch may be older or newer than its answer: fetch again after it.
      if (refresh || loading || !current) return void load();
      // Patch the rows shown; a run this page does not show yet (a new one) means a fresh page.
      const byId = new Map(runs.map((r) => [r.id, r]));
      const unknown = runs.some((r) => !current.runs.some((c) => c.id === r.id));
      if (unknown || status) return void load();
      const next = { ...current, runs: current.runs.map((r) => byId.get(r.id) ?? r) };
      shown.current = next;
      setPage(next);
    });
  }, [offset, status, q]);

  const total = page?.total ?? 0;
  return h(
    'section',
    { class: 'runs' },
    h(
      'div',
      { class: 'toolbar' },
      h(
        'select',
        {
          value: status,
          'aria-label': 'status',
          onChange: (e: Event) => {
            setOffset(0);
            setStatus((e.target as HTMLSelectElement).value);
          },
        },
        h('option', { value: '' }, 'all statuses'),
        STATUSES.map((s) => h('option', { value: s }, `${s} (${page?.counts[s] ?? 0})`)),
      ),
      h('input', {
        type: 'search',
        placeholder: 'run or workflow id',
        value: q,
        onInput: (e: Event) => {
          setOffset(0);
          setQ((e.target as HTMLInputElement).value);
        },
      }),
      h('span', { class: 'count', 'data-total': total }, `${total} runs`),
      h(
        'span',
        { class: 'pager' },
        h(
          'button',
          { disabled: offset === 0, onClick: () => setOffset(Math.max(0, offset - PAGE_SIZE)) },
          '‹ newer',
        ),
        h('span', null, total ? `${offset + 1}–${Math.min(total, offset + PAGE_SIZE)}` : '0'),
        h(
          'button',
          { disabled: offset + PAGE_SIZE >= total, onClick: () => setOffset(offset + PAGE_SIZE) },
          'older ›',
        ),
      ),
    ),
    error ? h('p', { class: 'error' }, error) : null,
    h(
      'table',
      { id: 'runs' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          ['run', 'workflow', 'status', 'started', 'duration', 'current step'].map((c) => h('th', null, c)),
        ),
      ),
      h(
        'tbody',
        null,
        (page?.runs ?? []).map((r) =>
          h(
            'tr',
            { key: r.id, 'data-run': r.id, 'data-status': r.status },
            h('td', null, h('a', { href: `#/runs/${encodeURIComponent(r.id)}` }, r.id)),
            h('td', null, r.workflowId),
            h('td', null, h(StatusBadge, { status: r.status })),
            h('td', null, fmtTime(r.startedAt)),
            h('td', null, fmtMs(r.durationMs)),
            h('td', { class: 'step', title: r.reason ?? '' }, r.step ?? r.reason ?? ''),
          ),
        ),
      ),
    ),
  );
}
