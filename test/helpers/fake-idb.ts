/**
 * A tiny in-memory IndexedDB: the subset `idbKeyValue` uses (open with upgrade, one object store with
 * out-of-line string keys, get / put / delete / getAll / getAllKeys / openCursor('prev') over a key
 * range, transactions that apply their writes all at once on commit or not at all). Not a general
 * fake: a real-browser test (headless Chromium) still has to confirm the glue.
 */

type Range = { includes(key: string): boolean };

class FakeRange implements Range {
  constructor(
    readonly lower: string,
    readonly upper: string,
    readonly lowerOpen: boolean,
    readonly upperOpen: boolean,
  ) {}
  includes(key: string): boolean {
    const aboveLower = this.lowerOpen ? key > this.lower : key >= this.lower;
    const belowUpper = this.upperOpen ? key < this.upper : key <= this.upper;
    return aboveLower && belowUpper;
  }
  static bound(lower: string, upper: string, lowerOpen = false, upperOpen = false): FakeRange {
    return new FakeRange(lower, upper, lowerOpen, upperOpen);
  }
}

interface FakeRequest<T> {
  result: T | undefined;
  error: Error | null;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}

type Data = Map<string, unknown>;

export interface FakeIndexedDB {
  indexedDB: IDBFactory;
  keyRange: typeof IDBKeyRange;
  /** The stored data of a database's object store, to inspect or damage. */
  data(db: string, store?: string): Data;
  /** Make the next read-write transaction abort (nothing of it is applied). */
  failNextWrite(error?: Error): void;
  /** Open connections (a closed store must close its connection). */
  readonly openConnections: number;
}

export function fakeIndexedDB(): FakeIndexedDB {
  const databases = new Map<string, Map<string, Data>>();
  let failNext: Error | undefined;
  let openConnections = 0;

  const sortedKeys = (data: Data, range: Range | string | undefined) =>
    [...data.keys()]
      .filter((k) => range === undefined || (typeof range === 'string' ? k === range : range.includes(k)))
      .sort();

  function makeTransaction(stores: Map<string, Data>, mode: IDBTransactionMode) {
    const writes: Array<(data: Map<string, Data>) => void> = [];
    let pending = 0;
    let finished = false;
    const tx = {
      error: null as Error | null,
      oncomplete: null as (() => void) | null,
      onerror: null as (() => void) | null,
      onabort: null as (() => void) | null,
      objectStore(name: string) {
        const data = stores.get(name);
        if (!data) throw new Error(`NotFoundError: no object store ${name}`);
        const req = <T>(compute: () => T): FakeRequest<T> => {
          const r: FakeRequest<T> = { result: undefined, error: null, onsuccess: null, onerror: null };
          pending++;
          queueMicrotask(() => {
            r.result = compute();
            r.onsuccess?.();
            pending--;
            settle();
          });
          return r;
        };
        const write = (apply: (d: Data) => void) => {
          if (mode !== 'readwrite') throw new Error('ReadOnlyError');
          writes.push((all) => apply(all.get(name)!));
          return req(() => undefined);
        };
        return {
          get: (key: string) => req(() => data.get(key)),
          put: (value: unknown, key: string) => write((d) => d.set(key, value)),
          delete: (key: string | Range) =>
            write((d) => {
              for (const k of sortedKeys(d, key)) d.delete(k);
            }),
          getAll: (range?: Range) => req(() => sortedKeys(data, range).map((k) => data.get(k))),
          getAllKeys: (range?: Range) => req(() => sortedKeys(data, range)),
          openCursor: (range: Range | undefined, direction: IDBCursorDirection = 'next') =>
            req(() => {
              const keys = sortedKeys(data, range);
              const key = direction === 'prev' ? keys.at(-1) : keys[0];
              return key === undefined ? null : { key, value: data.get(key) };
            }),
        };
      },
    };
    // Commits once no request is pending at the end of a turn, as IndexedDB does.
    const settle = () =>
      queueMicrotask(() => {
        if (finished || pending > 0) return;
        finished = true;
        if (mode === 'readwrite' && failNext) {
          tx.error = failNext;
          failNext = undefined;
          tx.onerror?.();
          tx.onabort?.();
          return;
        }
        for (const apply of writes) apply(stores);
        tx.oncomplete?.();
      });
    settle();
    return tx;
  }

  const indexedDB = {
    open(name: string, _version?: number) {
      const req = {
        result: undefined as unknown,
        error: null as Error | null,
        onsuccess: null as (() => void) | null,
        onerror: null as (() => void) | null,
        onupgradeneeded: null as (() => void) | null,
        onblocked: null as (() => void) | null,
      };
      queueMicrotask(() => {
        const fresh = !databases.has(name);
        if (fresh) databases.set(name, new Map());
        const stores = databases.get(name)!;
        let closed = false;
        openConnections++;
        req.result = {
          objectStoreNames: { contains: (s: string) => stores.has(s) },
          createObjectStore: (s: string) => {
            stores.set(s, new Map());
          },
          transaction: (s: string, mode: IDBTransactionMode = 'readonly') => {
            if (closed) throw new Error('InvalidStateError: the connection is closed');
            if (!stores.has(s)) throw new Error(`NotFoundError: no object store ${s}`);
            return makeTransaction(stores, mode);
          },
          close: () => {
            if (!closed) openConnections--;
            closed = true;
          },
        };
        if (fresh) req.onupgradeneeded?.();
        req.onsuccess?.();
      });
      return req;
    },
  };

  return {
    indexedDB: indexedDB as unknown as IDBFactory,
    keyRange: FakeRange as unknown as typeof IDBKeyRange,
    data: (db, store = 'records') => {
      const data = databases.get(db)?.get(store);
      if (!data) throw new Error(`no object store ${store} in database ${db}`);
      return data;
    },
    failNextWrite(error = new Error('QuotaExceededError')) {
      failNext = error;
    },
    get openConnections() {
      return openConnections;
    },
  };
}

/** Web Storage (localStorage) in memory. */
export function fakeStorage(): Storage & { readonly map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    get length() {
      return map.size;
    },
    key: (i: number) => [...map.keys()][i] ?? null,
    getItem: (key: string) => map.get(key) ?? null,
    setItem: (key: string, value: string) => {
      map.set(key, String(value));
    },
    removeItem: (key: string) => {
      map.delete(key);
    },
    clear: () => map.clear(),
  };
}
