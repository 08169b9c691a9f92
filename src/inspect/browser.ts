// A namespace import: where the optional peer is not installed, a bundler still builds the page
// (the runtime loads this file only for `inspect: 'browser'`).
import * as stately from '@statelyai/inspect';
import type { InspectionEvent } from 'xstate';
import { type ObserverErrorHandler, reportOncePerSource, safeReport } from '../trace/report.js';
import { DEFAULT_DEPTH_LIMIT, toStatelyMessage } from './stately-events.js';

/**
 * `inspect: 'browser'`: `@statelyai/inspect`'s browser inspector, which opens the Stately inspector
 * in a window (or an iframe you pass) and posts messages to it. Browser-safe: no Node imports.
 *
 * Messages are converted here, synchronously and guarded (see stately-events.ts), and handed to
 * the package's adapter as plain JSON data, so nothing the package does later can trip on a live
 * snapshot. Without a window (Node, SSR) nothing is inspected and that is reported once.
 */

export interface BrowserInspectorOptions {
  /** The inspector UI. Default: the package's, https://stately.ai/inspect. */
  url?: string;
  /** Show it in this iframe (an `HTMLIFrameElement`) instead of a new window. */
  iframe?: InspectorFrame | null;
  /** Objects nested deeper than this in a message are truncated. Default 10. */
  depthLimit?: number;
  /**
   * How many messages are kept to replay to an inspector window that connects late (the hosted page
   * takes a while to load) or reloads. Default 10,000; the package's own 200 lost the start of any
   * run longer than a few steps.
   */
  maxDeferredEvents?: number;
  onError?: ObserverErrorHandler;
}

/** An `HTMLIFrameElement`, typed structurally so the options compile without the DOM library. */
export interface InspectorFrame {
  readonly contentWindow: unknown;
}

export interface BrowserInspector {
  readonly inspect: (event: InspectionEvent) => void;
  /** False where there is no window: `inspect` then does nothing. */
  readonly active: boolean;
  stop(): void;
}

export const DEFAULT_MAX_DEFERRED = 10_000;

export function startBrowserInspector(options: BrowserInspectorOptions = {}): BrowserInspector {
  const onError = options.onError ?? reportOncePerSource();
  const depthLimit = options.depthLimit ?? DEFAULT_DEPTH_LIMIT;
  if (typeof window === 'undefined') {
    safeReport(
      onError,
      new Error(
        "inspect: 'browser' needs a browser window; nothing is inspected (in Node use inspect: 'ws')",
      ),
      'the browser inspector',
    );
    return { inspect: () => {}, active: false, stop: () => {} };
  }
  const inspector = stately.createBrowserInspector({
    ...(options.url ? { url: options.url } : {}),
    ...(options.iframe !== undefined ? { iframe: options.iframe as HTMLIFrameElement | null } : {}),
    serializationDepthLimit: depthLimit,
    maxDeferredEvents: options.maxDeferredEvents ?? DEFAULT_MAX_DEFERRED,
  });
  let stopped = false;
  return {
    active: true,
    inspect(event) {
      if (stopped || event.type === '@xstate.microstep' || event.type === '@xstate.action') return;
      try {
        const message = toStatelyMessage(event, depthLimit);
        if (message !== undefined) inspector.adapter.send(JSON.parse(message));
      } catch (error) {
        safeReport(onError, error, 'the Stately inspector');
      }
    },
    stop() {
      stopped = true;
      inspector.stop();
    },
  };
}
