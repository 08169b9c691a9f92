import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { number, UsageError } from '../cli/args.js';
import { COMMAND_HELP } from '../cli/help.js';
import { loadModule } from '../cli/module.js';
import { fileStore } from '../store/file.node.js';
import { isWorkflow, type Workflow } from '../workflow/define.js';
import { type ConsoleServer, startConsoleServer } from './server.node.js';
import { storedSource } from './stored.js';

type Out = { log: (text: string) => void; err: (text: string) => void };

/**
 * `agentcharts console --store <dir> [--module <file.js>] [--port N] [--host H]`: the console over a
 * file store's runs, finished and unfinished (read-only). `--module` gives the workflows, so their
 * statecharts are drawn. Serves until `signal` aborts (Ctrl-C in the CLI).
 */
export async function consoleCommand(argv: string[], out: Out, signal?: AbortSignal): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      store: { type: 'string' },
      module: { type: 'string', multiple: true },
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    out.log(COMMAND_HELP.console);
    return 0;
  }
  if (positionals.length > 0)
    throw new UsageError(`console takes no arguments, received "${positionals[0]}"`);
  if (!values.store) throw new UsageError('console needs --store <dir>: the folder of a file store');
  if (!existsSync(values.store)) throw new UsageError(`--store ${values.store}: no such folder`);
  const port = number('port', values.port, 0, 65_535, true);
  const workflows: Workflow[] = [];
  for (const spec of values.module ?? []) {
    const module = await loadModule(spec);
    workflows.push(...(Object.values(module.exports).filter(isWorkflow) as Workflow[]));
  }
  const store = fileStore({ dir: values.store, fsync: false });
  let server: ConsoleServer | undefined;
  try {
    const { source, errors } = await storedSource(store, { workflows });
    for (const error of errors) out.err(`  skipped: ${error.message}`);
    server = await startConsoleServer(source, { port, host: values.host });
    out.log(
      `agentcharts console: ${source.registry.size} runs from ${values.store}${workflows.length ? '' : ' (no --module: no statecharts)'}\nopen ${server.address.url}`,
    );
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      if (signal?.aborted) return stop();
      signal?.addEventListener('abort', stop, { once: true });
      if (!signal) process.once('SIGINT', stop);
    });
    return 0;
  } finally {
    await server?.close();
    await store.close();
  }
}
