// Turns the two ways of declaring a task into one TaskDefinition:
//  - `app.task(name, fn)`: positional args spread into `fn`, `this` is the TaskContext;
//  - `app.task(spec, handler)`: `handler({ args, kwargs, ctx })` with zod-validated, Python-bound arguments.
import type { z } from 'zod';
import { bindParams, missingArgumentsError, missingParams, parameterNames, validate } from './arguments.js';
import type { TaskContext, TaskDefinition, TaskInput, TaskOptions, TaskSpec } from './task-definition.js';

// biome-ignore lint: any is the honest type of an arbitrary user function's parameters
export type PositionalHandler = (this: TaskContext, ...args: any[]) => unknown;

export function definePositionalTask(name: string, fn: PositionalHandler, options: Partial<TaskOptions> = {}): TaskDefinition {
  return {
    name,
    options: { ...options, name },
    async run(args, kwargs, ctx) {
      // Any key at all is unexpected (a for-in, not Object.keys: no array built per task).
      for (const unexpected in kwargs) {
        throw new TypeError(`${name}() got an unexpected keyword argument '${unexpected}' (declare params to accept keyword arguments)`);
      }
      // fn.length counts the parameters before the first default/rest one: the required ones.
      if (args.length < fn.length) {
        const names = parameterNames(fn);
        if (names) throw missingArgumentsError(name, names.slice(args.length));
        const n = fn.length - args.length;
        throw new TypeError(`${name}() missing ${n} required positional argument${n === 1 ? '' : 's'}`);
      }
      return fn.apply(ctx, args);
    },
  };
}

export function defineSpecTask<A extends z.ZodType, K extends z.ZodType>(
  spec: TaskSpec<A, K>,
  handler: (input: TaskInput<z.output<A>, z.output<K>>) => unknown,
): TaskDefinition {
  const { args: argsSchema, kwargs: kwargsSchema, params, ...options } = spec;
  const name = spec.name;
  return {
    name,
    options,
    async run(rawArgs, rawKwargs, ctx) {
      let args: unknown[] = rawArgs;
      let kwargs: Record<string, unknown> = rawKwargs;
      if (params) {
        ({ args, kwargs } = bindParams(name, params, rawArgs, rawKwargs));
        const missing = missingParams(params, kwargs, kwargsSchema);
        if (missing.length > 0) throw missingArgumentsError(name, missing);
      }
      const validArgs = argsSchema ? validate(name, 'args', argsSchema, args) : args;
      const validKwargs = kwargsSchema ? validate(name, 'kwargs', kwargsSchema, kwargs) : kwargs;
      return handler({ args: validArgs as z.output<A>, kwargs: validKwargs as z.output<K>, ctx });
    },
  };
}
