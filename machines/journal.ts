import type { WriteAccepted } from './blackboard-outcome.js';
import type { WriteOp } from './reducers.js';

/** One accepted write: who wrote what, at which version. */
export interface Commit {
  version: number;
  agentId: string;
  key: string;
  op: WriteOp;
  at: number;
  writeId: string | null;
}

interface JournalNode {
  /** The accepted outcome itself: one object per version serves the snapshot and the journal. */
  commit: WriteAccepted;
  prev: JournalNode | null;
}

/**
 * The recent commits, kept in context so a conflict can say who wrote what since the writer's
 * version. Two generations of persistent linked lists: a push allocates one node and shares the
 * rest, so each version costs O(1) memory; when the head generation reaches `window` it becomes
 * the old one and the older is dropped. Plain JSON, so it persists with the snapshot.
 */
export interface Journal {
  window: number;
  size: number;
  head: JournalNode | null;
  older: JournalNode | null;
}

export const emptyJournal = (window: number): Journal =>
  Object.freeze({ window, size: 0, head: null, older: null });

// Frozen object literals: V8 keeps them compact (a frozen spread of an unfrozen object is not).
export function pushCommit(journal: Journal, commit: WriteAccepted): Journal {
  const { window } = journal;
  if (journal.size >= window) {
    return Object.freeze({
      window,
      size: 1,
      head: Object.freeze({ commit, prev: null }),
      older: journal.head,
    });
  }
  const head = Object.freeze({ commit, prev: journal.head });
  return Object.freeze({ window, size: journal.size + 1, head, older: journal.older });
}

/** Commits after `version`, oldest first, at most `window` of them (the most recent). */
export function commitsSince(journal: Journal, version: number): Commit[] {
  const found: Commit[] = [];
  for (const start of [journal.head, journal.older]) {
    for (let node = start; node && found.length < journal.window; node = node.prev) {
      const { version: v, agentId, key, op, at, writeId } = node.commit;
      if (v <= version) return found.reverse();
      found.push({ version: v, agentId, key, op, at, writeId });
    }
  }
  return found.reverse();
}
