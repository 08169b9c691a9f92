import { describe, expect, it } from 'vitest';
import { isOptionsError } from '../src/errors.js';
import { createTraceRecorder } from '../src/trace/tracer.js';
import { testClock } from './helpers/clock.js';

// Span ids are a per-trace random prefix and the span's number, read back to find the span: these
// pin what that must not change.
describe('trace recorder: span ids and span objects', () => {
  it('never takes a span id of another trace, or a malformed one, for one of its own', () => {
    const a = createTraceRecorder({ clock: testClock() });
    const b = createTraceRecorder({ clock: testClock() });
    const idA = a.start({ name: 'a', operation: 'run' });
    const idB = b.start({ name: 'b', operation: 'run' });
    // Same number (the first span), different trace: unknown to the other recorder.
    expect(idA.slice(8)).toBe(idB.slice(8));
    expect(idA).not.toBe(idB);
    expect(a.get(idB)).toBeUndefined();
    expect(a.end(idB, { status: 'success' })).toBeUndefined();
    expect(a.get(idA)?.status).toBe('running');
    for (const bad of ['', 'x', `${idA}0`, idA.toUpperCase(), `${idA.slice(0, 15)}g`]) {
      expect(a.get(bad)).toBeUndefined();
      expect(a.end(bad, { status: 'success' })).toBeUndefined();
    }
    expect(b.get(idB)?.name).toBe('b');
  });

  it('hands out the same span object until the span changes, then a new one', () => {
    const recorder = createTraceRecorder({ clock: testClock() });
    const id = recorder.start({ name: 'x', operation: 'step', attributes: { visit: 1 } });
    const running = recorder.get(id);
    expect(recorder.spans()[0]).toBe(running);
    const ended = recorder.end(id, { status: 'success', attributes: { attempts: 2 } });
    expect(ended).not.toBe(running);
    expect(recorder.get(id)).toBe(ended);
    expect(recorder.trace().spans[0]).toBe(ended);
    expect(ended?.attributes).toEqual({ visit: 1, attempts: 2 });
    expect(running?.attributes).toEqual({ visit: 1 });
  });

  it('does not share the attributes or error objects a caller passed in', () => {
    const recorder = createTraceRecorder({ clock: testClock() });
    const start = { visit: 1 };
    const end = { attempts: 2 };
    const error = { name: 'TypeError', message: 'bad' };
    const id = recorder.start({ name: 'x', operation: 'step', attributes: start });
    recorder.end(id, { status: 'error', attributes: end, error });
    start.visit = 9;
    end.attempts = 9;
    error.message = 'changed';
    expect(recorder.get(id)).toMatchObject({
      attributes: { visit: 1, attempts: 2 },
      error: { name: 'TypeError', message: 'bad' },
    });
    expect(Object.isFrozen(start)).toBe(false);
  });

  it('refuses invalid options with the field and the value, as before the hand-written check', () => {
    for (const [options, field] of [
      [{ traceId: 'nope' }, 'traceId'],
      [{ clock: {} }, 'clock'],
      [{ exporters: [{}] }, 'exporters.0'],
      [{ onError: 1 }, 'onError'],
      [{ tracer: {} }, 'tracer'],
    ] as const) {
      let thrown: unknown;
      try {
        createTraceRecorder(options as never);
      } catch (error) {
        thrown = error;
      }
      expect(isOptionsError(thrown), field).toBe(true);
      expect((thrown as Error).message).toContain(field);
    }
  });
});
