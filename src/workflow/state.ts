import type { z } from 'zod';
import type { BlackboardPolicy } from '../../machines/blackboard-write.js';
import { parseKeyPath } from '../../machines/key-path.js';
import { REDUCER_NAMES, type ReducerFn, type ReducerName } from '../../machines/reducers.js';
import type { Reducer } from '../blackboard.js';
import { buildPolicy, initialState } from '../blackboard.js';
import { fail } from '../options.js';

/**
 * The run's shared state for a workflow: the blackboard's policy (the workflow's schema and
 * reducers), which the workflow machine applies to every step's write in its own context.
 */
export function sharedStatePolicy(
  where: string,
  schema: z.ZodObject | undefined,
  reducers: Record<string, unknown>,
) {
  const policy: BlackboardPolicy = schema
    ? { schema, ...buildPolicy(schema, reducers as Record<string, Reducer>, where) }
    : { schema: null, ...freeFormPolicy(reducers, where) };
  return {
    policy,
    reducedKeys: new Set(Object.keys(policy.reducers)),
    /** The state at version 0: the schema's defaults (validated), or `{}`. */
    initial: schema ? initialState(schema, undefined, where) : Object.freeze({}),
  };
}

function freeFormPolicy(reducers: Record<string, unknown>, where: string) {
  const policy: { reducers: Record<string, ReducerName | 'custom'>; custom: Record<string, ReducerFn> } = {
    reducers: Object.create(null),
    custom: Object.create(null),
  };
  for (const [raw, reducer] of Object.entries(reducers)) {
    const parsed = parseKeyPath(raw);
    if (!parsed.ok) fail(where, `reducers.${raw}`, reducer, `names an invalid key: ${parsed.message}`);
    if (typeof reducer === 'function') {
      policy.reducers[parsed.key] = 'custom';
      policy.custom[parsed.key] = reducer as ReducerFn;
    } else if (REDUCER_NAMES.includes(reducer as ReducerName)) {
      policy.reducers[parsed.key] = reducer as ReducerName;
    } else {
      fail(where, `reducers.${raw}`, reducer, `must be one of ${REDUCER_NAMES.join(', ')} or a function`);
    }
  }
  return policy;
}
