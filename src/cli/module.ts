import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AnyStateMachine } from 'xstate';
import { isAgent } from '../agent.js';
import type { Workflow } from '../workflow/define.js';
import { isWorkflow } from '../workflow/define.js';
import { UsageError } from './args.js';

export interface LoadedModule {
  path: string;
  exports: Record<string, unknown>;
}

export async function loadModule(spec: string | undefined): Promise<LoadedModule> {
  if (!spec)
    throw new UsageError('missing <module>: the path of a JavaScript module that exports a workflow');
  const path = resolve(spec);
  if (!existsSync(path)) throw new UsageError(`cannot find module ${spec} (looked at ${path})`);
  try {
    return { path: spec, exports: (await import(pathToFileURL(path).href)) as Record<string, unknown> };
  } catch (error) {
    throw new UsageError(
      `cannot load module ${spec}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** Names shown when a module has no workflow; more are counted, not listed. */
const MAX_LISTED = 20;

/** `it exports: load (object), agent (agent: put it in a workflow's steps), …` */
export function describeExports(exports: Record<string, unknown>): string {
  const names = Object.keys(exports);
  if (names.length === 0) return 'it exports nothing';
  const listed = names.slice(0, MAX_LISTED).map((name) => `${name} (${kindOf(exports, name)})`);
  const more = names.length > MAX_LISTED ? `, and ${names.length - MAX_LISTED} more` : '';
  return `it exports: ${listed.join(', ')}${more}`;
}

function kindOf(exports: Record<string, unknown>, name: string): string {
  let value: unknown;
  try {
    value = exports[name];
  } catch {
    return 'not initialised'; // a binding read before its module finished evaluating
  }
  if (isAgent(value)) return "agent: put it in a workflow's steps";
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'function')
    return /^class[\s{]/.test(Function.prototype.toString.call(value)) ? 'class' : 'function';
  return typeof value;
}

const isMachine = (v: unknown): v is AnyStateMachine =>
  typeof v === 'object' && v !== null && 'root' in v && 'config' in v && 'implementations' in v;

/** The workflow (or hand-written statechart) a module exports: `--export name`, else the only one. */
export function pick(module: LoadedModule, name: string | undefined, machines: boolean) {
  const found = Object.entries(module.exports).filter(
    ([, v]) => isWorkflow(v) || (machines && isMachine(v)),
  ) as Array<[string, Workflow | AnyStateMachine]>;
  if (name !== undefined) {
    const hit = found.find(([n]) => n === name);
    if (!hit) {
      throw new UsageError(
        `module ${module.path} has no workflow export named "${name}"${found.length ? ` (it has: ${found.map(([n]) => n).join(', ')})` : ''}`,
      );
    }
    return hit;
  }
  if (found.length === 0) {
    throw new UsageError(
      `module ${module.path} exports no workflow${machines ? ' or statechart' : ''} (export one made by defineWorkflow); ${describeExports(module.exports)}`,
    );
  }
  if (found.length > 1) {
    throw new UsageError(
      `module ${module.path} exports several workflows (${found.map(([n]) => n).join(', ')}): choose one with --export`,
    );
  }
  return found[0]!;
}
