import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The core must run in a browser: no `node:` imports (or bare Node built-ins) in machines/ or src/,
 * except Node-only files, which are named `*.node.ts` or live in src/cli/.
 */
const root = new URL('..', import.meta.url).pathname;
const BUILTINS = [
  'fs',
  'path',
  'os',
  'child_process',
  'net',
  'http',
  'https',
  'crypto',
  'stream',
  'worker_threads',
  'url',
];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('browser-safe core', () => {
  const core = [...files(join(root, 'machines')), ...files(join(root, 'src'))]
    .map((f) => relative(root, f))
    .filter((f) => !f.endsWith('.node.ts') && !f.startsWith('src/cli/'));

  it('covers the core files', () => {
    expect(core).toContain('src/index.ts');
    expect(core).toContain('machines/agent.ts');
  });

  it('no core file imports a Node built-in', () => {
    const offenders = core.filter((f) => {
      const text = readFileSync(join(root, f), 'utf8');
      return /from ['"]node:/.test(text) || BUILTINS.some((b) => new RegExp(`from ['"]${b}['"]`).test(text));
    });
    expect(offenders).toEqual([]);
  });

  it('machines/ never imports src/', () => {
    const offenders = core
      .filter((f) => f.startsWith('machines/'))
      .filter((f) => /from ['"]\.\.\/src\//.test(readFileSync(join(root, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
