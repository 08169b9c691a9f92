import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { createEventStream } from '../src/trace/event-stream.js';
import type { RunEvent, RunEventOf } from '../src/trace/events.js';
import { settle } from './helpers/clock.js';

afterEach(() => {
  vi.restoreAllMocks();
});

const started = (stepId: string, at = 0): RunEvent => ({ type: 'step.started', runId: 'r1', at, stepId });
const completed: RunEvent = { type: 'run.completed', runId: 'r1', at: 9, status: 'completed', durationMs: 9 };

async function collect<E>(iterator: AsyncIterable<E>): Promise<E[]> {
  const out: E[] = [];
  for await (const e of iterator) out.push(e);
  return out;
}

describe('run events: subscribe', () => {
  it('delivers typed events to every subscriber until it unsubscribes', () => {
    const stream = createEventStream();
    const a: RunEvent[] = [];
    const b: string[] = [];
    const offA = stream.subscribe((e) => a.push(e));
    stream.subscribe((e) => b.push(e.type));
    stream.emit(started('draft'));
    offA();
    stream.emit(completed);
    expect(a).toEqual([started('draft')]);
    expect(b).toEqual(['step.started', 'run.completed']);
  });

  it('a throwing subscriber is isolated and reported; the others and the emitter go on', () => {
    const errors: Array<[unknown, string]> = [];
    const stream = createEventStream({ onError: (error, source) => errors.push([error, source]) });
    const boom = new Error('dashboard down');
    const seen: string[] = [];
    stream.subscribe(() => {
      throw boom;
    });
    stream.subscribe((e) => seen.push(e.type));
    expect(() => stream.emit(started('a'))).not.toThrow();
    stream.emit(completed);
    expect(seen).toEqual(['step.started', 'run.completed']);
    expect(errors).toEqual([
      [boom, 'run event subscriber #1'],
      [boom, 'run event subscriber #1'],
    ]);
  });

  it('by default logs a throwing subscriber once', () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    const stream = createEventStream();
    stream.subscribe(() => {
      throw new Error('x');
    });
    stream.emit(started('a'));
    stream.emit(started('b'));
    expect(log).toHaveBeenCalledTimes(1);
    expect(String(log.mock.calls[0]![0])).toMatch(
      /^agentcharts: run event subscriber #1 failed; the run goes on/,
    );
  });
});

describe('run events: events() async iterator', () => {
  it('buffers events emitted before the consumer pulls, and ends when the stream closes', async () => {
    const stream = createEventStream();
    const iterator = stream.events();
    stream.emit(started('a', 1));
    stream.emit(started('b', 2));
    stream.emit(completed);
    stream.close();
    expect(await collect(iterator)).toEqual([started('a', 1), started('b', 2), completed]);
  });

  it('replays from the first event for an iterator created late (run.events() after start misses nothing)', async () => {
    const stream = createEventStream();
    stream.emit(started('a'));
    const late = stream.events();
    stream.emit(completed);
    stream.close();
    expect((await collect(late)).map((e) => e.type)).toEqual(['step.started', 'run.completed']);
    // After close, a new iterator still gets the history, then ends.
    expect(await collect(stream.events())).toHaveLength(2);
  });

  it('without replay an iterator only sees events from its creation on', async () => {
    const stream = createEventStream({ replay: false });
    stream.emit(started('a'));
    const iterator = stream.events();
    stream.emit(started('b'));
    stream.close();
    expect((await collect(iterator)).map((e) => (e as RunEventOf<'step.started'>).stepId)).toEqual(['b']);
  });

  it('resolves a pending pull when the event arrives; concurrent pulls get events in order', async () => {
    const stream = createEventStream();
    const iterator = stream.events();
    const first = iterator.next();
    const second = iterator.next();
    let resolved = false;
    void first.then(() => {
      resolved = true;
    });
    await settle();
    expect(resolved).toBe(false); // nothing emitted yet: the consumer waits
    stream.emit(started('a'));
    stream.emit(started('b'));
    expect(await first).toEqual({ done: false, value: started('a') });
    expect(await second).toEqual({ done: false, value: started('b') });
    const third = iterator.next();
    stream.close();
    expect(await third).toEqual({ done: true, value: undefined });
  });

  it('each iterator gets every event; break unsubscribes only that one', async () => {
    const stream = createEventStream();
    const all = stream.events();
    const firstOnly = (async () => {
      for await (const e of stream.events()) return e.type; // break after one
      return 'none';
    })();
    stream.emit(started('a'));
    expect(await firstOnly).toBe('step.started');
    stream.emit(completed);
    stream.close();
    expect(await collect(all)).toHaveLength(2);
  });

  it('ignores emits after close', async () => {
    const stream = createEventStream();
    const seen: RunEvent[] = [];
    stream.subscribe((e) => seen.push(e));
    stream.close();
    stream.close();
    stream.emit(completed);
    expect(stream.closed).toBe(true);
    expect(seen).toEqual([]);
    expect(await collect(stream.events())).toEqual([]);
  });

  it('types narrow on `type`', () => {
    const e = started('a') as RunEvent;
    if (e.type === 'attempt.finished')
      expectTypeOf(e.outcome).toEqualTypeOf<RunEventOf<'attempt.finished'>['outcome']>();
    if (e.type === 'breaker.opened') expectTypeOf(e.runId).toEqualTypeOf<string | null>();
    expectTypeOf<RunEventOf<'step.started'>>().toHaveProperty('stepId');
  });
});
