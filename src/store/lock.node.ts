import { randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, mkdir, rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StoreError } from './errors.js';
import { DIR_MODE, openPrivate } from './private-fs.node.js';

/**
 * One owner per store folder. Two processes writing one folder would both resume every run (agents
 * called twice, humans asked twice) and interleave their lines, so the first to use the folder
 * writes `owner.lock` (its pid, host, start time) and the others are refused with a StoreError
 * `locked` naming the owner. The lock is created whole (written aside, then hard-linked into place,
 * which fails when one exists), and removed on release or when the process exits.
 *
 * Stale locks: a process killed with SIGKILL leaves its lock behind. A lock whose pid no longer runs
 * on this host (or runs but started at another time: the pid was reused, e.g. pid 1 in a restarted
 * container) is taken over. A lock from another host cannot be checked and is never taken over.
 *
 * Within one process the lock is shared: stores opened on the same folder by one process count as one
 * owner (the file goes when the last of them releases it).
 */

export const LOCK_FILE = 'owner.lock';

export interface FolderLock {
  /** Take the folder (or keep it); throws StoreError `locked` when another process owns it. */
  acquire(): Promise<void>;
  /** Give it up; the lock file goes once every holder in this process has released it. */
  release(): Promise<void>;
}

interface LockInfo {
  pid: number;
  host: string;
  /** When the owner took the lock (ISO time), for messages. */
  since: string;
  /** The owner process's start time as the kernel counts it (Linux), to tell a reused pid. */
  procStart: string | null;
  /** Tells two locks of the same pid apart. */
  nonce: string;
}

interface Held {
  holders: number;
  ready: Promise<string>;
}

// Shared by every copy of this module in the process (a bundle and a test build may both load it).
const REGISTRY = Symbol.for('agentcharts.store.locks');
const scope = globalThis as {
  [REGISTRY]?: { held: Map<string, Held>; releasing: Map<string, Promise<void>> };
};
scope[REGISTRY] ??= { held: new Map(), releasing: new Map() };
const { held, releasing } = scope[REGISTRY];
/** The content of each lock file this process wrote, for the exit handler. */
const written = new Map<string, string>();
let exitHook: (() => void) | undefined;

const isCode = (error: unknown, code: string): boolean => (error as { code?: unknown })?.code === code;

export function folderLock(dir: string): FolderLock {
  const path = join(dir, LOCK_FILE);
  let mine = false;
  let taking: Promise<void> | undefined;
  const release = (): Promise<void> => {
    if (taking) return taking.then(release, release);
    if (!mine) return Promise.resolve();
    mine = false; // at once: a call made while the file goes takes the folder again, after it went
    const entry = held.get(path);
    if (!entry || --entry.holders > 0) return Promise.resolve();
    held.delete(path);
    const gone: Promise<void> = entry.ready
      .then((content) => removeIfMine(path, content))
      .finally(() => {
        if (releasing.get(path) === gone) releasing.delete(path);
      });
    releasing.set(path, gone);
    return gone;
  };
  return {
    release,
    acquire() {
      if (mine) return Promise.resolve();
      taking ??= (async () => {
        let entry = held.get(path);
        if (!entry) {
          const previous = releasing.get(path) ?? Promise.resolve();
          const take = () => claim(dir, path);
          entry = { holders: 0, ready: previous.then(take, take) };
          held.set(path, entry);
          const failed = entry;
          entry.ready.catch(() => {
            if (held.get(path) === failed) held.delete(path);
          });
        }
        entry.holders++;
        try {
          await entry.ready;
        } catch (error) {
          entry.holders--;
          throw error;
        }
        mine = true;
      })().finally(() => {
        taking = undefined;
      });
      return taking;
    },
  };
}

async function claim(dir: string, path: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
  const info: LockInfo = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    procStart: procStart(process.pid) ?? null,
    nonce: randomBytes(8).toString('hex'),
  };
  const content = `${JSON.stringify(info)}\n`;
  // A few rounds: a stale lock taken away, or a lock released while we looked, means try again.
  for (let round = 0; round < 8; round++) {
    if (await place(path, content, info.nonce)) {
      remember(path, content);
      return content;
    }
    const current = await readLock(path);
    if (current === undefined) continue; // released meanwhile
    const owner = parseLock(current);
    if (owner && isStale(owner)) {
      await takeAway(path, current, info.nonce);
      continue;
    }
    throw lockedError(dir, path, owner);
  }
  throw new StoreError(
    'locked',
    undefined,
    `store: the folder ${dir} is locked: ${path} kept changing while it was being taken`,
    { location: path },
  );
}

