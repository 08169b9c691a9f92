import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * `import 'agentcharts'` must not load anything of Restate: the SDK is an optional peer, and the
 * core runs in a browser. Walks the static import graph of the main entry (type-only imports are
 * erased, so they are skipped) and lists every package and file it reaches.
 */
function graph(entry: string) {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(
      /^(?:import|export)\s+(?!type\b)[^'"]*?from\s+'([^']+)'|^import\s+'([^']+)'/gm,
    )) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('.')) visit(join(dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  };
  visit(entry);
  return { files: [...files].map((f) => relative('.', f)), packages: [...packages] };
}

describe('agentcharts/restate stays out of the main entry', () => {
  it('src/index.ts reaches no Restate package and no file of src/restate', () => {
    const { files, packages } = graph('src/index.ts');
    expect(files.length).toBeGreaterThan(20);
    expect(packages.filter((p) => p.startsWith('@restatedev'))).toEqual([]);
    expect(files.filter((f) => f.startsWith('src/restate'))).toEqual([]);
  });

  it('the restate entry loads the Promise.withResolvers polyfill before the SDK', () => {
    const { packages } = graph('src/restate/index.ts');
    expect(packages).toContain('@restatedev/restate-sdk');
    const first = readFileSync('src/restate/index.ts', 'utf8').match(/^import\s+'([^']+)'/m)?.[1];
    expect(first).toBe('./polyfill.js');
  });
});
