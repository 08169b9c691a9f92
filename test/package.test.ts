import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isOptionsError } from '../src/errors.js';
import { defineWorkflow, isWorkflow } from '../src/workflow/define.js';
import { launchChromium } from './helpers/browser.js';
import { serveStatic } from './helpers/serve.js';

/**
 * agentcharts as a user gets it: `npm pack` (which builds dist/ in `prepack`), the tarball installed
 * with npm into a fresh project beside zod and xstate, then used from Node ESM, CommonJS, a strict
 * TypeScript app, a Vite page in Chromium, and the `agentcharts` bin.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const fixtures = join(root, 'test/fixtures/consumer');
const tsc = join(root, 'node_modules/.bin/tsc');

let work: string;
let app: string;
let tarball: string;
let browser: Browser | undefined;
let server: Server | undefined;

/** The environment without the `npm test` run's own npm settings, as a user's shell would have it. */
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string): Promise<Ran> {
  return new Promise((done) =>
    execFile(command, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      done({ code: error ? Number((error as { code?: unknown }).code ?? 1) || 1 : 0, stdout, stderr }),
    ),
  );
}

async function ok(command: string, args: string[], cwd: string): Promise<string> {
  const result = await run(command, args, cwd);
  if (result.code !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** `npm install` the tarball into `dir` with the peers (and `extra` packages) at this repository's locked versions, so npm's cache serves them. */
const install = (dir: string, extra: string[] = []) =>
  ok(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      tarball,
      ...['zod', 'xstate', '@types/node', ...extra].map((name) => `${name}@${versionOf(name)}`),
    ],
    dir,
  );

const versionOf = (name: string): string =>
  (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string })
    .version;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'agentcharts-consumer-'));
  const packed = await ok('npm', ['pack', '--pack-destination', work, '--json'], root);
  tarball = join(work, (JSON.parse(packed) as Array<{ filename: string }>)[0]!.filename);
  app = join(work, 'app');
  cpSync(fixtures, app, { recursive: true });
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  await install(app);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds JavaScript and declarations for every entry, a LICENSE, and no sources or tests', async () => {
    const listing = await ok('tar', ['-tzf', tarball], work);
    const files = listing.split('\n').filter(Boolean);
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      exports: Record<string, string | Record<string, string>>;
      license: string;
    };
    for (const [entry, target] of Object.entries(manifest.exports)) {
      const targets = typeof target === 'string' ? [target] : Object.values(target);
      for (const path of targets) expect(files, `${entry} → ${path}`).toContain(`package/${path.slice(2)}`);
      if (typeof target === 'object') expect(target.types, entry).toMatch(/\.d\.ts$/);
    }
    expect(files).toContain('package/LICENSE');
    // The console's page, built by Vite and served by the runtime.
    expect(files).toContain('package/dist/console/index.html');
    expect(readFileSync(join(app, 'node_modules/agentcharts/LICENSE'), 'utf8')).toContain(
      `${manifest.license} License`,
    );
    expect(files.filter((f) => /\.ts$/.test(f) && !/\.d\.ts$/.test(f))).toEqual([]);
    expect(files.filter((f) => /^package\/(src|test|bench|examples)\//.test(f))).toEqual([]);
  });

  it('installs without the optional peers: no ws, @statelyai/inspect, OpenTelemetry or ai', async () => {
    const installed = await readdir(join(app, 'node_modules'));
    expect(installed).not.toContain('ws');
    expect(installed).not.toContain('ai');
    expect(installed).not.toContain('@opentelemetry');
    expect(installed).not.toContain('@statelyai');
  });

  it('runs from Node ESM (import), with the file store of agentcharts/node', async () => {
    const out = await ok(process.execPath, ['app.mjs', join(work, 'runs')], app);
    expect(JSON.parse(out)).toEqual({
      isWorkflow: true,
      status: 'completed',
      output: { report: 'batteries: report from notes' },
    });
  });

  it('runs from CommonJS (require of the ES modules, Node 20.19+)', async () => {
    const out = await ok(process.execPath, ['app.cjs'], app);
    expect(JSON.parse(out)).toEqual({
      status: 'succeeded',
      content: { content: 'from require', confidence: 0.9 },
      refused: true,
    });
  });

  it('type-checks in a strict nodenext TypeScript app (skipLibCheck false, no DOM library)', async () => {
    expect(await run(tsc, ['-p', 'tsconfig.node.json'], app)).toMatchObject({ code: 0, stdout: '' });
  });

  it('type-checks in a browser TypeScript app without @types/node', async () => {
    expect(await run(tsc, ['-p', 'tsconfig.browser.json'], app)).toMatchObject({ code: 0, stdout: '' });
  });

  it('a user mistake in the app is still a type error (the checks above can fail)', async () => {
    writeFileSync(join(app, 'mistake.ts'), "import { defineAgent } from 'agentcharts';\ndefineAgent(42);\n");
    writeFileSync(
      join(app, 'tsconfig.mistake.json'),
      JSON.stringify({ extends: './tsconfig.node.json', files: ['mistake.ts'] }),
    );
    const result = await run(tsc, ['-p', 'tsconfig.mistake.json'], app);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toMatch(/mistake\.ts.*error TS2345/);
  });
});

