import type { FileHandle } from 'node:fs/promises';
import { open as openFolder, readdir, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { fn, parseOptions } from '../options.js';
import type { Backend } from './backend.js';
import { LineTooLong, RunExists } from './backend.js';
import { folderLock } from './lock.node.js';
import { type OwnedStore, ownedStore } from './owned.js';
import { makePrivateDir, openPrivate as open } from './private-fs.node.js';
import type { RecordStoreOptions } from './record-store.js';
import { recordStore, recordStoreOptions } from './record-store.js';

/**
 * A store on the local disk (Node only):
 *
 *   <dir>/runs/<runId>.jsonl   one append-only JSON-lines file per run
 *   <dir>/breakers.jsonl       breaker snapshots, appended; the latest line per key wins
 *
 * Runs sit in their own folder so no run id can collide with the breakers file. Each commit is one
 * write of whole lines followed by an fsync (fdatasync), so a crash can only cut off the last line;
 * reading ignores such a torn last line, and the next append to the run first cuts it away.
 *
 * One process owns the folder at a time (`owner.lock`, lock.node.ts): taken on the store's first
 * call, given up by `close()` and `release()` (`runtime.stop()`). Files are created 0600, folders 0700,
 * and a symbolic link where a run file or folder should be is refused (private-fs.node.ts).
 */
export interface FileStoreOptions extends RecordStoreOptions {
  /** The folder; created when missing. */
  dir: string;
  /** fdatasync after each write, so a resolved write survives a power cut. Default true; false is for tests and benchmarks. */
  fsync?: boolean;
  /** Test hook: called before each fsync (so a test can see it happen, or make it fail). */
  onSync?: (file: string) => void;
}

const optionsSchema = z.strictObject({
  dir: z.custom<string>((v) => typeof v === 'string' && v.length > 0, { error: 'must be a folder path' }),
  fsync: z.boolean().default(true),
  onSync: fn<(file: string) => void>().optional(),
  ...recordStoreOptions,
});

const RUNS = 'runs';
const SUFFIX = '.jsonl';
const CHUNK = 64 * 1024;
const NEWLINE = 0x0a;

export function fileStore(options: FileStoreOptions): OwnedStore {
  const o = parseOptions(optionsSchema, options, 'fileStore');
  const lock = folderLock(resolve(o.dir));
  const records = o.maxRecordBytes === undefined ? {} : { maxRecordBytes: o.maxRecordBytes };
  return ownedStore(() => recordStore(fileBackend(o, lock.acquire, lock.release), records), lock.release);
}

const isCode = (error: unknown, code: string): boolean => (error as { code?: unknown })?.code === code;

function fileBackend(
  o: z.output<typeof optionsSchema>,
  own: () => Promise<void>,
  release: () => Promise<void>,
): Backend {
  const dir = resolve(o.dir);
  const runsDir = join(dir, RUNS);
  const breakersFile = join(dir, 'breakers.jsonl');
  const fileOf = (runId: string) => join(runsDir, `${runId}${SUFFIX}`);
  // Runs whose file end was checked (and a torn line cut away) by this process.
  const checked = new Set<string>();
  let ready: Promise<void> | undefined;
  // Every call first makes sure this process owns the folder (cheap once it does).
  const setup = async () => {
    await own();
    ready ??= makePrivateDir(runsDir).then(() => syncDir(dir));
    // A failed mkdir (permissions) is retried on the next call rather than remembered.
    return ready.catch((error) => {
      ready = undefined;
      throw error;
    });
  };

  async function sync(handle: FileHandle, file: string) {
    if (!o.fsync) return;
    o.onSync?.(file);
    await handle.datasync();
  }

  /** Make a new directory entry durable too (a new file's name lives in its folder). */
  async function syncDir(folder: string) {
    if (!o.fsync) return;
    let handle: FileHandle | undefined;
    try {
      handle = await openFolder(folder, 'r');
      o.onSync?.(folder);
      await handle.sync();
    } catch (error) {
      // Some platforms (Windows) cannot open or sync a folder; the data itself was synced.
      if (!isCode(error, 'EISDIR') && !isCode(error, 'EPERM') && !isCode(error, 'EINVAL')) throw error;
    } finally {
      await handle?.close();
    }
  }

  async function appendLines(file: string, lines: readonly string[], flag: 'a' | 'wx' | 'w', runId?: string) {
    const handle = await open(file, flag, runId);
    try {
      await handle.appendFile(`${lines.join('\n')}\n`, 'utf8');
      await sync(handle, file);
    } finally {
      await handle.close();
    }
  }

  /** Cut a torn last line (a write cut off by a crash) so the next line does not join it. */
  async function cutTornTail(file: string, runId?: string) {
    let handle: FileHandle;
    try {
      handle = await open(file, 'r+', runId);
    } catch (error) {
      if (isCode(error, 'ENOENT')) return;
      throw error;
    }
    try {
      const { size } = await handle.stat();
      const end = await completeEnd(handle, size);
      if (end < size) {
        await handle.truncate(end);
        await sync(handle, file);
      }
    } finally {
      await handle.close();
    }
  }

  return {
    kind: 'file',
    locate: (runId, line) => `${fileOf(runId)} line ${line}`,
    async read(runId, onLine, maxLine) {
      await setup();
      return readLines(fileOf(runId), onLine, maxLine, runId);
    },
    async last(runId) {
      await setup();
      let handle: FileHandle;
      try {
        handle = await open(fileOf(runId), 'r', runId);
      } catch (error) {
        if (isCode(error, 'ENOENT')) return undefined;
        throw error;
      }
      try {
        return await lastLine(handle, (await handle.stat()).size);
      } finally {
        await handle.close();
      }
    },
    async append(runId, _first, lines, create) {
      await setup();
      const file = fileOf(runId);
      if (create) {
        try {
          await appendLines(file, lines, 'wx', runId);
        } catch (error) {
          if (!isCode(error, 'EEXIST')) throw error;
          // A file with no complete line is a create cut off by a crash: the run never existed.
          if ((await lastLine(await open(file, 'r', runId), Number.POSITIVE_INFINITY, true)) !== undefined) {
            throw new RunExists(runId);
          }
          await cutTornTail(file, runId);
          await appendLines(file, lines, 'a', runId);
        }
        await syncDir(runsDir);
      } else {
        if (!checked.has(runId)) await cutTornTail(file, runId);
        try {
          await appendLines(file, lines, 'a', runId);
        } catch (error) {
          checked.delete(runId); // part of the write may be on disk: check the end again next time
          throw error;
        }
      }
      checked.add(runId);
    },
    async remove(runId) {
      await setup();
      checked.delete(runId);
      try {
        await unlink(fileOf(runId));
      } catch (error) {
        if (!isCode(error, 'ENOENT')) throw error;
      }
    },
    async runIds() {
      await setup();
      try {
        const names = await readdir(runsDir);
        return names.filter((n) => n.endsWith(SUFFIX)).map((n) => n.slice(0, -SUFFIX.length));
      } catch (error) {
        if (isCode(error, 'ENOENT')) return [];
        throw error;
      }
    },
    async putBreakers(batch) {
      await setup();
      const lines = batch.map((b) => b.line);
      try {
        if (checked.has(breakersFile)) await appendLines(breakersFile, lines, 'a');
        else {
          await cutTornTail(breakersFile);
          try {
            await appendLines(breakersFile, lines, 'wx');
            await syncDir(dir);
          } catch (error) {
            if (!isCode(error, 'EEXIST')) throw error;
            await appendLines(breakersFile, lines, 'a');
          }
        }
      } catch (error) {
        checked.delete(breakersFile); // part of the write may be on disk: check the end again next time
        throw error;
      }
      checked.add(breakersFile);
    },
    async readBreakers() {
      await setup();
      const lines: Array<{ line: string; location: string }> = [];
      await readLines(
        breakersFile,
        (line) => lines.push({ line, location: `${breakersFile} line ${lines.length + 1}` }),
        Number.POSITIVE_INFINITY,
      );
      return lines;
    },
    async compactBreakers(lines) {
      await setup();
      // Write the new file beside the old one, then swap: a crash leaves one or the other, whole.
      const temp = `${breakersFile}.tmp`;
      await appendLines(temp, lines, 'w').catch(async (error) => {
        await unlink(temp).catch(() => {});
        throw error;
      });
      await rename(temp, breakersFile);
      await syncDir(dir);
      checked.add(breakersFile);
    },
    release: (runId) => {
      checked.delete(runId);
    },
    close: release,
  };
}

/**
 * Hand a file's complete lines to `onLine` in order, reading it in chunks: a file is never held as one
 * string, only the line being read. A partial last line (no newline: a cut-off write) is dropped and
 * reported as `torn`. A line longer than `maxLine` bytes stops the read (LineTooLong). Undefined: no file.
 */
async function readLines(
  file: string,
  onLine: (line: string) => void,
  maxLine: number,
  runId?: string,
): Promise<{ torn: boolean } | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r', runId);
  } catch (error) {
    if (isCode(error, 'ENOENT')) return undefined;
    throw error;
  }
  try {
    const buffer = Buffer.alloc(CHUNK);
    let parts: Buffer[] = [];
    let partBytes = 0;
    let count = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      let start = 0;
      for (
        let at = buffer.indexOf(NEWLINE, 0);
        at >= 0 && at < bytesRead;
        at = buffer.indexOf(NEWLINE, start)
      ) {
        const piece = buffer.subarray(start, at);
        count++;
        if (partBytes + piece.length > maxLine) throw new LineTooLong(count, partBytes + piece.length);
        const line =
          partBytes === 0 ? piece.toString('utf8') : Buffer.concat([...parts, piece]).toString('utf8');
        parts = [];
        partBytes = 0;
        start = at + 1;
        onLine(line);
      }
      if (start < bytesRead) {
        // Part of a line: copied, since the buffer is reused for the next chunk.
        parts.push(Buffer.from(buffer.subarray(start, bytesRead)));
        partBytes += bytesRead - start;
        if (partBytes > maxLine) throw new LineTooLong(count + 1, partBytes);
      }
    }
    return { torn: partBytes > 0 };
  } finally {
    await handle.close();
  }
}

