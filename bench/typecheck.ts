/**
 * What typed workflows cost the compiler: `tsc --extendedDiagnostics` over a file with a 3-step and
 * one with a 20-step workflow (each step maps its input from the previous step's output and routes
 * on the state), against the emitted .d.ts a user installs, and a file with the same agents and no
 * workflow as the baseline. Reported: check time and type instantiations above the baseline.
 *   npm run bench:types            (BENCH_TSC=path/to/tsc measures another compiler)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = process.cwd();
const types = join(root, 'dist/.bench-types');
const dir = join(root, 'dist/.bench-typecheck');
const tsc = join(root, 'node_modules/.bin/tsc');
// The compiler measured: the project's (tsc 7) unless BENCH_TSC names another, e.g. a TypeScript 5 tsc.
const measured = process.env.BENCH_TSC ?? tsc;
const RUNS = 5;

function agents(n: number): string {
  const lines = [
    `import { z } from 'zod';`,
    `import { defineAgent, defineWorkflow } from 'agentcharts';`,
    'const Draft = z.object({ content: z.string(), confidence: z.number() });',
  ];
  for (let i = 0; i < n; i++) {
    lines.push(
      `const a${i} = defineAgent({ id: 'a${i}', output: Draft, run: async ({ input }: { input: { text: string } }) => ({ content: input.text + ${i}, confidence: 0.9 }) });`,
    );
  }
  return lines.join('\n');
}

function workflow(n: number): string {
  const steps = [`{ agent: a0, input: ({ input }) => ({ text: input.topic }) }`];
  for (let i = 1; i < n; i++) {
    steps.push(
      `{ agent: a${i}, input: ({ state }) => ({ text: state.a${i - 1}.content }), next: [{ if: ({ state }) => state.a${i - 1}.confidence < 0.5, goto: 'a0' }] }`,
    );
  }
  return `${agents(n)}
export const w = defineWorkflow({
  id: 'w${n}',
  input: z.object({ topic: z.string() }),
  output: z.object({ report: z.string() }),
  steps: [
    ${steps.join(',\n    ')},
  ],
  result: ({ state }) => ({ report: state.a${n - 1}.content }),
});
`;
}

interface Diagnostics {
  checkSeconds: number;
  totalSeconds: number;
  instantiations: number;
}

function measure(file: string, source: string): Diagnostics {
  const folder = join(dir, file);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'main.ts'), source);
  writeFileSync(
    join(folder, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: true,
        types: [],
        noEmit: true,
        paths: { agentcharts: [join(types, 'src/index.d.ts')] },
      },
      files: ['main.ts'],
    }),
  );
  const runs: Diagnostics[] = [];
  for (let i = 0; i < RUNS; i++) {
    const out = execFileSync(measured, ['-p', join(folder, 'tsconfig.json'), '--extendedDiagnostics'], {
      encoding: 'utf8',
    });
    const read = (label: string) => Number(new RegExp(`${label}:\\s+([\\d.]+)`).exec(out)?.[1]);
    runs.push({
      checkSeconds: read('Check time'),
      totalSeconds: read('Total time'),
      instantiations: read('Instantiations'),
    });
  }
  // The fastest run: the least disturbed by other work on the machine.
  return runs.sort((a, b) => a.checkSeconds - b.checkSeconds)[0]!;
}

rmSync(dir, { recursive: true, force: true });
execFileSync(tsc, ['-p', 'tsconfig.lib.json', '--emitDeclarationOnly', '--outDir', types], {
  stdio: 'inherit',
});
const baseline20 = measure('baseline-20', `${agents(20)}\nexport { a0 };\n`);
const three = measure('steps-3', workflow(3));
const twenty = measure('steps-20', workflow(20));
const row = (name: string, d: Diagnostics) =>
  `| ${name} | ${d.checkSeconds.toFixed(2)} s | ${d.totalSeconds.toFixed(2)} s | ${d.instantiations} |`;
const version = execFileSync(measured, ['-v'], { encoding: 'utf8' }).trim();
console.log(`best of ${RUNS}, ${version}, tsc --extendedDiagnostics against the emitted .d.ts\n`);
console.log('| file | check time | total time | instantiations |');
console.log('|---|---|---|---|');
console.log(row('20 agents, no workflow (baseline)', baseline20));
console.log(row('3-step workflow', three));
console.log(row('20-step workflow', twenty));
const extra = twenty.checkSeconds - three.checkSeconds;
console.log(
  `\n20 steps check ${extra.toFixed(2)} s longer than 3 steps (goal: under 2 s); ${twenty.instantiations - baseline20.instantiations} instantiations above the baseline.`,
);
