import { z } from 'zod';
import { fail, parseOptions } from '../options.js';
import type { Backend } from './backend.js';
import { LineTooLong, RunExists } from './backend.js';
import type { RecordStoreOptions } from './record-store.js';
import { recordStore, recordStoreOptions } from './record-store.js';
import type { Store } from './store.js';

/**
 * A store for browsers and other embedded hosts, on IndexedDB (or localStorage, or any ordered
 * string key-value storage). The store logic is the shared record store; this file only maps it onto
 * keys, and the IndexedDB glue is a thin `KeyValue`:
 *
 *   i/<runId>                      the run exists (so listing runs reads no records)
 *   r/<runId>/<record number, 10 digits>   one record, the same line a file store writes
 *   b/<breaker key>                the latest snapshot of a breaker
 */

/** Ordered string key-value storage. `put` is all or nothing where the medium allows it. */
export interface KeyValue {
  readonly kind: string;
  get(key: string): Promise<string | undefined>;
  put(entries: ReadonlyArray<readonly [string, string]>): Promise<void>;
  /** Entries whose key starts with `prefix`, in key order. */
  entries(prefix: string): Promise<Array<[string, string]>>;
  /** The entry with the greatest key starting with `prefix`. */
  last(prefix: string): Promise<[string, string] | undefined>;
  /** Delete exact keys and whole prefixes, in order; all or nothing where the medium allows it. */
  delete(items: ReadonlyArray<{ key: string } | { prefix: string }>): Promise<void>;
  close(): Promise<void>;
}

export interface BrowserStoreOptions extends RecordStoreOptions {
  /** The database name (IndexedDB) or key namespace (localStorage). */
  name: string;
  /** Default: IndexedDB when present, else localStorage. A KeyValue for anything else (or tests). */
  storage?: 'indexedDB' | 'localStorage' | KeyValue;
}

const isKeyValue = (v: unknown): v is KeyValue =>
  typeof v === 'object' &&
  v !== null &&
  ['get', 'put', 'entries', 'last', 'delete', 'close'].every(
    (m) => typeof (v as Record<string, unknown>)[m] === 'function',
  );

const optionsSchema = z.strictObject({
  name: z.custom<string>((v) => typeof v === 'string' && v.length > 0 && v.length <= 200, {
    error: 'must be a non-empty string of at most 200 characters',
  }),
  storage: z
    .union([
      z.literal('indexedDB'),
      z.literal('localStorage'),
      z.custom<KeyValue>(isKeyValue, { error: 'must be indexedDB, localStorage or a KeyValue' }),
    ])
    .optional(),
  ...recordStoreOptions,
});

export function browserStore(options: BrowserStoreOptions): Store {
  const o = parseOptions(optionsSchema, options, 'browserStore');
  const g = globalThis as {
    indexedDB?: IDBFactory;
    localStorage?: Storage;
    IDBKeyRange?: typeof IDBKeyRange;
  };
  let kv: KeyValue;
  const storage = o.storage ?? (g.indexedDB ? 'indexedDB' : g.localStorage ? 'localStorage' : undefined);
  if (storage === 'indexedDB') {
    if (!g.indexedDB || !g.IDBKeyRange) fail('browserStore', 'storage', storage, 'is not available here');
    kv = idbKeyValue({ name: o.name, indexedDB: g.indexedDB, keyRange: g.IDBKeyRange });
  } else if (storage === 'localStorage') {
    if (!g.localStorage) fail('browserStore', 'storage', storage, 'is not available here');
    kv = storageKeyValue(g.localStorage, o.name);
  } else if (storage === undefined) {
    return fail(
      'browserStore',
      'storage',
      undefined,
      'is needed: neither IndexedDB nor localStorage is available here',
    );
  } else kv = storage;
  return recordStore(
    keyValueBackend(kv, o.name),
    o.maxRecordBytes === undefined ? {} : { maxRecordBytes: o.maxRecordBytes },
  );
}

const pad = (n: number) => String(n).padStart(10, '0');

/** A Backend on ordered key-value storage. */
export function keyValueBackend(kv: KeyValue, name: string): Backend {
  const where = `${kv.kind} ${JSON.stringify(name)}`;
  return {
    kind: 'browser',
    locate: (runId, line) => `${where} run ${JSON.stringify(runId)} record ${line}`,
    async read(runId, onLine, maxLine) {
      if ((await kv.get(`i/${runId}`)) === undefined) return undefined;
      for (const [i, [, line]] of (await kv.entries(`r/${runId}/`)).entries()) {
        if (line.length > maxLine) throw new LineTooLong(i + 1, line.length);
        onLine(line);
      }
      return { torn: false };
    },
    last: async (runId) => (await kv.last(`r/${runId}/`))?.[1],
    async append(runId, first, lines, create) {
      if (create && (await kv.get(`i/${runId}`)) !== undefined) throw new RunExists(runId);
      const puts: Array<[string, string]> = lines.map((line, i) => [`r/${runId}/${pad(first + i)}`, line]);
      // The index key goes in the same put as the first record: a run is listed only once it has one.
      if (create) puts.push([`i/${runId}`, '']);
      await kv.put(puts);
    },
    // Records first: should a crash stop a non-atomic medium halfway, no run of the same id can
    // later inherit records that were left behind without an index key.
    remove: (runId) => kv.delete([{ prefix: `r/${runId}/` }, { key: `i/${runId}` }]),
    runIds: async () => (await kv.entries('i/')).map(([key]) => key.slice(2)),
    putBreakers: (batch) => kv.put(batch.map(({ key, line }) => [`b/${key}`, line] as const)),
    readBreakers: async () =>
      (await kv.entries('b/')).map(([key, line]) => ({
        line,
        location: `${where} breaker ${JSON.stringify(key.slice(2))}`,
      })),
    close: () => kv.close(),
  };
}

