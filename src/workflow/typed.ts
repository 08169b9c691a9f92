// Types only: what defineWorkflow infers from its steps so the data flowing between them is checked
// by the compiler. The runtime does not depend on any of this; zod still guards every boundary.
import type { z } from 'zod';
import type { BreakerOptions } from '../../machines/breaker-options.js';
import type { Quality } from '../../machines/quality.js';
import type { Agent, AgentInput, AgentOutput, AnyAgent } from '../agent.js';
import type { Reducer } from '../blackboard.js';
import type { ReviewOptions } from '../review/options.js';
import type { StepContext } from './steps.js';

type MaybePromise<T> = T | PromiseLike<T>;

/** Where a step goes next, with routing predicates over the typed state and targets among the step ids. */
export type TypedNext<I, S, Ids extends string> =
  | Ids
  | 'end'
  | ReadonlyArray<{ if?: (ctx: StepContext<I, S>) => boolean; goto: Ids | 'end' }>;

interface StepExtras {
  minQuality?: Quality;
  breaker?: (Omit<BreakerOptions, 'minQuality'> & { key?: string }) | false;
  review?: ReviewOptions;
}

/**
 * One element of `steps`, written so TypeScript infers `E` from it even when it holds functions
 * whose parameters it must type: `E` collects the agent, the literal `id`/`writes` and (once the
 * functions are typed) the whole step; `StateOf` reads it back.
 */
export type StepSlot<E, I, S, Ids extends string> =
  | (E & BareCheck<E, I, S>)
  | ({
      id?: E;
      agent: E;
      writes?: E;
      next?: TypedNext<I, S, Ids>;
    } & StepExtras &
      InputSlot<E, I, S>)
  | {
      id?: string;
      // `E` holds every branch's agent here, so a branch is checked against any of them (loosely);
      // a parallel step inferred whole is checked branch by branch by StepsCheck.
      parallel: ReadonlyArray<
        | (E & BareCheck<E, I, S>)
        | ({ id?: E; agent: E; writes?: E; input?: (ctx: StepContext<I, S>) => NeedsOf<E> } & StepExtras)
      >;
      next?: TypedNext<I, S, Ids>;
    };

/** The input the step's agent accepts (while inferring, `E` may also hold the step's literal keys). */
type NeedsOf<E> = AgentInput<Extract<E, AnyAgent>>;
type TakesDefault<E, I, S> = [StepContext<I, S>] extends [NeedsOf<E>] ? true : false;

/** A step's `input` mapper returns what its agent accepts; required when the default would not do. */
type InputSlot<E, I, S> =
  TakesDefault<E, I, S> extends true
    ? { input?: (ctx: StepContext<I, S>) => NeedsOf<E> }
    : { input: (ctx: StepContext<I, S>) => NeedsOf<E> };

/** A bare agent as a step gets `{ input, state }`: an agent expecting something else is named here. */
type BareCheck<E, I, S> =
  TakesDefault<E, I, S> extends true
    ? unknown
    : {
        [K in `step "${IdOfStep<Extract<E, AnyAgent>>}": its agent expects an input the default { input, state } does not give; map it with { agent, input }`]: never;
      };

type AgentObj = { readonly agent: AnyAgent };
type ParallelObj = { readonly parallel: readonly unknown[] };

/** The shared-state key an agent step writes: `writes`, else its id, else its agent's id. */
type KeyOfStep<O> = O extends { readonly writes: infer W extends string }
  ? W
  : O extends { readonly id: infer W extends string }
    ? W
    : O extends { readonly agent: Agent<never, unknown, infer W> }
      ? W
      : O extends Agent<never, unknown, infer W>
        ? W
        : never;

/** The step id: its `id`, else its agent's id; a parallel step's default joins its branches' ids. */
type IdOfStep<O> = O extends { readonly id: infer W extends string }
  ? W
  : O extends { readonly agent: Agent<never, unknown, infer W> }
    ? W
    : O extends Agent<never, unknown, infer W>
      ? W
      : O extends { readonly parallel: infer B extends readonly unknown[] }
        ? Join<B>
        : never;

type Join<B extends readonly unknown[]> = B extends readonly [infer H, ...infer R]
  ? R extends readonly []
    ? IdOfStep<H>
    : `${IdOfStep<H>}-${Join<R>}`
  : string;

type AgentOfStep<O> = O extends AgentObj ? O['agent'] : O;