/** The offset just past the last newline: the end of the complete lines. */
async function completeEnd(handle: FileHandle, size: number): Promise<number> {
  let end = size;
  const buffer = Buffer.alloc(CHUNK);
  while (end > 0) {
    const start = Math.max(0, end - CHUNK);
    const { bytesRead } = await handle.read(buffer, 0, end - start, start);
    const at = buffer.subarray(0, bytesRead).lastIndexOf(NEWLINE);
    if (at >= 0) return start + at + 1;
    end = start;
  }
  return 0;
}

/**
 * The last complete line of a file, read backwards in chunks (a finished run is told from its last
 * line without reading its whole log). With `closeAfter`, the handle is closed.
 */
async function lastLine(handle: FileHandle, size: number, closeAfter = false): Promise<string | undefined> {
  try {
    const total = Number.isFinite(size) ? size : (await handle.stat()).size;
    const end = await completeEnd(handle, total);
    if (end === 0) return undefined;
    // The line runs from just after the newline before `end - 1` to `end - 1`.
    const start = await completeEnd(handle, end - 1);
    const length = end - 1 - start;
    const buffer = Buffer.alloc(length);
    let read = 0;
    while (read < length) {
      const { bytesRead } = await handle.read(buffer, read, length - read, start + read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return buffer.toString('utf8', 0, read);
  } finally {
    if (closeAfter) await handle.close();
  }
}
