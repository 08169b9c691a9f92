import { z } from 'zod';
import type { Breaker } from './breaker.js';
import { createRunRegistry, type RunRegistry } from './console/registry.js';
import type { ConsoleServer, ConsoleServerOptions } from './console/server.node.js';
import { integer } from './options.js';
import type { Reviews } from './review/reviews.js';
import type { Run } from './run.js';
import type { Workflow } from './workflow/define.js';

/** The runtime's `console` option: `true`, or `{ port, host, assets }` (where to listen; the built page). */
export type ConsoleOption = true | ConsoleServerOptions;

export interface RuntimeConsole {
  /** Where the console listens: open `url` (it carries the access token). Rejects if it cannot start. */
  readonly ready: Promise<{ url: string; host: string; port: number }>;
  /** Called by the runtime for every run it starts or resumes. */
  track(run: Run, workflow: Workflow): void;
  stop(): Promise<void>;
}

/** `createRuntime({ console })`, checked at definition time. */
export const consoleOptionSchema = z.union(
  [
    z.literal(true),
    z.strictObject({
      port: integer(0, 65_535).optional(),
      host: z.string({ error: 'must be a host name or address, e.g. 127.0.0.1' }).min(1).optional(),
      assets: z.string({ error: 'must be the directory of the built console page' }).min(1).optional(),
    }),
  ],
  { error: 'must be true or { port, host }' },
);

// Kept out of bundlers' sight: the console's HTTP server must never end up in a browser build.
const SERVER_MODULE = './console/server.node.js';

/**
 * The console: a page on loopback showing the runtime's runs, breakers and reviews. The run registry
 * starts at once (so a page opened late sees every run); the Node server is loaded on demand.
 */
export function startConsole(
  option: ConsoleOption,
  runtime: { reviews: Reviews; breakers: () => ReadonlyMap<string, Breaker>; now: () => number },
): RuntimeConsole {
  const registry: RunRegistry = createRunRegistry({ now: runtime.now });
  let stopped = false;
  const server = (
    import(/* @vite-ignore */ SERVER_MODULE) as Promise<typeof import('./console/server.node.js')>
  ).then(async (module): Promise<ConsoleServer | null> => {
    if (stopped) return null;
    return module.startRuntimeConsole({ ...runtime, registry }, option === true ? {} : option);
  });
  const ready = server.then((s) => {
    if (!s) throw new Error('agentcharts console: stopped before it started');
    return s.address;
  });
  ready.catch(() => {}); // awaiting `ready` is optional; its rejection is not unhandled
  return {
    ready,
    track: (run, workflow) => registry.track(run, workflow),
    async stop() {
      stopped = true;
      const s = await server.catch(() => null);
      await s?.close();
    },
  };
}
