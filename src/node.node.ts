// agentcharts/node: the Node-only parts (file store, the inspector relay). Everything else is in
// 'agentcharts' and runs in a browser too.

export type { InspectorRelay, InspectorRelayOptions, RelayStats } from './inspect/relay.node.js';
export { startInspectorRelay } from './inspect/relay.node.js';
export type {
  InspectorReady,
  WebSocketInspector,
  WebSocketInspectorOptions,
} from './inspect/ws-inspector.node.js';
export { startWebSocketInspector } from './inspect/ws-inspector.node.js';
export type { FileStoreOptions } from './store/file.node.js';
export { fileStore } from './store/file.node.js';
export type { OwnedStore } from './store/owned.js';
