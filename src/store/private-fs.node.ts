import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { lstat, mkdir, open } from 'node:fs/promises';
import { prefix, StoreError } from './errors.js';

/**
 * File access for the file store: what it creates is private to the user running it (files 0600,
 * folders 0700: they hold agent inputs and outputs), and a symbolic link where the store expects one
 * of its own files or folders is refused, never followed, so nobody can point a run file at another
 * file and have the store overwrite (or read) it.
 */

export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

// Windows has no O_NOFOLLOW (nor symlinks a normal user can make): 0 leaves the flag out there.
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const FLAGS = {
  r: constants.O_RDONLY,
  'r+': constants.O_RDWR,
  a: constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT,
  wx: constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL,
  w: constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC,
} as const;

export type OpenMode = keyof typeof FLAGS;

const isCode = (error: unknown, code: string): boolean => (error as { code?: unknown })?.code === code;

export function linkRefused(path: string, runId: string | undefined, cause?: unknown): StoreError {
  return new StoreError(
    'unsafe',
    runId,
    `${prefix(runId)}${path} is a symbolic link (or not a regular file or folder): the store refuses to follow it`,
    { location: path, cause },
  );
}

/** Open one of the store's files: created 0600; a symbolic link in its place is a StoreError `unsafe`. */
export async function openPrivate(file: string, mode: OpenMode, runId?: string): Promise<FileHandle> {
  try {
    return await open(file, FLAGS[mode] | NOFOLLOW, FILE_MODE);
  } catch (error) {
    // O_NOFOLLOW on a link fails with ELOOP (Linux, macOS) or EMLINK (FreeBSD).
    if (isCode(error, 'ELOOP') || isCode(error, 'EMLINK')) throw linkRefused(file, runId, error);
    throw error;
  }
}

/**
 * Create a folder (and missing parents) 0700. An existing entry there must be a real folder: a link
 * (even to a folder) is refused. The folders a user already has keep their permissions.
 */
export async function makePrivateDir(folder: string): Promise<void> {
  await mkdir(folder, { recursive: true, mode: DIR_MODE });
  const stat = await lstat(folder);
  if (!stat.isDirectory()) throw linkRefused(folder, undefined);
}
