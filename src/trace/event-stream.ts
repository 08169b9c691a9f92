import type { RunEvent } from './events.js';
import { type ObserverErrorHandler, reportOncePerSource, safeReport } from './report.js';

/**
 * A small fan-out of typed events: push listeners (`subscribe`) and pull consumers (`events()`, an
 * async iterator that ends when the stream closes). A throwing listener is isolated and reported.
 */

export interface EventStream<E = RunEvent> {
  emit(event: E): void;
  /**
   * Every event: those already emitted first (when `replay` is on), then live ones. Returns the
   * unsubscribe function.
   */
  subscribe(listener: (event: E) => void): () => void;
  /**
   * Every event (from the first one emitted, when `replay` is on) until `close()`. Events wait in a
   * buffer until the consumer pulls them; `break` in a for-await loop unsubscribes.
   */
  events(): AsyncIterableIterator<E>;
  /** End every iterator (after it drains its buffer); later emits are ignored. */
  close(): void;
  readonly closed: boolean;
}

export interface EventStreamOptions {
  /**
   * Keep every event so that an iterator created late still starts at the first one (a run's
   * stream: `run.events()` called after `start` misses nothing). Default true; turn it off for a
   * long-lived stream.
   */
  replay?: boolean;
  /** A throwing subscriber is reported here. Default: console.error once per subscriber. */
  onError?: ObserverErrorHandler;
}

interface Consumer<E> {
  push(event: E): void;
  end(): void;
}

export function createEventStream<E = RunEvent>(options: EventStreamOptions = {}): EventStream<E> {
  const replay = options.replay ?? true;
  const onError = options.onError ?? reportOncePerSource();
  const history: E[] = [];
  const consumers = new Set<Consumer<E>>();
  let listeners: Array<{ fn: (event: E) => void; source: string }> = [];
  let subscribed = 0;
  let closed = false;

  return {
    get closed() {
      return closed;
    },
    emit(event) {
      if (closed) return;
      if (replay) history.push(event);
      for (const consumer of consumers) consumer.push(event);
      for (const listener of listeners) {
        try {
          listener.fn(event);
        } catch (error) {
          safeReport(onError, error, listener.source);
        }
      }
    },
    subscribe(fn) {
      const listener = { fn, source: `run event subscriber #${++subscribed}` };
      // A listener added just after a run started still sees its first events.
      for (const event of replay ? history.slice() : []) {
        try {
          fn(event);
        } catch (error) {
          safeReport(onError, error, listener.source);
        }
      }
      listeners = [...listeners, listener];
      return () => {
        listeners = listeners.filter((l) => l !== listener);
      };
    },
    events() {
      const consumer = bufferedIterator<E>(replay ? history.slice() : [], () => consumers.delete(consumer));
      if (closed) consumer.end();
      else consumers.add(consumer);
      return consumer.iterator;
    },
    close() {
      if (closed) return;
      closed = true;
      for (const consumer of consumers) consumer.end();
      consumers.clear();
    },
  };
}

function bufferedIterator<E>(
  initial: E[],
  detach: () => void,
): Consumer<E> & { iterator: AsyncIterableIterator<E> } {
  const buffer = initial;
  let head = 0;
  let ended = false;
  const waiting: Array<(result: IteratorResult<E, undefined>) => void> = [];
  const finished = (): IteratorResult<E, undefined> => ({ done: true, value: undefined });

  const iterator: AsyncIterableIterator<E> = {
    next() {
      if (head < buffer.length) {
        const value = buffer[head++]!;
        // Drop what was consumed once it is most of the buffer, so a long run does not keep it all twice.
        if (head > 64 && head * 2 > buffer.length) {
          buffer.splice(0, head);
          head = 0;
        }
        return Promise.resolve({ done: false, value });
      }
      if (ended) return Promise.resolve(finished());
      return new Promise((resolve) => waiting.push(resolve));
    },
    return() {
      ended = true;
      buffer.length = 0;
      head = 0;
      detach();
      for (const resolve of waiting.splice(0)) resolve(finished());
      return Promise.resolve(finished());
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };

  return {
    iterator,
    push(event) {
      if (ended) return;
      const resolve = waiting.shift();
      if (resolve) resolve({ done: false, value: event });
      else buffer.push(event);
    },
    end() {
      ended = true;
      for (const resolve of waiting.splice(0)) resolve(finished());
    },
  };
}
