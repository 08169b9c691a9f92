import { readFileSync } from 'node:fs';

/** The package's name, by which its package.json is told apart from any other on the way up. */
const PACKAGE = 'agentcharts';

/**
 * The version in agentcharts' own package.json, read at run time: the nearest package.json named
 * `agentcharts` above this module, wherever the build put it (src/cli, dist/src/cli, dist/cli).
 */
export function packageVersion(from: string = import.meta.url): string {
  let dir = new URL('.', from);
  for (;;) {
    const found = readPackage(new URL('package.json', dir));
    if (found?.name === PACKAGE && typeof found.version === 'string') return found.version;
    const parent = new URL('..', dir);
    if (parent.href === dir.href) break;
    dir = parent;
  }
  throw new Error(`no package.json named "${PACKAGE}" above ${from}`);
}

function readPackage(url: URL): { name?: unknown; version?: unknown } | undefined {
  try {
    return JSON.parse(readFileSync(url, 'utf8')) as { name?: unknown; version?: unknown };
  } catch {
    return undefined; // none here, or not JSON: keep walking up
  }
}
