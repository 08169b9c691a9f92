/**
 * What went wrong in a store. Every error names the run (when there is one) and, for bad data, where
 * the bad record is, so one damaged run can be reported and skipped while the others resume.
 */
export type StoreErrorCode =
  /** A record is not what was written: bad JSON, checksum mismatch, out of order, wrong shape. */
  | 'corrupt'
  /** A record was written by another format version of the store. */
  | 'wrongVersion'
  /** No such run in the store. */
  | 'notFound'
  /** The storage itself failed (disk full, permission, IndexedDB aborted); `cause` holds the error. */
  | 'io'
  /** The call was refused: an unsafe run id, a run that exists already, a write to a finished run, non-JSON data, a log entry out of order. */
  | 'invalid'
  /** The store was closed. */
  | 'closed'
  /** Another process owns the store folder (file store: `owner.lock`); one owner at a time. */
  | 'locked'
  /** An entry of the store folder is a symbolic link (or not a regular file or folder): never followed. */
  | 'unsafe'
  /** A record is over the store's `maxRecordBytes` cap: refused when written, not read when stored. */
  | 'tooLarge';

export interface StoreErrorDetails {
  /** Where the bad record is, e.g. `/var/runs/runs/a1.jsonl line 7` or `IndexedDB "app" record 7`. */
  location?: string;
  /** The 1-based line (file store) or record number of the bad record. */
  line?: number;
  cause?: unknown;
}

export class StoreError extends Error {
  readonly isStoreError = true;
  override readonly name = 'StoreError';
  readonly location: string | undefined;
  readonly line: number | undefined;
  constructor(
    readonly code: StoreErrorCode,
    /** The run concerned; undefined for store-wide problems (breakers, close). */
    readonly runId: string | undefined,
    message: string,
    details: StoreErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.location = details.location;
    this.line = details.line;
  }
}

export const isStoreError = (e: unknown): e is StoreError =>
  typeof e === 'object' && e !== null && (e as { isStoreError?: unknown }).isStoreError === true;

/** Wrap a storage failure; a StoreError passes through unchanged. */
export function ioError(runId: string | undefined, what: string, cause: unknown): StoreError {
  if (isStoreError(cause)) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new StoreError('io', runId, `${prefix(runId)}${what} failed: ${detail}`, { cause });
}

/** `store: run "a1": ` or `store: `. */
export const prefix = (runId: string | undefined): string =>
  runId === undefined ? 'store: ' : `store: run ${JSON.stringify(runId)}: `;
