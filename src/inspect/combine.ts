import type { InspectionEvent, Observer } from 'xstate';
import { type ObserverErrorHandler, reportOncePerSource, safeReport } from '../trace/report.js';

/**
 * An actor system has one `inspect` option; the runtime has several observers (state log, tracer,
 * Stately inspector, the user's own). XState calls the observer inside the actor's transition, so
 * a throw would become the actor's error: here each observer runs under its own try/catch, and a
 * failure is reported under its name while the others, and the run, go on.
 *
 *   createActor(machine, { inspect: combineInspectors({ log: logInspector(log), trace: agentSpans(…) }) })
 */

export type InspectObserver = Observer<InspectionEvent> | ((event: InspectionEvent) => void);

export interface CombineInspectorsOptions {
  /** Default: console.error once per observer. */
  onError?: ObserverErrorHandler;
}

/** One observer that calls each named one (undefined entries are skipped) and contains their failures. */
export function combineInspectors(
  observers: Record<string, InspectObserver | undefined | null>,
  options: CombineInspectorsOptions = {},
): (event: InspectionEvent) => void {
  const onError = options.onError ?? reportOncePerSource();
  const calls = Object.entries(observers).flatMap(([name, observer]) => {
    if (!observer) return [];
    const next = typeof observer === 'function' ? observer : observer.next?.bind(observer);
    return next ? [{ source: `inspection observer "${name}"`, next }] : [];
  });
  // Called for every inspection event of every run: an indexed loop over plain pairs.
  const count = calls.length;
  return (event) => {
    for (let i = 0; i < count; i++) {
      const call = calls[i]!;
      try {
        call.next(event);
      } catch (error) {
        safeReport(onError, error, call.source);
      }
    }
  };
}
