import { z } from 'zod';
import type { LogEntry } from '../log/state-log.js';
import type { Bases } from './codec.js';
import { captureJson, makePatch, type PatchOp } from './codec.js';
import { prefix, StoreError } from './errors.js';
import { frame } from './records.js';
import { sharedWriter, stateFirst } from './shared-ref.js';
import type { NewRun } from './store.js';
import { forgetStrings, internStrings } from './strings.js';

/**
 * The write side of recordStore: its options, a queued write (`Op`), and how one becomes a line —
 * its data captured when called, its entries and snapshot encoded as changes when written.
 */

export interface RecordStoreOptions {
  /**
   * The largest record one write may make, in bytes of UTF-8 (default 16 MiB). A larger one is
   * refused with StoreError `tooLarge` naming the run and step, and nothing stored is touched; a
   * stored record over the cap is not read (open the store with a larger cap to read it).
   */
  maxRecordBytes?: number;
}

export const DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024;

/** The options every store built on recordStore accepts, for its own schema. */
export const recordStoreOptions = {
  maxRecordBytes: z
    .number({ error: 'must be a whole number of bytes, at least 1024' })
    .int({ error: 'must be a whole number of bytes, at least 1024' })
    .min(1024, { error: 'must be a whole number of bytes, at least 1024' })
    .optional(),
};

export const optionsSchema = z.strictObject(recordStoreOptions);

export interface Op {
  t: 'meta' | 'commit' | 'finished';
  /** The record's own fields (captured, frozen), after `t`, `n` and `runId`. */
  fields: Record<string, unknown>;
  /** Log entries (captured), encoded as changes when written. */
  entries: readonly LogEntry[] | undefined;
  /** The workflow snapshot (captured), encoded as a change when written. */
  snapshot: unknown;
  /** The step the write is about, for messages. */
  stepId: string | undefined;
  firstSeq: number | undefined;
  lastSeq: number | undefined;
  status: string | undefined;
  at: number;
  meta: NewRun | undefined;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export const invalid = (runId: string | undefined, message: string): StoreError =>
  new StoreError('invalid', runId, `${prefix(runId)}${message}`);

/** `value` captured as frozen JSON data; StoreError `invalid` when it is not JSON data. */
export function capture(runId: string | undefined, what: string, value: unknown): unknown {
  try {
    return captureJson(value);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw invalid(runId, `${what} cannot be stored as JSON: ${reason}`);
  }
}

/** UTF-8 length of a string, counted only as far as needed to know whether it exceeds `max`. */
export function exceeds(text: string, max: number): number | false {
  if (text.length * 3 <= max) return false;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c < 0xdc00 ? 4 : c >= 0xdc00 && c < 0xe000 ? 0 : 3;
  }
  return bytes > max ? bytes : false;
}

export const megabytes = (n: number): string => `${(n / (1024 * 1024)).toFixed(1)} MiB`;

/**
 * One record's line, its entries and snapshot encoded as changes on `bases`, which it advances; the
 * returned `undo` takes that back (the record was refused). Throws a TypeError for non-JSON data.
 */
export function encodeOp(
  runId: string,
  n: number,
  op: Op,
  bases: Bases,
  withEntries: boolean,
): { line: string; undo: () => void } {
  const added: number[] = [];
  const actorsBefore = new Map<string, unknown>();
  const snapshotBefore = bases.snapshot;
  const undo = () => {
    forgetStrings(bases, added);
    for (const [key, value] of actorsBefore) {
      if (value === undefined) bases.actors.delete(key);
      else bases.actors.set(key, value);
    }
    bases.snapshot = snapshotBefore;
  };
  try {
    const record: Record<string, unknown> = { t: op.t, n, runId, ...op.fields };
    if (withEntries && op.entries && op.entries.length > 0) {
      record.entries = op.entries.map((entry) => {
        const base = bases.actors.get(entry.actorId);
        if (!actorsBefore.has(entry.actorId)) actorsBefore.set(entry.actorId, base);
        bases.actors.set(entry.actorId, entry.state);
        if (base === undefined) return entry;
        const { state, ...rest } = entry;
        return { ...rest, d: makePatch(base, state) };
      });
    }
    if (op.snapshot !== undefined) {
      if (bases.snapshot === undefined) record.snapshot = op.snapshot;
      else record.sd = stateFirst(makePatch(bases.snapshot, op.snapshot));
      bases.snapshot = op.snapshot;
    }
    // The shared state once: where the snapshot the reader holds after this record has it.
    const shared = sharedWriter(bases.snapshot, record.sd as PatchOp[] | undefined);
    return { line: frame(JSON.stringify(record, internStrings(bases, added, shared))), undo };
  } catch (error) {
    undo();
    throw error;
  }
}

export function seqRange(entries: readonly LogEntry[] | undefined): [number | undefined, number | undefined] {
  if (!entries || entries.length === 0) return [undefined, undefined];
  return [entries[0]!.seq, entries[entries.length - 1]!.seq];
}
