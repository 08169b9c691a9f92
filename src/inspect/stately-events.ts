import type { StatelyInspectionEvent } from '@statelyai/inspect';
import type { AnyActorRef, InspectionEvent } from 'xstate';

/**
 * XState inspection events → the messages the Stately inspector reads, as JSON text.
 *
 * The format is `@statelyai/inspect`'s own (its `convertXStateEvent`: actor, event and snapshot
 * messages with `sessionId`, `rootId`, `parentId`, `_version`…); a test checks ours against it.
 * We convert here, synchronously and under the caller's try/catch, instead of using the package's
 * observer, because that one converts later in a timer: a snapshot holding a throwing getter (an
 * agent's raw input can) would then throw outside any caller, and in Node that ends the process.
 * Serialisation never throws on cycles, functions, BigInt or depth; it may on a throwing getter,
 * which the caller reports.
 */

/** The @statelyai/inspect version whose format this is (a test compares it with the installed one). */
export const STATELY_INSPECT_VERSION = '0.7.2';

export const DEFAULT_DEPTH_LIMIT = 10;

type Ref = AnyActorRef & { _parent?: AnyActorRef; logic?: { config?: unknown } };

/** The Stately message for one inspection event, or undefined for kinds it does not show. */
export function toStatelyEvent(event: InspectionEvent): StatelyInspectionEvent | undefined {
  const createdAt = Date.now().toString(); // the inspector UI's own timeline: wall time
  const base = {
    _version: STATELY_INSPECT_VERSION,
    createdAt,
    id: null as unknown as string,
    rootId: event.rootId,
  };
  switch (event.type) {
    case '@xstate.actor': {
      const ref = event.actorRef as Ref;
      const config = ref.logic?.config as { id?: string } | undefined;
      const name = ref.id === ref.sessionId && config?.id ? config.id : ref.id;
      return {
        ...base,
        type: '@xstate.actor',
        name,
        // JSON with sorted keys inside a string, as the package sends it.
        definition: sortedJson(
          safeJson(typeof config === 'object' && config !== null ? config : { id: name }),
        ),
        parentId: ref._parent?.sessionId,
        sessionId: ref.sessionId,
        snapshot: initialSnapshot(ref),
      };
    }
    case '@xstate.event':
      return {
        ...base,
        type: '@xstate.event',
        event: event.event,
        sourceId: event.sourceRef?.sessionId,
        sessionId: event.actorRef.sessionId,
      };
    case '@xstate.snapshot':
      return {
        ...base,
        type: '@xstate.snapshot',
        event: event.event,
        snapshot: event.snapshot,
        sessionId: event.actorRef.sessionId,
      };
    default:
      return undefined;
  }
}

// The actor event comes from the actor's constructor, before its snapshot exists (reading it then
// throws in XState's development build). The package reads it later; the snapshot message that
// follows at start carries it anyway, so an initial marker is enough, as the package's own
// `inspector.actor()` sends.
function initialSnapshot(ref: Ref): { status?: 'active' | 'done' | 'error' | 'stopped' } {
  try {
    return ref.getSnapshot() ?? { status: 'active' };
  } catch {
    return { status: 'active' };
  }
}

/** `toStatelyEvent` as JSON text, ready to send. */
export function toStatelyMessage(
  event: InspectionEvent,
  depthLimit = DEFAULT_DEPTH_LIMIT,
): string | undefined {
  const message = toStatelyEvent(event);
  if (!message) return undefined;
  // The routing fields first (and a snapshot's status), so a relay can keep the live state of each
  // actor by reading a message's head instead of parsing it (live-actors.ts).
  const status =
    message.type === '@xstate.snapshot'
      ? (message.snapshot as { status?: unknown } | undefined)?.status
      : undefined;
  const head = { type: message.type, sessionId: message.sessionId, rootId: message.rootId };
  return safeJson({ ...head, ...(typeof status === 'string' ? { status } : {}), ...message }, depthLimit);
}

/** Re-serialise JSON text with object keys in sorted order (safe: the input has no cycles). */
function sortedJson(json: string): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (typeof v !== 'object' || v === null) return v;
    const o = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => [k, sort(o[k])]),
    );
  };
  return JSON.stringify(sort(JSON.parse(json)));
}

/**
 * JSON.stringify that survives what snapshots hold: cycles become "[Circular]", objects deeper
 * than `depthLimit` "[Truncated]", functions `{ type: name }` (as the package shows implementations),
 * BigInt a string. `toJSON` is honoured, so actor refs and snapshots serialise as XState intends.
 */
export function safeJson(value: unknown, depthLimit = DEFAULT_DEPTH_LIMIT): string {
  // Each object's holder, to walk the path back up: a cycle is a value that is its own ancestor.
  const holders = new WeakMap<object, object>();
  return JSON.stringify(value, function replacer(this: object, _key: string, v: unknown) {
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'function') return { type: v.name || 'anonymous' };
    if (typeof v !== 'object' || v === null) return v;
    let depth = 0;
    for (let holder: object | undefined = this; holder !== undefined; holder = holders.get(holder)) {
      if (holder === v) return '[Circular]';
      depth++;
    }
    if (depth > depthLimit) return '[Truncated]';
    holders.set(v, this);
    return v;
  });
}
