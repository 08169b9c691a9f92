/**
 * agentcharts in a web page: the runtime runs a workflow here, with the Stately inspector in a
 * browser window (`inspect: 'browser'`), and the page shows the result, its steps and its trace.
 * Build: `npm run build:browser-example`, then serve dist/examples-browser (or `npx vite
 * examples/browser` while developing).
 */
import { browserStore } from '../../src/browser.js';
import { createRuntime, type RunEvent, type RunResult, type Runtime } from '../../src/index.js';
import { report } from './workflow.js';

const element = <T extends HTMLElement>(id: string): T => {
  const found = document.getElementById(id);
  if (!found) throw new Error(`index.html has no #${id}`);
  return found as T;
};

const app = element('app');
const button = element<HTMLButtonElement>('run');
const status = element('status');
const result = element('result');
const steps = element('steps');
const agentCalls = element('agent-calls');
const events = element('events');
const observerErrors = element('observer-errors');
const stored = element('stored');

// Runs persist in IndexedDB: they survive a reload (and an unfinished one would be resumed).
const store = browserStore({ name: 'agentcharts-example' });
const showStored = async () => {
  stored.textContent = String((await store.runIds()).length);
};
void showStored();

// Agent output is untrusted: it only ever reaches the page as text, never as HTML.
function append(parent: HTMLElement, tag: string, ...cells: string[]): HTMLElement {
  const child = document.createElement(tag);
  if (cells.length === 1) child.textContent = cells[0]!;
  else for (const cell of cells) child.appendChild(document.createElement('td')).textContent = cell;
  return parent.appendChild(child);
}

const describe = (e: RunEvent): string =>
  'stepId' in e && e.stepId ? `${e.type} ${e.stepId}` : 'status' in e ? `${e.type} ${e.status}` : e.type;

function render(done: RunResult, calls: number): void {
  status.textContent = done.status;
  agentCalls.textContent = String(calls);
  result.textContent =
    done.status === 'completed' || done.status === 'fallback' || done.status === 'awaitingReview'
      ? JSON.stringify(done.output, null, 2)
      : done.reason;
  steps.replaceChildren();
  for (const s of done.steps) {
    append(steps, 'tr', s.stepId, s.status, s.quality, s.confidence.toFixed(2));
  }
  // Set last: a test (or a person) waiting on data-status sees everything above in place.
  app.dataset.status = done.status;
}

// Created on the first click: the inspector opens a window, which browsers only allow from a user
// gesture. If the window is blocked, the inspector has nowhere to post to and the run goes on.
let runtime: Runtime | undefined;

async function runWorkflow(): Promise<void> {
  runtime ??= createRuntime({
    inspect: 'browser',
    store,
    workflows: [report],
    onObserverError: (error, source) =>
      void append(
        observerErrors,
        'li',
        `${source}: ${error instanceof Error ? error.message : String(error)}`,
      ),
  });
  button.disabled = true;
  delete app.dataset.status;
  status.textContent = 'running';
  events.replaceChildren();
  const run = runtime.start(report, { topic: 'solid-state batteries' });
  // events() replays from the start of the run (subscribe() would miss what start() already did).
  const progress = (async () => {
    for await (const e of run.events()) append(events, 'li', describe(e));
  })();
  const done = await run.done; // never rejects for agent failures
  await progress; // the iterator ends with the run
  await store.flush();
  await showStored();
  render(done, run.trace().agentCalls);
  button.disabled = false;
}

button.addEventListener('click', () => {
  runWorkflow().catch((error: unknown) => {
    status.textContent = `error: ${error instanceof Error ? error.message : String(error)}`;
    app.dataset.status = 'error';
    button.disabled = false;
  });
});