/** [key, output] for one agent step (a bare agent or `{ agent, … }`). */
type AgentPair<O> = O extends unknown ? [KeyOfStep<O>, AgentOutput<AgentOfStep<O>>] : never;

/**
 * Pairs from what TypeScript inferred for one element. Once every function in it is typed, the
 * element's inference holds the whole step, read exactly; before that (while typing those very
 * functions) it holds the agents and literal keys only, read as closely as they allow.
 */
type PairsOf<E> = [Extract<E, ParallelObj>] extends [never]
  ? IsUnion<Extract<E, AnyAgent>> extends true
    ? MaybePairs<E>
    : [Extract<E, AgentObj>] extends [never]
      ? LoosePairs<E>
      : AgentPair<Extract<E, AgentObj>>
  : Extract<E, ParallelObj> extends { readonly parallel: readonly (infer B)[] }
    ? AgentPair<B>
    : never;

/** One agent and its literal keys: a step whose functions are being typed. */
type LoosePairs<E> = [Extract<E, string>] extends [never]
  ? AgentPair<Extract<E, AnyAgent>>
  : IsUnion<Extract<E, string>> extends true
    ? [Extract<E, string>, AgentOutput<Extract<E, AnyAgent>>, true] // id and writes: one is the key
    : [Extract<E, string>, AgentOutput<Extract<E, AnyAgent>>];

/**
 * Several agents without their step: a parallel step with functions in its branches. Which key
 * holds which output is not known here, so each possible key is optional (a `state` schema pins them).
 */
type MaybePairs<E> =
  | (AgentPair<Extract<E, AnyAgent>> extends infer P
      ? P extends [infer K, infer V]
        ? [K, V, true]
        : never
      : never)
  | (AgentPair<Extract<E, AgentObj>> extends infer P
      ? P extends [infer K, infer V]
        ? [K, V, true]
        : never
      : never)
  | ([Extract<E, string>] extends [never]
      ? never
      : [Extract<E, string>, AgentOutput<Extract<E, AnyAgent>>, true]);

type IdsOf<E> = [Extract<E, ParallelObj>] extends [never]
  ? [Extract<E, AgentObj>] extends [never]
    ? LooseIds<E>
    : IdOfStep<Extract<E, AgentObj>>
  : IdOfStep<Extract<E, ParallelObj>>;

// Agents and literal keys only: one agent is a plain step; several, a parallel step whose id is unknown.
type LooseIds<E> =
  IsUnion<Extract<E, AnyAgent>> extends true ? string : IdOfStep<Extract<E, AnyAgent>> | Extract<E, string>;
type IsUnion<U, A = U> = U extends unknown ? ([A] extends [U] ? false : true) : never;

/** The agents the steps call, as a union. */
export type AgentsOf<T extends readonly unknown[]> = Extract<T[number], AnyAgent>;

/** The step ids of a workflow, for `goto`. */
export type StepIds<T extends readonly unknown[]> = { [K in keyof T]: IdsOf<T[K]> }[number] & string;

type Reduced<V, R> = R extends 'append'
  ? V[]
  : R extends 'sum'
    ? number
    : R extends 'merge' | 'lastWriteWins'
      ? V
      : unknown;

type ValueAt<P, K, R> = K extends keyof R ? Reduced<P, R[K]> : P;
type Exact<P> = Extract<P, [string, unknown]>;
type Maybe<P> = Extract<P, [string, unknown, true]>;

type FromPairs<P, R> = Flat<
  { [K in Exact<P>[0]]: ValueAt<Extract<Exact<P>, [K, unknown]>[1], K, R> } & {
    [K in Exclude<Maybe<P>[0], Exact<P>[0]>]?: ValueAt<Extract<Maybe<P>, [K, unknown, true]>[1], K, R>;
  }
>;
type Flat<O> = { [K in keyof O]: O[K] };

/** The shared state the steps write: each step's `writes` key holds its agent's output (reducers applied). */
export type InferredState<T extends readonly unknown[], R = Record<never, never>> = FromPairs<
  { [K in keyof T]: PairsOf<T[K]> }[number],
  R
>;

/** The state the workflow's functions see: the declared `state` schema's type, else the inferred one. */
export type WorkflowState<T extends readonly unknown[], R, SS> = [SS] extends [z.ZodObject]
  ? z.output<SS>
  : InferredState<T, R>;

