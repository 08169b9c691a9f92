/**
 * Browser bundle size: what agentcharts adds to a page, against zod + xstate alone, built by Vite
 * from the compiled package (dist/src, what npm ships) and measured minified and gzipped.
 *   npm run bench:bundle
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';

const dist = fileURLToPath(new URL('../src/', import.meta.url));

const PAGES: Record<string, string> = {
  'zod + xstate (baseline)': `
    import { z } from 'zod';
    import { createActor, fromPromise, setup } from 'xstate';
    const Draft = z.object({ content: z.string(), confidence: z.number() });
    const machine = setup({ actors: { call: fromPromise(async () => Draft.parse({ content: 'hi', confidence: 0.9 })) } })
      .createMachine({ initial: 'calling', states: { calling: { invoke: { src: 'call', onDone: 'done' } }, done: { type: 'final' } } });
    createActor(machine).start();`,
  'defineAgent + runAgent': `
    import { z } from 'zod';
    import { defineAgent, runAgent } from 'agentcharts';
    const agent = defineAgent({ id: 'a', output: z.object({ content: z.string(), confidence: z.number() }), run: async () => ({ content: 'hi', confidence: 0.9 }) });
    runAgent(agent, {}).then((r) => { document.body.textContent = r.status; });`,
  'a workflow on the runtime': `
    import { z } from 'zod';
    import { createRuntime, defineAgent, defineWorkflow } from 'agentcharts';
    const agent = defineAgent({ id: 'a', output: z.object({ content: z.string(), confidence: z.number() }), run: async () => ({ content: 'hi', confidence: 0.9 }) });
    const workflow = defineWorkflow({ id: 'w', steps: [{ agent, review: true }] });
    createRuntime().start(workflow, {}).done.then((r) => { document.body.textContent = r.status; });`,
};

export interface BundleFigure {
  page: string;
  bytes: number;
  gzip: number;
}

export async function bundleBench(): Promise<BundleFigure[]> {
  // Inside the repository, so the pages resolve zod and xstate from its node_modules.
  const work = fileURLToPath(new URL('../.bench-bundle/', import.meta.url));
  rmSync(work, { recursive: true, force: true });
  try {
    const figures: BundleFigure[] = [];
    for (const [page, code] of Object.entries(PAGES)) {
      const root = join(work, String(figures.length));
      mkdirSync(root, { recursive: true });
      writeFileSync(join(root, 'index.html'), '<script type="module" src="./main.js"></script>');
      writeFileSync(join(root, 'main.js'), code);
      const outDir = join(root, 'out');
      await build({
        root,
        configFile: false,
        logLevel: 'silent',
        resolve: { alias: [{ find: /^agentcharts$/, replacement: join(dist, 'index.js') }] },
        build: { outDir },
      });
      const assets = join(outDir, 'assets');
      // Every chunk: lazily loaded ones count too.
      const js = readdirSync(assets)
        .filter((f) => f.endsWith('.js'))
        .map((f) => readFileSync(join(assets, f)));
      const all = Buffer.concat(js);
      figures.push({ page, bytes: all.length, gzip: gzipSync(all, { level: 9 }).length });
    }
    return figures;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function printBundleReport(figures: BundleFigure[]): void {
  const base = figures[0]!;
  console.log('| page | minified | gzip | gzip over zod + xstate |');
  console.log('|---|---|---|---|');
  for (const f of figures) {
    const extra = f === base ? '—' : `+${((f.gzip - base.gzip) / 1024).toFixed(1)} KB`;
    console.log(
      `| ${f.page} | ${(f.bytes / 1024).toFixed(1)} KB | ${(f.gzip / 1024).toFixed(1)} KB | ${extra} |`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) printBundleReport(await bundleBench());
