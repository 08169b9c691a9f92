import { h } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, fmtTime, post } from './client.js';

/** The review queue: approve, edit (checked against the agent's schema on the server) or reject. */

export interface Review {
  reviewId: string;
  runId: string;
  stepId: string;
  agentId: string;
  output: unknown;
  confidence: number;
  reason: string;
  placeholder: string;
  openedAt: number;
  expiresAt: number | null;
  schema: unknown;
}

type Issue = { path: string; message: string };

export function ReviewsView({ reviews }: { reviews: Review[] | null }) {
  if (!reviews) return h('p', { class: 'muted' }, 'loading…');
  return h(
    'section',
    { class: 'reviews' },
    h('h2', null, `Review queue (${reviews.length})`),
    reviews.length === 0
      ? h('p', { class: 'muted', 'data-testid': 'no-reviews' }, 'nothing waits for a human')
      : null,
    reviews.map((r) => h(ReviewCard, { review: r, key: r.reviewId })),
  );
}

export function ReviewCard({ review }: { review: Review }) {
  const [by, setBy] = useState(() => localStorage.getItem('agentcharts.by') ?? '');
  const [text, setText] = useState(() => JSON.stringify(review.output, null, 2) ?? 'null');
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ message: string; issues: Issue[] } | null>(null);
  const [done, setDone] = useState<string | null>(null);

  let parseError: string | null = null;
  try {
    JSON.parse(text);
  } catch (e) {
    parseError = (e as Error).message;
  }

  const act = async (action: 'approve' | 'edit' | 'reject') => {
    if (!by.trim())
      return setError({ message: 'enter your name: it is recorded with the decision', issues: [] });
    localStorage.setItem('agentcharts.by', by.trim());
    const body =
      action === 'edit'
        ? { by: by.trim(), output: JSON.parse(text) }
        : action === 'reject'
          ? { by: by.trim(), reason }
          : { by: by.trim() };
    setBusy(true);
    setError(null);
    try {
      const answer = await post<{ outcome: { decision: string; by?: string } }>(
        `reviews/${encodeURIComponent(review.reviewId)}/${action}`,
        body,
      );
      setDone(`${answer.outcome.decision} by ${answer.outcome.by ?? by}`);
    } catch (e) {
      setError(
        e instanceof ApiError
          ? { message: e.message, issues: e.body.issues ?? [] }
          : { message: String(e), issues: [] },
      );
    } finally {
      setBusy(false);
    }
  };

  return h(
    'article',
    { class: 'review', 'data-review': review.reviewId },
    h(
      'header',
      null,
      h('strong', null, `${review.agentId} · step ${review.stepId}`),
      h('a', { href: `#/runs/${encodeURIComponent(review.runId)}` }, review.runId),
      h('span', { class: 'confidence' }, `confidence ${Math.round(review.confidence * 100)}%`),
      h('span', { class: 'muted' }, `opened ${fmtTime(review.openedAt)}`),
    ),
    h('p', { class: 'reason' }, review.reason),
    done
      ? h('p', { class: 'decided' }, `✔ ${done}`)
      : h(
          'div',
          { class: 'decide' },
          h(
            'label',
            null,
            'output (JSON) ',
            h('textarea', {
              class: parseError ? 'editor invalid' : 'editor',
              rows: Math.min(14, text.split('\n').length + 1),
              spellcheck: false,
              value: text,
              onInput: (e: Event) => setText((e.target as HTMLTextAreaElement).value),
            }),
          ),
          parseError ? h('p', { class: 'error' }, `not JSON: ${parseError}`) : null,
          review.schema
            ? h(
                'details',
                null,
                h('summary', null, 'schema'),
                h('pre', { class: 'json' }, JSON.stringify(review.schema, null, 2)),
              )
            : null,
          h(
            'div',
            { class: 'actions' },
            h('input', {
              class: 'by',
              placeholder: 'your name',
              value: by,
              'aria-label': 'your name',
              onInput: (e: Event) => setBy((e.target as HTMLInputElement).value),
            }),
            h('button', { class: 'approve', disabled: busy, onClick: () => act('approve') }, 'Approve'),
            h(
              'button',
              { class: 'edit', disabled: busy || parseError !== null, onClick: () => act('edit') },
              'Save edit',
            ),
            h('input', {
              class: 'reject-reason',
              placeholder: 'reason to reject',
              value: reason,
              onInput: (e: Event) => setReason((e.target as HTMLInputElement).value),
            }),
            h(
              'button',
              { class: 'reject danger', disabled: busy || !reason.trim(), onClick: () => act('reject') },
              'Reject',
            ),
          ),
          error
            ? h(
                'div',
                { class: 'review-error', role: 'alert' },
                h('p', null, error.message),
                error.issues.length
                  ? h(
                      'ul',
                      null,
                      error.issues.map((i) => h('li', null, h('code', null, i.path), ` ${i.message}`)),
                    )
                  : null,
              )
            : null,
        ),
  );
}