describe('the packed package in a Vite browser build', () => {
  const bundle = async (page: string) => {
    const outDir = join(work, `out-${page}`);
    await build({ root: join(app, page), logLevel: 'silent', build: { outDir, emptyOutDir: true } });
    const assets = join(outDir, 'assets');
    const js = (await readdir(assets)).filter((f) => f.endsWith('.js'));
    const code = await Promise.all(js.map((f) => readFile(join(assets, f), 'utf8')));
    return { outDir, code: code.join('\n') };
  };
  // Strings only the runtime's parts carry: review fallbacks, the state log, the stores, the tracer.
  const markers = [
    '[Rejected in human review]',
    'createStateLog',
    'createTraceRecorder',
    'must be workflows made by defineWorkflow',
  ];

  it('runs a workflow in a page loaded in headless Chromium', async () => {
    const { outDir, code } = await bundle('page');
    for (const marker of markers) expect(code.includes(marker), marker).toBe(true);
    let origin: string;
    ({ server, origin } = await serveStatic(outDir));
    browser = await launchChromium();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    // Nothing leaves the machine: only the page's own origin is served.
    await page.route('**/*', (route) =>
      route.request().url().startsWith(origin) ? route.continue() : route.abort(),
    );
    await page.goto(origin);
    const text = await page.locator('#result').textContent({ timeout: 15_000 });
    expect(JSON.parse(text!)).toEqual({ status: 'completed', output: { text: 'a report' } });
    expect(errors).toEqual([]);
  }, 60_000);

  it('bundles only the agent parts when only defineAgent and runAgent are used', async () => {
    const { code } = await bundle('agent-only');
    // (includes, not toContain: a failure must not print a whole bundle)
    for (const marker of [...markers, 'createBrowserInspector', 'partysocket', 'superjson'])
      expect(code.includes(marker), marker).toBe(false);
    const gzip = gzipSync(code, { level: 9 }).length;
    // Reported for the README; the figure itself is measured in bench/, not asserted here.
    console.log(`agent-only browser bundle: ${code.length} B, ${gzip} B gzip (zod and xstate included)`);
  }, 60_000);

  it('refuses the Node-only entry at build time, naming it', async () => {
    await expect(bundle('node-in-browser')).rejects.toThrow(
      /"\.\/node" is not exported under the conditions/,
    );
  }, 60_000);
});

describe('the agentcharts bin, installed', () => {
  const bin = () => join(app, 'node_modules/.bin/agentcharts');

  it('prints its help and its version', async () => {
    const result = await run(bin(), ['--help'], app);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/agentcharts check <module>/);
    const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string;
    expect(await run(bin(), ['--version'], app)).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('checks the user’s own compiled module', async () => {
    const result = await run(bin(), ['check', 'workflow.mjs', '--json'], app);
    const report = JSON.parse(result.stdout) as { export: string; items: Array<{ pass: boolean }> };
    expect(report.export).toBe('report');
    expect(report.items).toHaveLength(8);
    expect(result.code).toBe(report.items.every((i) => i.pass) ? 0 : 1);
  });

  it('says so when a module exports no workflow', async () => {
    const result = await run(bin(), ['check', 'not-a-workflow.mjs'], app);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/exports no workflow/);
    expect(result.stderr).toMatch(/answer \(number\), helper \(function\)/);
  });
});

