/**
 * What a storage medium must do for `recordStore` to build a Store on it: keep each run as an
 * append-only list of lines, and breaker lines by key. Backends know nothing of the format; checks,
 * ordering and batching live in one place (record-store.ts, with run-lanes.ts and breaker-lane.ts)
 * for every medium.
 */
export interface Backend {
  readonly kind: string;
  /** Where record `line` (1-based) of a run is, for messages: `<file> line 7`, `IndexedDB "x" record 7`. */
  locate(runId: string, line: number): string;
  /**
   * Hand the run's complete lines to `onLine` in order, one at a time (a stream: a run is never read
   * as one string); `torn` when a partial last line was dropped. Undefined: no such run. A line
   * longer than `maxLine` characters is not read whole: the read fails with `LineTooLong`.
   */
  read(
    runId: string,
    onLine: (line: string) => void,
    maxLine: number,
  ): Promise<{ torn: boolean } | undefined>;
  /** The last complete line of a run (to tell a finished run cheaply), or undefined. */
  last(runId: string): Promise<string | undefined>;
  /**
   * Append lines durably, all or (after a crash) a prefix of them. `first` is the record number of the
   * first line; `create` is true for the run's first write, which must fail if the run exists.
   */
  append(runId: string, first: number, lines: readonly string[], create: boolean): Promise<void>;
  remove(runId: string): Promise<void>;
  /** Every stored run id, in any order. */
  runIds(): Promise<string[]>;
  /** Store breaker lines; the latest line per key wins. */
  putBreakers(batch: ReadonlyArray<{ key: string; line: string }>): Promise<void>;
  /** Breaker lines in write order (several per key are fine: the last one wins). */
  readBreakers(): Promise<Array<{ line: string; location: string }>>;
  /** Replace all breaker lines by these (one per key), when the backend keeps history that grows. */
  compactBreakers?(lines: readonly string[]): Promise<void>;
  /** The run is finished and idle: drop anything kept about it (the store holds only live runs). */
  release?(runId: string): void;
  close(): Promise<void>;
}

/** Thrown by a backend's `append(…, create = true)` when the run exists. */
export class RunExists extends Error {
  readonly isRunExists = true;
}

/** Thrown by a backend's `read` for a stored line over the store's record cap. */
export class LineTooLong extends Error {
  readonly isLineTooLong = true;
  constructor(
    readonly line: number,
    readonly length: number,
  ) {
    super(`record ${line} is ${length} characters or more`);
  }
}