/** Put the lock file in place, whole, unless one is there: false when one is. */
async function place(path: string, content: string, nonce: string): Promise<boolean> {
  const aside = `${path}.${process.pid}.${nonce}`;
  const handle = await openPrivate(aside, 'wx');
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(aside, path);
    return true;
  } catch (error) {
    if (isCode(error, 'EEXIST')) return false;
    // No hard links here (some network or FAT file systems): create it exclusively instead.
    if (!isCode(error, 'EPERM') && !isCode(error, 'ENOTSUP') && !isCode(error, 'ENOSYS')) throw error;
    try {
      const handle = await openPrivate(path, 'wx');
      await handle.writeFile(content, 'utf8').finally(() => handle.close());
      return true;
    } catch (inner) {
      if (isCode(inner, 'EEXIST')) return false;
      throw inner;
    }
  } finally {
    await unlink(aside).catch(() => {});
  }
}

async function readLock(path: string): Promise<string | undefined> {
  let handle: Awaited<ReturnType<typeof openPrivate>>;
  try {
    handle = await openPrivate(path, 'r');
  } catch (error) {
    if (isCode(error, 'ENOENT')) return undefined;
    throw error;
  }
  try {
    const buffer = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.toString('utf8', 0, bytesRead);
  } finally {
    await handle.close();
  }
}

function parseLock(text: string): LockInfo | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockInfo>;
    if (
      Number.isSafeInteger(value.pid) &&
      (value.pid as number) > 0 &&
      typeof value.host === 'string' &&
      typeof value.nonce === 'string'
    ) {
      return {
        pid: value.pid as number,
        host: value.host,
        since: typeof value.since === 'string' ? value.since : 'an unknown time',
        procStart: typeof value.procStart === 'string' ? value.procStart : null,
        nonce: value.nonce,
      };
    }
  } catch {
    // Not a lock we wrote: treated as held, never taken over.
  }
  return undefined;
}

/** Whether the lock's owner is gone: its pid is not running here, or is running a later process. */
function isStale(owner: LockInfo): boolean {
  if (owner.host !== hostname()) return false; // another machine's process: cannot tell
  if (owner.pid !== process.pid) {
    try {
      process.kill(owner.pid, 0);
    } catch (error) {
      if (isCode(error, 'ESRCH')) return true;
      // EPERM: it runs, as another user.
    }
  }
  // The pid runs (or is ours, while this process does not hold the lock): the same process only if
  // it started when the lock's owner did.
  const now = procStart(owner.pid);
  return owner.procStart !== null && now !== undefined && now !== owner.procStart;
}

/**
 * Remove a stale lock without removing a fresh one another process has just put in its place: move
 * it aside, check it is the one judged stale, and put it back if it is not.
 */
async function takeAway(path: string, stale: string, nonce: string): Promise<void> {
  const aside = `${path}.stale.${process.pid}.${nonce}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if (isCode(error, 'ENOENT')) return;
    throw error;
  }
  const moved = await readLock(aside);
  if (moved !== stale) await link(aside, path).catch(() => {});
  await unlink(aside).catch(() => {});
}

async function removeIfMine(path: string, content: string): Promise<void> {
  written.delete(path);
  if (written.size === 0 && exitHook) {
    process.off('exit', exitHook);
    exitHook = undefined;
  }
  // Only our own lock: one taken over as stale by another process (we were frozen) stays theirs.
  if ((await readLock(path).catch(() => undefined)) === content) await unlink(path).catch(() => {});
}

function remember(path: string, content: string): void {
  written.set(path, content);
  if (exitHook) return;
  // A process that ends without closing its stores (process.exit, an uncaught error) frees them too.
  exitHook = () => {
    for (const [file, text] of written) {
      try {
        if (readFileSync(file, 'utf8') === text) unlinkSync(file);
      } catch {
        // Gone already, or not readable: nothing to free.
      }
    }
  };
  process.on('exit', exitHook);
}

/** The start time of a process (clock ticks since boot, Linux /proc); undefined elsewhere. */
function procStart(pid: number): string | null | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): state is field 3,
    // starttime field 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return pid === process.pid ? null : undefined;
  }
}

function lockedError(dir: string, path: string, owner: LockInfo | undefined): StoreError {
  const who = owner
    ? `process ${owner.pid} on ${owner.host === hostname() ? 'this machine' : `host ${owner.host}`} (since ${owner.since})`
    : 'another process (its lock file is not readable)';
  return new StoreError(
    'locked',
    undefined,
    `store: the folder ${dir} is in use by ${who}: a store folder has one owner at a time. ` +
      `Stop that runtime (runtime.stop()) or close its store first; if that process is gone, delete ${path}.`,
    { location: path },
  );
}
