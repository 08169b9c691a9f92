/**
 * The relay's picture of the actors still running: for each, its creation message (name, definition)
 * and its latest snapshot. A viewer that connects late gets these first, so it sees every run in
 * flight however long ago it started — the recent-message buffer alone forgets a long run's start.
 *
 * Messages are read by their head only (toStatelyMessage puts `type`, `sessionId`, `rootId` and a
 * snapshot's `status` first); a message without that head (another publisher's) is relayed and
 * kept in the recent buffer, but not tracked here. Bounded: the oldest actors go first when the
 * count or the byte budget is exceeded, and a run's actors go when its root actor ends.
 */

export interface LiveActors {
  note(message: Buffer): void;
  /** Creation then latest snapshot of every live actor, oldest actor first. */
  messages(): Buffer[];
  readonly size: number;
  readonly bytes: number;
}

interface Entry {
  rootId: string;
  actor: Buffer;
  snapshot: Buffer | undefined;
}

const HEAD =
  /^\{"type":"@xstate\.(actor|snapshot|event)","sessionId":"((?:[^"\\]|\\.)*)","rootId":"((?:[^"\\]|\\.)*)"(?:,"status":"(\w+)")?/;
// The longest head we read: ids are short (XState's session ids, the runtime's run ids).
const HEAD_BYTES = 1024;

export function liveActors(maxActors: number, maxBytes: number): LiveActors {
  const entries = new Map<string, Entry>();
  let bytes = 0;
  const size = (e: Entry) => e.actor.byteLength + (e.snapshot?.byteLength ?? 0);
  const drop = (sessionId: string) => {
    const e = entries.get(sessionId);
    if (!e) return;
    bytes -= size(e);
    entries.delete(sessionId);
  };
  const trim = () => {
    for (const sessionId of entries.keys()) {
      if (entries.size <= maxActors && bytes <= maxBytes) return;
      drop(sessionId);
    }
  };
  return {
    note(message) {
      const head = HEAD.exec(message.toString('latin1', 0, Math.min(message.byteLength, HEAD_BYTES)));
      if (!head) return;
      const [, kind, sessionId, rootId, status] = head as unknown as [
        string,
        string,
        string,
        string,
        string?,
      ];
      if (kind === 'actor') {
        drop(sessionId);
        const entry = { rootId, actor: message, snapshot: undefined };
        entries.set(sessionId, entry);
        bytes += size(entry);
      } else if (kind === 'snapshot') {
        const entry = entries.get(sessionId);
        if (!entry) return;
        if (status !== undefined && status !== 'active') {
          drop(sessionId);
          // The root ended: the whole run is over, whatever its children last said.
          if (sessionId === rootId) for (const [id, e] of entries) if (e.rootId === rootId) drop(id);
          return;
        }
        bytes += message.byteLength - (entry.snapshot?.byteLength ?? 0);
        entry.snapshot = message;
      }
      trim();
    },
    messages() {
      const out: Buffer[] = [];
      for (const e of entries.values()) {
        out.push(e.actor);
        if (e.snapshot) out.push(e.snapshot);
      }
      return out;
    },
    get size() {
      return entries.size;
    },
    get bytes() {
      return bytes;
    },
  };
}
