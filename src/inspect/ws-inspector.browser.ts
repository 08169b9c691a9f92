import type { WebSocketInspector, WebSocketInspectorOptions } from './ws-inspector.node.js';

/**
 * What a browser build gets instead of ws-inspector.node.ts (map it with a `browser` condition, e.g. a
 * package.json `imports` entry): `inspect: 'ws'` needs Node to listen on a port. Same signature;
 * reports once and inspects nothing. Type-only import above, so ws-inspector.node.ts is never loaded here.
 */
export function startWebSocketInspector(options: WebSocketInspectorOptions = {}): WebSocketInspector {
  const error = new Error(
    "inspect: 'ws' needs Node (it listens on a port); in a browser use inspect: 'browser'",
  );
  try {
    (options.onError ?? ((e: unknown) => console.error('agentcharts:', e)))(error, 'the WebSocket inspector');
  } catch {
    // Nothing else to report to.
  }
  return {
    inspect: () => {},
    ready: Promise.resolve({ listening: false, error }),
    stop: () => Promise.resolve(),
  };
}
