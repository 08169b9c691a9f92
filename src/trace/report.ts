/**
 * Where errors from observers, exporters and inspectors go: never into the run. `source` names the
 * thing that threw, e.g. `trace exporter "otel" (onSpanEnd)`.
 */
export type ObserverErrorHandler = (error: unknown, source: string) => void;

/** How many sources the default handler remembers; older ones may be reported again. */
const REMEMBERED_SOURCES = 1000;

/**
 * The default handler: console.error once per source, so a broken exporter that throws on every
 * span does not flood the log (and the cost of logging does not land on every span). Sources can
 * name a run, so only the latest 1,000 are remembered: a runtime that serves runs for days does not
 * grow with them.
 */
export function reportOncePerSource(limit = REMEMBERED_SOURCES): ObserverErrorHandler {
  const reported = new Set<string>();
  return (error, source) => {
    if (reported.has(source)) return;
    reported.add(source);
    if (reported.size > limit) reported.delete(reported.values().next().value as string);
    console.error(
      `agentcharts: ${source} failed; the run goes on (further errors from it are not logged)`,
      error,
    );
  };
}

/** Call the handler without letting a throwing handler escape either. */
export function safeReport(handler: ObserverErrorHandler, error: unknown, source: string): void {
  try {
    handler(error, source);
  } catch {
    // The error handler itself failed; there is nowhere left to report to.
  }
}

/**
 * A handler that passes on the first error of each source only: for sources that can fail on every
 * entry of a run (a hostile value in the state log), so one cause is one report.
 */
export function firstPerSource(handler: ObserverErrorHandler): ObserverErrorHandler {
  const reported = new Set<string>();
  return (error, source) => {
    if (reported.has(source)) return;
    reported.add(source);
    safeReport(handler, error, source);
  };
}
