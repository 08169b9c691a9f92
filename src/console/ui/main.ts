import { h, render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
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

/**
 * A list fed by both a fetch and the live stream (which sends the whole list): a fetch that answers
 * after a live update started later than it is dropped, so a slow answer never puts back old data.
 */
function feed<T>(path: string, set: (value: T) => void) {
  let version = 0;
  return {
    live(value: T) {
      version++;
      set(value);
    },
    fetch() {
      const at = ++version;
      get<T>(path).then(
        (value) => {
          if (version === at) set(value);
        },
        () => {},
      );
    },
  };
}

function App() {
  const [route, setRoute] = useState(() => routeOf(location.hash));
  const [connected, setConnected] = useState(false);
  const [reviews, setReviews] = useState<Review[] | null>(null);
  const [breakers, setBreakers] = useState<BreakerRow[] | null>(null);
  const feeds = useRef({
    reviews: feed<Review[]>('reviews', setReviews),
    breakers: feed<BreakerRow[]>('breakers', setBreakers),
  });
  const { reviews: reviewsFeed, breakers: breakersFeed } = feeds.current;

  useEffect(() => {
    const onHash = () => setRoute(routeOf(location.hash));
    addEventListener('hashchange', onHash);
    const stop = subscribe({
      connected: setConnected,
      refresh: () => {
        emit({ runs: [], total: 0, refresh: true });
        reviewsFeed.fetch();
        breakersFeed.fetch();
      },
      runs: (runs: RunSummary[], total: number) => emit({ runs, total }),
      reviews: (list) => reviewsFeed.live(list as Review[]),
      breakers: (rows) => breakersFeed.live(rows as BreakerRow[]),
    });
    // The header's review count is right from the first paint, not from the first change.
    reviewsFeed.fetch();
    return () => {
      removeEventListener('hashchange', onHash);
      stop();
    };
  }, []);

  // Fetched when shown too: a breaker's cooldown passes without any event.
  useEffect(() => {
    if (route.view === 'reviews') reviewsFeed.fetch();
    if (route.view === 'breakers') breakersFeed.fetch();
  }, [route.view]);

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
            ? h(ReviewsView, { reviews })
            : h(BreakersView, { rows: breakers }),
    ),
  );
}

render(h(App, null), document.getElementById('app')!);
