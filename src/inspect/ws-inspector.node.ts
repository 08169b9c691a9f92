import type { InspectionEvent } from 'xstate';
import { type ObserverErrorHandler, reportOncePerSource, safeReport } from '../trace/report.js';
import { type InspectorRelay, type InspectorRelayOptions, listen, parseRelayOptions } from './relay.node.js';
import { connectInspector } from './ws-client.node.js';

/**
 * Node only. `inspect: 'ws'`: a relay on 127.0.0.1 plus an inspector connected to it, so the
 * Stately inspector (open `pageUrl`, or any client of `url`) watches live runs.
 *
 *   const inspector = startWebSocketInspector({ port: 4242 });
 *   createActor(machine, { inspect: inspector.inspect }).start();
 *   console.log((await inspector.ready).pageUrl);
 *   …
 *   await inspector.stop(); // closes everything: the process can exit
 *
 * `url` and `pageUrl` carry the viewers' token: anyone with them can watch, nobody else can connect.
 *
 * Synchronous, so a runtime can be created synchronously: messages wait until the relay listens.
 * A relay that cannot listen (port in use) is reported, not thrown: inspection never breaks a run.
 */

export interface WebSocketInspectorOptions extends Omit<InspectorRelayOptions, 'onError'> {
  /** Relay, connection and serialisation errors. Default: console.error once per kind. */
  onError?: ObserverErrorHandler;
}

export type InspectorReady =
  | { listening: true; url: string; pageUrl: string }
  | { listening: false; error: unknown };

export interface WebSocketInspector {
  readonly inspect: (event: InspectionEvent) => void;
  /** Settles once the relay listens and the inspector is connected, or could not be. Never rejects. */
  readonly ready: Promise<InspectorReady>;
  /** Close the inspector connection, every relay client and the listening socket. */
  stop(): Promise<void>;
}

export function startWebSocketInspector(options: WebSocketInspectorOptions = {}): WebSocketInspector {
  const { onError, ...relayOptions } = options;
  // Bad options (a port out of range…) are the caller's bug: thrown now, with the field named.
  const parsed = parseRelayOptions(relayOptions, 'startWebSocketInspector');
  const report = onError ?? reportOncePerSource();
  const relayStarted = listen({
    ...parsed,
    onError: (error) => safeReport(report, error, 'the inspector relay'),
  });
  // The runtime is the relay's only publisher; viewers get `url` / `pageUrl` (another token).
  const connection = connectInspector({
    url: relayStarted.then((relay) => relay.publishUrl),
    maxMessageBytes: parsed.maxPayload,
    onError: report,
  });
  const ready: Promise<InspectorReady> = relayStarted.then(
    async (relay) => {
      await connection.ready;
      return { listening: true, url: relay.url, pageUrl: relay.pageUrl };
    },
    (error: unknown) => ({ listening: false, error }),
  );
  let stopping: Promise<void> | undefined;
  return {
    inspect: connection.inspect,
    ready,
    stop() {
      stopping ??= (async () => {
        await connection.stop();
        const relay: InspectorRelay | undefined = await relayStarted.catch(() => undefined);
        await relay?.close();
      })();
      return stopping;
    },
  };
}
