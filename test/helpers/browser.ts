import { constants, readFileSync } from 'node:fs';
import { access, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import chromium from '@sparticuz/chromium';
import { type Browser, chromium as playwright } from 'playwright-core';

/**
 * Headless Chromium for tests, from the `@sparticuz/chromium` dev dependency: the binary ships inside
 * the npm package, so `npm ci` is all a fresh machine needs (no system browser, no root, no download).
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = await unpacked();
  // A browser that dies while starting (seen once, on a loaded box, with three starting at once) is
  // the machine's hiccup, not the code under test's: one more try, then the first error.
  return launch(executablePath).catch((first: unknown) =>
    launch(executablePath).catch(() => Promise.reject(first)),
  );
}

function launch(executablePath: string): Promise<Browser> {
  return playwright.launch({
    executablePath,
    headless: true,
    // Without the background-networking flags Chromium keeps dialling out on a closed network.
    args: [
      // Its Lambda-minded `--single-process` ends the browser when the first context closes.
      ...chromium.args.filter((arg) => arg !== '--single-process'),
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

const { version } = JSON.parse(
  readFileSync(new URL('../../node_modules/@sparticuz/chromium/package.json', import.meta.url), 'utf8'),
) as { version: string };

/**
 * The package unpacks its browser into the temporary folder and reuses whatever is there: another
 * user's (not executable by us) or one still being written by a parallel test file. So unpack into
 * a private staging folder and move it, whole, to a folder of this user and version.
 */
async function unpacked(): Promise<string> {
  const base = tmpdir();
  const dir = join(base, `agentcharts-chromium-${version}-${process.getuid?.() ?? 'user'}`);
  const binary = join(dir, 'chromium');
  if (await executable(binary)) return binary;
  const staging = await mkdtemp(join(base, 'agentcharts-chromium-unpack-'));
  const saved = process.env.TMPDIR;
  // The package unpacks into os.tmpdir(); process.env is this worker thread's own.
  process.env.TMPDIR = staging;
  try {
    await chromium.executablePath();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
  try {
    await rename(staging, dir);
  } catch {
    // Another test file got there first: its folder is complete, ours goes.
    await rm(staging, { recursive: true, force: true });
  }
  return binary;
}

const executable = (file: string) =>
  access(file, constants.X_OK).then(
    () => true,
    () => false,
  );
