import { h, render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { BreakerRow, RunSummary } from '../view.js';
import { BreakersView } from './breakers.js';
import { get, subscribe } from './client.js';
import { type Review, ReviewsView } from './reviews.js';
import { RunView } from './run.js';
import { RunsView } from './runs.js';
import { emit } from './signals.js';

/** The console page: hash routes (#/, #/runs/<id>, #/reviews, #/breakers) over one live connection. */

const routeOf = (hash: string) => {
  const path = hash.replace(/^#\/?/, '');
  if (path.startsWith('runs/')) return { view: 'run' as const, id: decodeURIComponent(path.slice(5)) };
  if (path === 'reviews') return { view: 'reviews' as const };
  if (path === 'breakers') return { view: 'breakers' as const };
  return { view: 'runs' as const };
};

function App() {
  const [route, setRoute] = useState(() => routeOf(location.hash));
  const [connected, setConnected] = useState(false);
  const [reviews, setReviews] = useState<Review[] | null>(null);
  const [breakers, setBreakers] = useState<BreakerRow[] | null>(null);

  useEffect(() => {
    const onHash = () => setRoute(routeOf(location.hash));
    addEventListener('hashchange', onHash);
    const stop = subscribe({
      connected: setConnected,
      refresh: () => {
        emit({ runs: [], total: 0, refresh: true });
        get<Review[]>('reviews').then(setReviews, () => {});
      },
      runs: (runs: RunSummary[], total: number) => emit({ runs, total }),
      reviews: (list) => setReviews(list as Review[]),
      breakers: (rows) => setBreakers(rows as BreakerRow[]),
    });
    // The header's review count is right from the first paint, not from the first change.
    get<Review[]>('reviews').then(setReviews, () => {});
    return () => {
      removeEventListener('hashchange', onHash);
      stop();
    };
  }, []);

  const pending = reviews?.length ?? 0;
  const link = (href: string, label: string, active: boolean) =>
    h('a', { href, class: active ? 'tab active' : 'tab' }, label);
  return h(
    'div',
    { class: 'shell' },
    h(
      'header',
      null,
      h('strong', null, 'agentcharts console'),
      h(
        'nav',
        null,
        link('#/', 'Runs', route.view === 'runs' || route.view === 'run'),
        link('#/reviews', `Reviews${pending ? ` (${pending})` : ''}`, route.view === 'reviews'),
        link('#/breakers', 'Breakers', route.view === 'breakers'),
      ),
      h(
        'span',
        { class: connected ? 'live on' : 'live', 'data-live': connected ? 'on' : 'off' },
        connected ? '● live' : '○ reconnecting',
      ),
    ),
    h(
      'main',
      null,
      route.view === 'runs'
        ? h(RunsView, null)
        : route.view === 'run'
          ? h(RunView, { id: route.id, key: route.id })
          : route.view === 'reviews'
            ? h(ReviewsView, { reviews, setReviews })
            : h(BreakersView, { rows: breakers, setRows: setBreakers }),
    ),
  );
}

render(h(App, null), document.getElementById('app')!);
