import { h } from 'preact';
import type { BreakerRow } from '../view.js';
import { fmtTime } from './client.js';

/** The runtime's breakers: state, consecutive failures, times opened, next probe. */
export function BreakersView({ rows }: { rows: BreakerRow[] | null }) {
  if (!rows) return h('p', { class: 'muted' }, 'loading…');
  return h(
    'section',
    null,
    h('h2', null, 'Breakers'),
    rows.length === 0
      ? h('p', { class: 'muted' }, 'no breaker has been used yet')
      : h(
          'table',
          { id: 'breakers' },
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              ['edge', 'state', 'failures', 'opened', 'next probe', 'last failure'].map((c) =>
                h('th', null, c),
              ),
            ),
          ),
          h(
            'tbody',
            null,
            rows.map((b) =>
              h(
                'tr',
                { key: b.key, 'data-breaker': b.key },
                h('td', null, h('code', null, b.key)),
                h('td', null, h('span', { class: `badge breaker-${b.state}` }, b.state)),
                h('td', null, String(b.failures)),
                h('td', null, String(b.opens)),
                h('td', null, b.probeAt ? fmtTime(b.probeAt) : ''),
                h('td', { class: 'muted' }, b.lastFailure ?? ''),
              ),
            ),
          ),
        ),
  );
}
