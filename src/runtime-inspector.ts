import type { InspectionEvent } from 'xstate';
import type { BrowserInspector, BrowserInspectorOptions } from './inspect/browser.js';
import type {
  InspectorReady,
  WebSocketInspector,
  WebSocketInspectorOptions,
} from './inspect/ws-inspector.node.js';
import type { ObserverErrorHandler } from './trace/report.js';
import { safeReport } from './trace/report.js';

/** The runtime's `inspect` option: the Stately inspector, over a local WebSocket relay or in a page. */
export type InspectOption =
  | 'ws'
  | 'browser'
  | { ws: Omit<WebSocketInspectorOptions, 'onError'> }
  | { browser: Omit<BrowserInspectorOptions, 'onError'> };

export interface RuntimeInspector {
  readonly mode: 'ws' | 'browser';
  readonly inspect: (event: InspectionEvent) => void;
  /** `ws`: where the relay listens and the page to open. `browser`: whether a window was found. */
  readonly ready: Promise<InspectorReady | { listening: boolean }>;
  stop(): Promise<void>;
}

const MAX_BUFFERED = 10_000;
// Kept out of bundlers' sight: the Node relay must never end up in a browser build.
const WS_MODULE = './inspect/ws-inspector.node.js';

/** What both inspectors have once loaded. */
interface Loaded {
  inspect(event: InspectionEvent): void;
  ready: RuntimeInspector['ready'];
  stop(): unknown;
}

export function startInspector(option: InspectOption, onError: ObserverErrorHandler): RuntimeInspector {
  const browser = option === 'browser' || (typeof option === 'object' && 'browser' in option);
  // Both inspectors are loaded on demand, so neither `@statelyai/inspect` nor `ws` weighs on a
  // runtime that does not inspect. The browser one is a literal import (a bundler splits it into its
  // own chunk); the Node one stays invisible to bundlers.
  const load: () => Promise<Loaded> = browser
    ? () =>
        import('./inspect/browser.js').then((module) => {
          const inspector: BrowserInspector = module.startBrowserInspector({
            ...(typeof option === 'object' && 'browser' in option ? option.browser : {}),
            onError,
          });
          return {
            inspect: inspector.inspect,
            ready: Promise.resolve({ listening: inspector.active }),
            stop: () => inspector.stop(),
          };
        })
    : () =>
        (
          import(/* @vite-ignore */ WS_MODULE) as Promise<typeof import('./inspect/ws-inspector.node.js')>
        ).then((module) => {
          const inspector: WebSocketInspector = module.startWebSocketInspector({
            ...(typeof option === 'object' && 'ws' in option ? option.ws : {}),
            onError,
          });
          return { inspect: inspector.inspect, ready: inspector.ready, stop: () => inspector.stop() };
        });
  // Events wait (bounded) until the inspector is there, so a run's start is never lost.
  let inspector: Loaded | undefined;
  let stopped = false;
  const buffer: InspectionEvent[] = [];
  const loading = load().then(
    (loaded) => {
      if (stopped) {
        loaded.stop();
        return undefined;
      }
      inspector = loaded;
      for (const event of buffer.splice(0)) loaded.inspect(event);
      return loaded;
    },
    (error: unknown) => {
      safeReport(onError, error, browser ? 'the browser inspector' : 'the WebSocket inspector');
      return undefined;
    },
  );
  return {
    mode: browser ? 'browser' : 'ws',
    inspect(event) {
      if (inspector) inspector.inspect(event);
      else if (!stopped && buffer.length < MAX_BUFFERED) buffer.push(event);
    },
    ready: loading.then(
      (i) => i?.ready ?? { listening: false, error: new Error('the inspector did not start') },
    ),
    async stop() {
      stopped = true;
      buffer.length = 0;
      await (await loading)?.stop();
    },
  };
}
