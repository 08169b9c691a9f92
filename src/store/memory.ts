import type { Backend } from './backend.js';
import { LineTooLong, RunExists } from './backend.js';
import type { RecordStoreOptions } from './record-store.js';
import { recordStore } from './record-store.js';
import type { Store } from './store.js';

/**
 * The default store: runs live as long as the process. It keeps the same encoded lines a file store
 * writes (checked, versioned, checksummed), so what works in memory works on disk, and nothing a
 * caller holds can change what was stored.
 */
export function memoryStore(options: RecordStoreOptions = {}): Store {
  return recordStore(memoryBackend(), options, 'memoryStore');
}

/** The memory medium; exported for tests that damage stored lines on purpose. */
export function memoryBackend(): Backend & {
  readonly runs: Map<string, string[]>;
  readonly breakers: Map<string, string>;
} {
  const runs = new Map<string, string[]>();
  const breakers = new Map<string, string>();
  return {
    kind: 'memory',
    runs,
    breakers,
    locate: (runId, line) => `memory store run ${JSON.stringify(runId)} record ${line}`,
    read: async (runId, onLine, maxLine) => {
      const lines = runs.get(runId);
      if (!lines) return undefined;
      for (const [i, line] of lines.slice().entries()) {
        if (line.length > maxLine) throw new LineTooLong(i + 1, line.length);
        onLine(line);
      }
      return { torn: false };
    },
    last: async (runId) => runs.get(runId)?.at(-1),
    async append(runId, _first, lines, create) {
      const stored = runs.get(runId);
      if (create && stored) throw new RunExists(runId);
      if (stored) stored.push(...lines);
      else runs.set(runId, lines.slice());
    },
    remove: async (runId) => {
      runs.delete(runId);
    },
    runIds: async () => [...runs.keys()],
    async putBreakers(batch) {
      for (const { key, line } of batch) {
        breakers.delete(key); // re-inserted last: the map stays in order of the latest write
        breakers.set(key, line);
      }
    },
    readBreakers: async () =>
      [...breakers.values()].map((line, i) => ({ line, location: `memory store breaker record ${i + 1}` })),
    close: async () => {},
  };
}