describe('two copies of agentcharts and of zod', () => {
  const installed = () =>
    import(pathToFileURL(join(app, 'node_modules/agentcharts/dist/src/index.js')).href) as Promise<
      typeof import('../src/index.js')
    >;

  it('recognise each other’s workflows, agents and errors', async () => {
    const other = await installed();
    const { report } = (await import(pathToFileURL(join(app, 'workflow.mjs')).href)) as { report: unknown };
    expect(isWorkflow(report)).toBe(true);
    const { researcher } = (await import(pathToFileURL(join(app, 'workflow.mjs')).href)) as {
      researcher: import('../src/index.js').AnyAgent;
    };
    expect(other.isWorkflow(defineWorkflow({ id: 'here', steps: [researcher] }))).toBe(true);
    expect(other.isAgent(researcher)).toBe(true);
    let thrown: unknown;
    try {
      other.defineAgent({ id: 'bad' } as never);
    } catch (error) {
      thrown = error;
    }
    expect(isOptionsError(thrown)).toBe(true);
  });

  it('run another copy’s agent in this copy’s workflow, with the user’s own zod copy', async () => {
    const { researcher } = (await import(pathToFileURL(join(app, 'workflow.mjs')).href)) as {
      researcher: import('../src/index.js').AnyAgent;
    };
    const userZod = (await import(pathToFileURL(join(app, 'node_modules/zod/index.js')).href)) as typeof z;
    expect(userZod.object).not.toBe(z.object);
    const { createRuntime } = await import('../src/runtime.js');
    const workflow = defineWorkflow({
      id: 'mixed',
      state: userZod.object({ researcher: userZod.looseObject({ content: userZod.string() }).optional() }),
      steps: [researcher],
      result: ({ state }) => state.researcher as unknown,
    });
    const runtime = createRuntime();
    const result = await runtime.start(workflow, {}).done;
    await runtime.stop();
    expect(result).toMatchObject({ status: 'completed', output: { content: 'notes' } });
  });
});

describe('every TypeScript snippet in the README, pasted into a project', () => {
  let dir: string;
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/(<!-- snippet: type-checked only[^>]*-->\n)?```ts\n([\s\S]*?)```/g)];
  const snippets = blocks.map((m) => m[2]!);
  // A snippet that needs a server is type-checked but not run (its own comment says which).
  const runnable = (i: number) => blocks[i]![1] === undefined;
  // What the README says each program prints, by a line of the snippet.
  const prints: Array<[RegExp, string]> = [
    [/isDone: \(out\)/, 'HIGH (0.9): solid-state batteries: a much longer, more detailed answer (attempt 2)'],
    [/id: 'report',\n {2}input:/, 'completed Solid-state batteries: safer, denser, not yet cheap.'],
    [/withQualityGate\(researcher/, 'breakerOpen: [Circuit open — agent not called]'],
    [/MockLanguageModelV3\(/, 'succeeded invalid → valid (104 tokens)'],
    [/reviews\.edit\(/, "completed { content: 'A better draft.', confidence: 0.9 }"],
    [/runtime\.resume\(\)/, 'resumed 0 runs, 0 unreadable'],
    [/serveWorkflows\(/, ''],
    [/console: true/, 'console at http://127.0.0.1:'],
  ];

  beforeAll(async () => {
    dir = join(work, 'snippets');
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'snippets', private: true, type: 'module' }),
    );
    for (const [i, code] of snippets.entries()) writeFileSync(join(dir, 'src', `snippet-${i + 1}.ts`), code);
    // What the Restate snippet imports from its own project.
    writeFileSync(
      join(dir, 'src', 'workflows.ts'),
      [
        "import { defineAgent, defineWorkflow } from 'agentcharts';",
        "import { z } from 'zod';",
        "const writer = defineAgent({ id: 'writer', output: z.object({ confidence: z.number() }), run: async () => ({ confidence: 1 }) });",
        "export const report = defineWorkflow({ id: 'report', input: z.object({ topic: z.string() }), steps: [writer] });",
        "export const reviewed = defineWorkflow({ id: 'reviewed', steps: [{ agent: writer, review: true }] });",
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          target: 'es2022',
          lib: ['es2023'],
          types: ['node'],
          strict: true,
          // The AI SDK's own declarations need the DOM library and @types/json-schema; agentcharts'
          // are checked with skipLibCheck false by the app fixture above.
          skipLibCheck: true,
          rootDir: 'src',
          outDir: 'out',
        },
        include: ['src'],
      }),
    );
    await install(dir, ['ai', '@restatedev/restate-sdk']);
  }, 120_000);

  it('finds the snippets, and knows what each prints', () => {
    expect(snippets.length).toBe(prints.length);
    for (const code of snippets)
      expect(
        prints.filter(([line]) => line.test(code)),
        code,
      ).toHaveLength(1);
    for (const code of snippets) expect(code).not.toMatch(/from '\.\.\//);
    expect(snippets.filter((_, i) => !runnable(i))).toHaveLength(1);
  });

  it('type-check as a strict nodenext project and run, printing what the README says', async () => {
    expect(await run(tsc, ['-p', '.'], dir)).toMatchObject({ code: 0, stdout: '' });
    for (const [i, code] of snippets.entries()) {
      if (!runnable(i)) continue;
      const result = await run(process.execPath, [join('out', `snippet-${i + 1}.js`)], dir);
      expect(result, code).toMatchObject({ code: 0 });
      const expected = prints.find(([line]) => line.test(code))![1];
      expect(result.stdout, code).toContain(expected);
    }
  }, 120_000);
});
