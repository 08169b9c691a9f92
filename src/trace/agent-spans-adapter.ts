import type { AnyActorRef, InspectionEvent, Snapshot } from 'xstate';
import type { AgentContext } from '../../machines/agent-context.js';
import { type AgentHost, agentSnapshot, type TrackedEntry } from './agent-spans.js';
import type { EventSink, RunEvent } from './events.js';
import { type ObserverErrorHandler, reportOncePerSource, safeReport } from './report.js';
import { spanWriter } from './span-writer.js';
import type { TraceRecorder } from './tracer.js';

/**
 * Spans for agent actors from any actor system's inspection stream, outside a runtime run:
 *
 *   const observer = agentSpans({ recorder, parentOf: (agent) => stepSpanOf(agent) });
 *   createActor(machine, { inspect: observer });
 *
 * What the spans are: agent-spans.ts.
 */

/** What the callbacks get to decide where an agent's spans and events go. */
export interface AgentActorInfo {
  ref: AnyActorRef;
  context: AgentContext;
}

export interface AgentSpansOptions {
  /** Where the spans go: one recorder, or one per agent actor (e.g. by `context.runId`); undefined skips it. */
  recorder: TraceRecorder | ((agent: AgentActorInfo) => TraceRecorder | undefined);
  /** The agent span's parent, e.g. its step's span. Default: the recorder's root span (the run), else none. */
  parentOf?: (agent: AgentActorInfo) => string | null | undefined;
  /** Progress events go here too. */
  events?: EventSink<RunEvent> | ((agent: AgentActorInfo) => EventSink<RunEvent> | undefined);
  /** Failures of this adapter or of the event sink. Default: console.error once per source. */
  onError?: ObserverErrorHandler;
}

export function agentSpans(options: AgentSpansOptions): (event: InspectionEvent) => void {
  const onError = options.onError ?? reportOncePerSource();
  // A WeakMap, so actors that never end are collected too.
  const agents = new WeakMap<AnyActorRef, TrackedEntry>();
  // Asked once per agent, in this order (recorder, events, parent), as the adapter always has.
  const host: AgentHost = {
    tracked: (ref) => agents.get(ref),
    track: (ref, entry) => agents.set(ref, entry),
    untrack: (ref) => agents.delete(ref),
    onError,
    agentRecorder(ref, context) {
      const recorder =
        typeof options.recorder === 'function' ? options.recorder({ ref, context }) : options.recorder;
      if (!recorder) return undefined;
      writers.set(ref, recorder);
      return spanWriter(recorder);
    },
    agentEvents: (ref, context) =>
      typeof options.events === 'function' ? options.events({ ref, context }) : options.events,
    agentParent(ref, context) {
      const recorder = writers.get(ref);
      writers.delete(ref);
      const parent = options.parentOf ? options.parentOf({ ref, context }) : undefined;
      if (parent !== undefined) return parent;
      return recorder ? recorder.rootSpanId() : null;
    },
  };
  // The TraceRecorder of an agent being begun, for its default parent (the recorder's root span).
  const writers = new WeakMap<AnyActorRef, TraceRecorder>();

  return (event) => {
    if (event.type !== '@xstate.snapshot') return;
    try {
      agentSnapshot(
        host,
        event.actorRef as AnyActorRef,
        event.snapshot as Snapshot<unknown> & { context?: unknown },
      );
    } catch (error) {
      safeReport(onError, error, 'the agent span adapter');
    }
  };
}
