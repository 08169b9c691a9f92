#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { AnyStateMachine } from 'xstate';
import { isWorkflow } from '../workflow/define.js';
import { isUsageError, UsageError } from './args.js';
import { checkMachine } from './check.js';
import { COMMAND_HELP, HELP } from './help.js';
import type { Out } from './load-command.js';
import { load } from './load-command.js';
import { loadModule, pick } from './module.js';
import { packageVersion } from './version.js';

export { formatLoad } from './load-command.js';

/** Run the CLI; returns the exit code (0 ok, 1 a check or SLO failed, 2 bad usage, 70 internal error). */
export async function main(argv: string[], out: Out = defaultOut()): Promise<number> {
  // Known before parsing, so that a parse error is reported the way the caller asked for.
  const json = argv.includes('--json');
  try {
    const [command, ...rest] = argv;
    switch (command) {
      case 'check':
        return await check(rest, out);
      case 'load':
        return await load(rest, out);
      case 'console': {
        const { consoleCommand } = await import('../console/cli.node.js');
        return await consoleCommand(rest, out);
      }
      case 'demo': {
        const { demo } = await import('./demo.js');
        return await demo(rest, out);
      }
      case '--version':
      case '-v':
      case 'version':
        out.log(json ? JSON.stringify({ version: packageVersion() }) : packageVersion());
        return 0;
      case 'help':
        out.log(isCommand(rest[0]) ? COMMAND_HELP[rest[0]] : HELP);
        return 0;
      case undefined:
      case '--help':
      case '-h':
        out.log(HELP);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}" (expected demo, load, check or console)`);
    }
  } catch (error) {
    const usage = isUsageError(error) || isParseArgsError(error);
    const message = messageOf(error);
    if (json) {
      out.log(JSON.stringify({ error: { kind: usage ? 'usage' : 'internal', message } }, null, 2));
    } else if (usage) {
      out.err(`agentcharts: ${message}\nrun \`agentcharts ${helpFor(argv[0])}--help\` for usage`);
    } else {
      // A bug in agentcharts (or the module threw at load time in a way we did not expect): the stack helps.
      out.err(
        `agentcharts: unexpected error: ${error instanceof Error && error.stack ? error.stack : message}`,
      );
    }
    return usage ? 2 : 70;
  }
}

const isCommand = (name: string | undefined): name is keyof typeof COMMAND_HELP =>
  name !== undefined && Object.hasOwn(COMMAND_HELP, name);

const helpFor = (command: string | undefined) => (isCommand(command) ? `${command} ` : '');

function messageOf(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return 'an unprintable value was thrown';
  }
}

const isParseArgsError = (e: unknown) =>
  typeof e === 'object' && e !== null && String((e as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');

async function check(argv: string[], out: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { export: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    out.log(COMMAND_HELP.check);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`check takes one module, received ${positionals.length}`);
  const module = await loadModule(positionals[0]);
  const [name, target] = pick(module, values.export, true);
  const machine = (isWorkflow(target) ? target.machine : target) as AnyStateMachine;
  const items = checkMachine({
    name,
    machine,
    load: module.exports.load as { expected?: unknown } | undefined,
  });
  const pass = items.every((i) => i.pass);
  if (values.json) {
    out.log(JSON.stringify({ module: module.path, export: name, pass, items }, null, 2));
  } else {
    out.log(`production checklist for ${name} (${module.path})\n`);
    for (const i of items) {
      out.log(`${i.pass ? '✓' : '✗'} ${i.item}. ${i.title}`);
      for (const f of i.findings) out.log(`    ${f}`);
    }
    out.log(
      `\n${items.filter((i) => i.pass).length}/8 pass${pass ? '' : ' — fix the ✗ items before this ships'}`,
    );
  }
  return pass ? 0 : 1;
}

function defaultOut(): Out {
  const tty = process.stderr.isTTY;
  let last = 0;
  return {
    log: (text) => console.log(text),
    err: (text) => console.error(text),
    progress: (text) => {
      if (tty) process.stderr.write(`\r\x1b[2K${text}`);
      // Piped: a line every few seconds rather than a redraw.
      else if (text && Date.now() - last >= 5000) {
        last = Date.now();
        process.stderr.write(`${text}\n`);
      }
    },
  };
}

const invokedDirectly = () => {
  try {
    return import.meta.url === pathToFileURL(realpathSync(process.argv[1] ?? '')).href;
  } catch {
    return false;
  }
};

if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      console.error('agentcharts: unexpected error', error);
      process.exitCode = 70;
    },
  );
}
