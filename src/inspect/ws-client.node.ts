import type { WebSocket } from 'ws';
import type { InspectionEvent } from 'xstate';
import { z } from 'zod';
import { fn, integer, parseOptions } from '../options.js';
import { type ObserverErrorHandler, reportOncePerSource, safeReport } from '../trace/report.js';
import { DEFAULT_DEPTH_LIMIT, toStatelyMessage } from './stately-events.js';
import { loadWs } from './ws-module.node.js';

/**
 * Node only (it uses `ws`). An inspection observer that sends the Stately inspector's messages to
 * a relay: ours (`startInspectorRelay`) or any other speaking the same protocol, such as
 * `@statelyai/inspect/server`.
 *
 * Why not `@statelyai/inspect`'s `createWebSocketInspector`: when its socket errors it retries every
 * 5 s forever and its `stop()` does not cancel that, so a process using it may never exit. Here:
 * messages wait in a bounded buffer until the socket opens; a lost connection is retried on a timer
 * that does not keep Node alive; `stop()` clears that timer and closes the socket, after which
 * nothing of ours holds the process.
 *
 * Memory stays bounded whatever the runs hold: a message over `maxMessageBytes` is dropped (and
 * reported) rather than sent to a relay that would refuse it; while not connected, at most
 * `maxPending` messages and 16 MiB wait; while connected, messages are dropped when 32 MiB are already
 * queued for a relay that does not keep up.
 */

export interface InspectorConnectionOptions {
  /** The relay, `ws://127.0.0.1:port`; a promise when it is not known yet (a relay still binding). */
  url: string | PromiseLike<string>;
  /** Messages kept while not connected; the oldest are dropped beyond it. Default 1000. */
  maxPending?: number;
  /** Larger messages are dropped and reported (the relay's `maxPayload`). Default 4 MiB. */
  maxMessageBytes?: number;
  /** Wait before reconnecting after the connection is lost; 0 never reconnects. Default 1000 ms. */
  reconnectDelayMs?: number;
  /** Objects nested deeper than this in a message are truncated. Default 10. */
  depthLimit?: number;
  /** Connection and serialisation errors (never thrown into the run). Default: console.error once per kind. */
  onError?: ObserverErrorHandler;
}

export interface InspectorConnection {
  /** Pass to `createActor(machine, { inspect })` (or to `combineInspectors`). */
  readonly inspect: (event: InspectionEvent) => void;
  /** True once connected; false if stopped (or the URL failed) first. Never rejects. */
  readonly ready: Promise<boolean>;
  connected(): boolean;
  /** Close the socket and cancel any reconnect. */
  stop(): Promise<void>;
}

const MiB = 1024 * 1024;

const ConnectionOptionsSchema = z.strictObject({
  url: z.custom<string | PromiseLike<string>>(
    (v) =>
      (typeof v === 'string' && /^wss?:\/\//.test(v)) ||
      (typeof v === 'object' && v !== null && typeof (v as PromiseLike<string>).then === 'function'),
    { error: 'must be a ws:// or wss:// URL (or a promise of one)' },
  ),
  maxPending: integer(0, 1_000_000).default(1000),
  maxMessageBytes: integer(1024, 1024 ** 3).default(4 * MiB),
  reconnectDelayMs: integer(0, 3_600_000).default(1000),
  depthLimit: integer(1, 100).default(DEFAULT_DEPTH_LIMIT),
  onError: fn<ObserverErrorHandler>().optional(),
});

/** Bytes kept while not connected, and queued on the socket while connected, before dropping. */
const MAX_PENDING_BYTES = 16 * MiB;
const MAX_QUEUED_BYTES = 32 * MiB;
// ws's readyState values (WebSocket.OPEN, .CLOSED), so nothing here needs the module loaded.
const OPEN = 1;
const CLOSED = 3;

export function connectInspector(options: InspectorConnectionOptions): InspectorConnection {
  const o = parseOptions(ConnectionOptionsSchema, options, 'connectInspector');
  const onError = o.onError ?? reportOncePerSource();
  const pending: string[] = [];
  let pendingBytes = 0;
  let socket: WebSocket | undefined;
  let Socket: typeof WebSocket | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let url: string | undefined;
  let markReady: (connected: boolean) => void = () => {};
  const ready = new Promise<boolean>((resolve) => {
    markReady = resolve;
  });

  function open(): void {
    if (stopped || url === undefined || Socket === undefined) return;
    const ws = new Socket(url);
    socket = ws;
    ws.on('open', () => {
      markReady(true);
      pendingBytes = 0;
      for (const message of pending.splice(0)) ws.send(message);
    });
    ws.on('message', () => {}); // relays echo nothing we need
    ws.on('error', (error) => {
      if (!stopped) safeReport(onError, error, `the inspector connection to ${url}`);
    });
    ws.on('close', () => {
      if (socket === ws) socket = undefined;
      if (stopped || o.reconnectDelayMs === 0) return;
      timer = setTimeout(open, o.reconnectDelayMs);
      // A lost inspector must not keep a finished process alive.
      timer.unref?.();
    });
  }

  Promise.all([o.url, loadWs()]).then(
    ([resolved, ws]) => {
      url = resolved;
      Socket = ws.WebSocket;
      open();
    },
    (error: unknown) => {
      safeReport(onError, error, 'the inspector relay');
      markReady(false);
    },
  );

  function send(message: string): void {
    const bytes = Buffer.byteLength(message);
    if (bytes > o.maxMessageBytes) {
      safeReport(
        onError,
        new Error(
          `an inspector message of ${bytes} bytes is over maxMessageBytes (${o.maxMessageBytes}): not sent`,
        ),
        'the inspector connection (message size)',
      );
      return;
    }
    if (socket?.readyState === OPEN) {
      if (socket.bufferedAmount + bytes > MAX_QUEUED_BYTES) {
        safeReport(
          onError,
          new Error(`the inspector relay is ${socket.bufferedAmount} bytes behind: messages are dropped`),
          'the inspector connection (backlog)',
        );
        return;
      }
      socket.send(message);
      return;
    }
    if (o.maxPending === 0 || bytes > MAX_PENDING_BYTES) return;
    pending.push(message);
    pendingBytes += bytes;
    while (pending.length > o.maxPending || pendingBytes > MAX_PENDING_BYTES)
      pendingBytes -= Buffer.byteLength(pending.shift()!);
  }

  return {
    inspect(event) {
      if (stopped || event.type === '@xstate.microstep' || event.type === '@xstate.action') return;
      try {
        const message = toStatelyMessage(event, o.depthLimit);
        if (message !== undefined) send(message);
      } catch (error) {
        safeReport(onError, error, 'the Stately inspector');
      }
    },
    ready,
    connected: () => socket?.readyState === OPEN,
    async stop() {
      if (stopped) return;
      stopped = true;
      markReady(false);
      clearTimeout(timer);
      pending.length = 0;
      pendingBytes = 0;
      const ws = socket;
      if (!ws || ws.readyState === CLOSED) return;
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        if (ws.readyState === OPEN) {
          ws.close(1000, 'inspector stopped');
          // A peer that never answers the closing handshake must not hold us: cut it.
          setTimeout(() => ws.terminate(), 1000).unref?.();
        } else {
          ws.terminate();
        }
      });
    },
  };
}
