import { pushed } from '../../machines/lists.js';
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
  return new Stream<E>(options.replay ?? true, options.onError ?? reportOncePerSource());
}

/**
 * A class, not a literal of closures: every run holds one, and its methods are shared, not made
 * again per run (an object literal with a getter is also a dictionary in V8).
 */
class Stream<E> implements EventStream<E> {
  #history: E[] = [];
  #consumers: Set<Consumer<E>> | null = null;
  /** Null until the first subscriber: most runs have none. */
  #listeners: Array<{ fn: (event: E) => void; source: string }> | null = null;
  #subscribed = 0;
  #closed = false;

  readonly #replay: boolean;
  readonly #onError: ObserverErrorHandler;

  constructor(replay: boolean, onError: ObserverErrorHandler) {
    this.#replay = replay;
    this.#onError = onError;
  }

  get closed(): boolean {
    return this.#closed;
  }

  emit(event: E): void {
    if (this.#closed) return;
    if (this.#replay) this.#history = pushed(this.#history, event);
    if (this.#consumers) for (const consumer of this.#consumers) consumer.push(event);
    if (this.#listeners)
      for (const listener of this.#listeners) {
        try {
          listener.fn(event);
        } catch (error) {
          safeReport(this.#onError, error, listener.source);
        }
      }
  }

  subscribe(fn: (event: E) => void): () => void {
    const listener = { fn, source: `run event subscriber #${++this.#subscribed}` };
    // A listener added just after a run started still sees its first events.
    for (const event of this.#replay ? this.#history.slice() : []) {
      try {
        fn(event);
      } catch (error) {
        safeReport(this.#onError, error, listener.source);
      }
    }
    this.#listeners = [...(this.#listeners ?? []), listener];
    return () => {
      this.#listeners = this.#listeners?.filter((l) => l !== listener) ?? null;
    };
  }

  events(): AsyncIterableIterator<E> {
    if (!this.#consumers) this.#consumers = new Set();
    const consumers = this.#consumers;
    const consumer = bufferedIterator<E>(this.#replay ? this.#history.slice() : [], () =>
      consumers.delete(consumer),
    );
    if (this.#closed) consumer.end();
    else consumers.add(consumer);
    return consumer.iterator;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#consumers) return;
    for (const consumer of this.#consumers) consumer.end();
    this.#consumers.clear();
  }
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