/** The smallest key greater than every key starting with `prefix` (prefixes here never end in U+FFFF). */
const upperBound = (prefix: string) =>
  prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);

const OBJECT_STORE = 'records';

const request = <T>(req: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });

const transactionDone = (tx: IDBTransaction): Promise<void> =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('the IndexedDB transaction was aborted'));
  });

/** IndexedDB as a KeyValue: one object store of string values under string keys. */
export function idbKeyValue(options: {
  name: string;
  indexedDB: IDBFactory;
  keyRange: Pick<typeof IDBKeyRange, 'bound'>;
}): KeyValue {
  const { name, indexedDB, keyRange } = options;
  let opened: Promise<IDBDatabase> | undefined;
  const db = () => {
    opened ??= new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(name, 1);
      req.onupgradeneeded = () => {
        if (!req.result.objectStoreNames.contains(OBJECT_STORE)) req.result.createObjectStore(OBJECT_STORE);
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error(`IndexedDB "${name}" is blocked by another open connection`));
    }).catch((error) => {
      opened = undefined; // try again on the next call
      throw error;
    });
    return opened;
  };
  const range = (prefix: string) => keyRange.bound(prefix, upperBound(prefix), false, true);
  async function read<T>(body: (store: IDBObjectStore) => Promise<T>): Promise<T> {
    const tx = (await db()).transaction(OBJECT_STORE, 'readonly');
    return body(tx.objectStore(OBJECT_STORE));
  }
  async function write(body: (store: IDBObjectStore) => void): Promise<void> {
    const tx = (await db()).transaction(OBJECT_STORE, 'readwrite');
    const done = transactionDone(tx);
    body(tx.objectStore(OBJECT_STORE));
    await done;
  }
  return {
    kind: 'IndexedDB',
    get: (key) => read((s) => request(s.get(key) as IDBRequest<string | undefined>)),
    put: (entries) =>
      write((s) => {
        for (const [key, value] of entries) s.put(value, key);
      }),
    entries: (prefix) =>
      read(async (s) => {
        const r = range(prefix);
        // Both requests in one transaction see the same data, in the same key order.
        const [keys, values] = await Promise.all([request(s.getAllKeys(r)), request(s.getAll(r))]);
        return keys.map((key, i) => [String(key), values[i] as string] as [string, string]);
      }),
    last: (prefix) =>
      read(async (s) => {
        const cursor = await request(s.openCursor(range(prefix), 'prev'));
        return cursor ? [String(cursor.key), cursor.value as string] : undefined;
      }),
    delete: (items) =>
      write((s) => {
        for (const item of items) s.delete('key' in item ? item.key : range(item.prefix));
      }),
    async close() {
      const current = opened;
      opened = undefined;
      if (current) (await current.catch(() => undefined))?.close();
    },
  };
}

/**
 * localStorage (or any Web Storage) as a KeyValue, under `<namespace>/`. Synchronous, about 5 MB per
 * origin, and a batch is not atomic: each record is still whole, so a failed batch leaves a prefix of it.
 */
export function storageKeyValue(storage: Storage, namespace: string): KeyValue {
  const base = `${namespace}/`;
  const keys = (prefix: string) => {
    const found: string[] = [];
    for (let i = 0; i < storage.length; i++) {
      const key = storage.key(i);
      if (key?.startsWith(base + prefix)) found.push(key.slice(base.length));
    }
    return found.sort();
  };
  return {
    kind: 'localStorage',
    get: async (key) => storage.getItem(base + key) ?? undefined,
    async put(entries) {
      for (const [key, value] of entries) storage.setItem(base + key, value);
    },
    entries: async (prefix) =>
      keys(prefix).map((key) => [key, storage.getItem(base + key) ?? ''] as [string, string]),
    async last(prefix) {
      const key = keys(prefix).at(-1);
      return key === undefined ? undefined : [key, storage.getItem(base + key) ?? ''];
    },
    async delete(items) {
      for (const item of items) {
        if ('key' in item) storage.removeItem(base + item.key);
        else for (const key of keys(item.prefix)) storage.removeItem(base + key);
      }
    },
    close: async () => {},
  };
}