/** What a step gives its agent: its `input` mapper's result, else `{ input, state }`. */
type Provided<O, I, S> = O extends { readonly input: (...args: never[]) => infer P } ? P : StepContext<I, S>;

type StepProblem<O, I, S> = O extends unknown
  ? [AgentOfStep<O>] extends [never]
    ? never // not an agent at all (`as never`): defineWorkflow refuses it at run time
    : Provided<O, I, S> extends AgentInput<AgentOfStep<O>>
      ? never
      : IdOfStep<O>
  : never;

// Only a step TypeScript inferred whole is checked here; the others are checked by StepSlot.
type ElementProblem<E, I, S> = [Extract<E, ParallelObj>] extends [never]
  ? [Extract<E, AgentObj>] extends [never]
    ? never
    : StepProblem<Extract<E, AgentObj>, I, S>
  : Extract<E, ParallelObj> extends { readonly parallel: readonly (infer B)[] }
    ? StepProblem<B, I, S>
    : never;

/**
 * Reported where the mistake is: a step whose agent expects an input the step does not give, or a
 * declared state schema that disagrees with what the steps write.
 */
type StepCheck<E, I, S> = [ElementProblem<E, I, S>] extends [never]
  ? unknown
  : {
      [K in `step "${ElementProblem<E, I, S>}": its agent expects an input this step does not give; map one with \`input\``]: never;
    };

type Targets<O> = O extends { readonly next: infer N }
  ? N extends string
    ? N
    : N extends readonly { readonly goto: infer G }[]
      ? G
      : never
  : never;

/** `goto` targets of a step TypeScript inferred whole that name no step. */
type BadTargets<E, Ids> = Exclude<Targets<Extract<E, AgentObj | ParallelObj>>, Ids | 'end'>;

type GotoCheck<E, Ids> = [BadTargets<E, Ids>] extends [never]
  ? unknown
  : { [K in `goto "${BadTargets<E, Ids> & string}" names no step of this workflow`]: never };

/** Every step's check, as a type `steps` must also have (kept apart from StepSlot so inference is not disturbed). */
export type StepsCheck<T extends readonly unknown[], I, S> = [
  { [K in keyof T]: ElementProblem<T[K], I, S> | BadTargets<T[K], StepIds<T>> }[number],
] extends [never]
  ? unknown
  : { steps: { [K in keyof T]: StepCheck<T[K], I, S> & GotoCheck<T[K], StepIds<T>> } };

type StateProblems<Inferred, Declared> = {
  // A key known only as `string` (an agent id that is not a literal) cannot be checked here.
  [K in keyof Inferred]: string extends K
    ? never
    : K extends keyof Declared
      ? Inferred[K] extends Declared[K]
        ? never
        : `state.${K & string}: the state schema does not accept what its step writes`
      : `state.${K & string}: written by a step but missing from the state schema`;
}[keyof Inferred];

export type StateCheck<T extends readonly unknown[], R, SS> = [SS] extends [z.ZodObject]
  ? [StateProblems<InferredState<T, R>, z.output<SS>>] extends [never]
    ? unknown
    : { state: { [K in StateProblems<InferredState<T, R>, z.output<SS>>]: never } }
  : unknown;

/** `defineWorkflow`'s options, typed from the steps. */
export interface TypedWorkflowOptions<
  IS extends z.ZodType,
  OS extends z.ZodType,
  T extends readonly unknown[],
  SS extends z.ZodObject | undefined,
  R extends Record<string, Reducer>,
  Id extends string = string,
> {
  id: Id;
  /** The run's input; validated before anything runs. Default: any JSON. */
  input?: IS;
  /** The final output; validated before it is served. */
  output?: OS;
  /** The shared state's shape; default inferred from the steps (any JSON under their keys at run time). */
  state?: SS;
  /** Reducers for shared-state keys that several writers (e.g. parallel branches) may write. */
  reducers?: R;
  steps: {
    [K in keyof T]: StepSlot<T[K], z.output<IS>, WorkflowState<T, R, SS>, StepIds<T>>;
  };
  /** The final output from the input and the shared state; default the value the last step wrote. */
  result?: (ctx: StepContext<z.output<IS>, WorkflowState<T, R, SS>>) => MaybePromise<z.input<OS>>;
  /** The whole run's deadline. */
  deadlineMs?: number;
  /** Step executions allowed in one run, loops included. Default 50. */
  maxSteps?: number;
}
