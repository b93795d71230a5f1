// Python call semantics for task arguments: positional args bind to declared parameter names,
// keyword args by name, with Python's own TypeError messages for missing, duplicate or
// unexpected arguments; then the task's zod schemas validate (a failure names the field).
import type { z } from 'zod';
import { ArgumentValidationError } from '../errors.js';

export interface BoundArguments {
  args: unknown[];
  kwargs: Record<string, unknown>;
}

/** Bind `args` onto `params` (Python's signature binding); unnamed extra positionals are an error. */
export function bindParams(taskName: string, params: readonly string[], args: unknown[], kwargs: Record<string, unknown>): BoundArguments {
  if (args.length > params.length) {
    throw new TypeError(`${taskName}() takes ${params.length} positional argument${params.length === 1 ? '' : 's'} but ${args.length} were given`);
  }
  const bound: Record<string, unknown> = {};
  args.forEach((value, i) => {
    bound[params[i]!] = value;
  });
  for (const [key, value] of Object.entries(kwargs)) {
    if (!params.includes(key)) throw new TypeError(`${taskName}() got an unexpected keyword argument '${key}'`);
    if (key in bound) throw new TypeError(`${taskName}() got multiple values for argument '${key}'`);
    bound[key] = value;
  }
  return { args: [], kwargs: bound };
}

/** Names of required params (no value given) that the kwargs schema does not default. */
export function missingParams(params: readonly string[], kwargs: Record<string, unknown>, schema?: z.ZodType): string[] {
  return params.filter((name) => !(name in kwargs) && !acceptsUndefined(schema, name));
}

function acceptsUndefined(schema: z.ZodType | undefined, key: string): boolean {
  if (!schema) return false;
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
  const field = shape?.[key];
  return field !== undefined && field.safeParse(undefined).success;
}

/** Python's message for missing arguments: `f() missing 2 required positional arguments: 'a' and 'b'`. */
export function missingArgumentsError(taskName: string, missing: string[]): TypeError {
  const quoted = missing.map((m) => `'${m}'`);
  const list = quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} and ${quoted.at(-1)}` : quoted[0];
  return new TypeError(`${taskName}() missing ${missing.length} required positional argument${missing.length === 1 ? '' : 's'}: ${list}`);
}

/** Validate with a zod schema; a failure names the task, the field path and zod's reason. */
export function validate<S extends z.ZodType>(taskName: string, what: 'args' | 'kwargs', schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const reasons = result.error.issues.map((issue) => {
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    return `${what}${path}: ${issue.message}`;
  });
  throw new ArgumentValidationError(`${taskName}: invalid arguments: ${reasons.join('; ')}`);
}

/**
 * The names of a function's first `count` parameters from its source (`(a, b) => …`,
 * `function add(a, b) {…}`, `a => …`), for Python's "missing … argument: 'b'"; undefined when one
 * of them is not a plain name (destructured) or the source is not readable.
 */
export function parameterNames(fn: (...args: never[]) => unknown, count = fn.length): string[] | undefined {
  const source = Function.prototype.toString.call(fn).replace(/^async\s+/, '');
  const single = /^([A-Za-z_$][\w$]*)\s*=>/.exec(source);
  if (single) return count <= 1 ? [single[1]!].slice(0, count) : undefined;
  const open = source.indexOf('(');
  if (open < 0) return undefined;
  // The first `count` parameters precede any default value (fn.length stops there), so the
  // list up to the first top-level comma or parenthesis holds them as written.
  const names: string[] = [];
  let depth = 0;
  let start = open + 1;
  for (let i = start; i < source.length && names.length < count; i++) {
    const c = source[i];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if ((c === ')' || c === ']' || c === '}') && depth > 0) depth--;
    else if ((c === ',' || c === ')') && depth === 0) {
      names.push(source.slice(start, i).trim());
      start = i + 1;
      if (c === ')') break;
    }
  }
  if (names.length < count || !names.every((n) => /^[A-Za-z_$][\w$]*$/.test(n))) return undefined;
  return names.slice(0, count);
}
