import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { LogLine } from '../view.js';
import { fmtTime, get } from './client.js';

/** The state log as a scrubber: pick an entry, see the shared state then and what changed. */

interface Entry {
  seq: number;
  at: number;
  event: unknown;
  value: unknown;
  version: number | null;
  state: unknown;
  diff: Array<{ op: string; path: Array<string | number>; from?: unknown; to?: unknown }>;
}

const short = (v: unknown) => {
  const text = JSON.stringify(v);
  return text === undefined ? 'undefined' : text.length > 80 ? `${text.slice(0, 79)}…` : text;
};

export function LogScrubber({ runId, lines }: { runId: string; lines: LogLine[] }) {
  const [index, setIndex] = useState<number | null>(null);
  const [entry, setEntry] = useState<Entry | null>(null);
  const at = index ?? lines.length - 1;
  const line = lines[at];
  useEffect(() => {
    if (!line) return;
    let current = true;
    get<Entry>(`runs/${encodeURIComponent(runId)}/log/${line.seq}`).then(
      (e) => current && setEntry(e),
      () => current && setEntry(null),
    );
    return () => {
      current = false;
    };
  }, [runId, line?.seq]);
  if (!line) return h('p', { class: 'muted' }, 'no entries');
  return h(
    'div',
    { class: 'scrubber' },
    h('input', {
      type: 'range',
      min: 0,
      max: lines.length - 1,
      value: at,
      'aria-label': 'state log entry',
      onInput: (e: Event) => setIndex(Number((e.target as HTMLInputElement).value)),
    }),
    h(
      'div',
      { class: 'entry-head' },
      h('button', { disabled: at === 0, onClick: () => setIndex(at - 1) }, '‹'),
      h('code', null, `#${line.seq} ${line.event || '(init)'}`),
      h('button', { disabled: at === lines.length - 1, onClick: () => setIndex(at + 1) }, '›'),
      h('span', { class: 'muted' }, `${at + 1}/${lines.length} · ${fmtTime(line.at)}`),
    ),
    h('div', { class: 'muted' }, `state: ${short(line.value)}`),
    entry && entry.seq === line.seq
      ? h(
          'div',
          { class: 'entry' },
          h('h4', null, `changes${entry.version === null ? '' : ` (shared state v${entry.version})`}`),
          entry.diff.length === 0
            ? h('p', { class: 'muted' }, 'the shared state did not change')
            : h(
                'ul',
                { class: 'diff' },
                entry.diff.map((c) =>
                  h(
                    'li',
                    { class: `op-${c.op}` },
                    h('code', null, c.path.join('.') || '(root)'),
                    c.op === 'add'
                      ? ` + ${short(c.to)}`
                      : c.op === 'remove'
                        ? ` − ${short(c.from)}`
                        : ` ${short(c.from)} → ${short(c.to)}`,
                  ),
                ),
              ),
          h('h4', null, 'shared state'),
          h('pre', { class: 'json' }, JSON.stringify(entry.state, null, 2)),
        )
      : null,
  );
}
