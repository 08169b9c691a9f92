import type { InspectionEvent } from 'xstate';
import type { BrowserInspectorOptions } from './inspect/browser.js';
import { startBrowserInspector } from './inspect/browser.js';
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

export function startInspector(option: InspectOption, onError: ObserverErrorHandler): RuntimeInspector {
  if (option === 'browser' || (typeof option === 'object' && 'browser' in option)) {
    const inspector = startBrowserInspector({
      ...(typeof option === 'object' ? option.browser : {}),
      onError,
    });
    return {
      mode: 'browser',
      inspect: inspector.inspect,
      ready: Promise.resolve({ listening: inspector.active }),
      stop: async () => inspector.stop(),
    };
  }
  const options = typeof option === 'object' ? option.ws : {};
  // Loaded on demand, so the core stays browser-safe; events wait (bounded) until it is there.
  let inspector: WebSocketInspector | undefined;
  let stopped = false;
  const buffer: InspectionEvent[] = [];
  const loading = (
    import(/* @vite-ignore */ WS_MODULE) as Promise<typeof import('./inspect/ws-inspector.node.js')>
  ).then(
    (module) => {
      if (stopped) return undefined;
      inspector = module.startWebSocketInspector({ ...options, onError });
      for (const event of buffer.splice(0)) inspector.inspect(event);
      return inspector;
    },
    (error: unknown) => {
      safeReport(onError, error, 'the WebSocket inspector');
      return undefined;
    },
  );
  return {
    mode: 'ws',
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
