// agentcharts/browser: the browser-only parts (IndexedDB and Web Storage stores, the Stately
// inspector in a window). Everything else is in 'agentcharts'.

export type { BrowserInspector, BrowserInspectorOptions } from './inspect/browser.js';
export { startBrowserInspector } from './inspect/browser.js';
export type { BrowserStoreOptions, KeyValue } from './store/browser.js';
export { browserStore, idbKeyValue, storageKeyValue } from './store/browser.js';
