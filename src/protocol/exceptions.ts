// Exceptions as Celery stores them: `{exc_type, exc_message, exc_module}` plus a traceback text
// (celery-wire.md §8.3; celery/backends/base.py prepare_exception / exception_to_python).
import { CeleryError, TaskError } from '../errors.js';
import { pythonRepr } from './repr.js';

export interface ExceptionInfo {
  exc_type: string;
  exc_message: unknown[];
  exc_module: string;
}

/** JavaScript built-in errors → the Python builtin a Python reader would expect. */
const BUILTIN_NAMES: Record<string, string> = {
  Error: 'Exception',
  TypeError: 'TypeError',
  RangeError: 'ValueError',
  SyntaxError: 'SyntaxError',
  ReferenceError: 'NameError',
  EvalError: 'RuntimeError',
  URIError: 'ValueError',
  AggregateError: 'ExceptionGroup',
  AbortError: 'TimeoutError',
};

/** The module name given to errors of the user's own classes (Python makes a synthetic class). */
export const USER_EXCEPTION_MODULE = 'ts_celery.tasks';

export function toExceptionInfo(error: unknown): ExceptionInfo {
  if (error instanceof CeleryError) {
    const args = error instanceof TaskError ? error.excArgs : [error.message];
    if (error instanceof TaskError) return { exc_type: error.excType, exc_message: args, exc_module: error.excModule };
    return { exc_type: error.name, exc_message: args, exc_module: error.pythonModule };
  }
  if (error instanceof Error) {
    const builtin = BUILTIN_NAMES[error.name];
    if (builtin && error.constructor.name === error.name) {
      return { exc_type: builtin, exc_message: [error.message], exc_module: 'builtins' };
    }
    const name = /^[A-Za-z_][A-Za-z0-9_.]*$/.test(error.name) && error.name !== 'Error' ? error.name : error.constructor.name || 'Exception';
    return { exc_type: BUILTIN_NAMES[name] && name === error.name ? BUILTIN_NAMES[name]! : name, exc_message: [error.message], exc_module: BUILTIN_NAMES[name] ? 'builtins' : USER_EXCEPTION_MODULE };
  }
  return { exc_type: 'Exception', exc_message: [typeof error === 'string' ? error : pythonRepr(error)], exc_module: 'builtins' };
}

/** Python's repr of the exception: `ValueError('something bad')`. */
export function exceptionRepr(info: ExceptionInfo): string {
  return `${info.exc_type}(${info.exc_message.map(pythonRepr).join(', ')})`;
}

/** A Python-shaped traceback text carrying the JavaScript stack, readable from Python's AsyncResult.traceback. */
export function formatTraceback(error: unknown): string {
  const info = toExceptionInfo(error);
  const message = info.exc_message.map((m) => (typeof m === 'string' ? m : pythonRepr(m))).join(', ');
  const frames =
    error instanceof Error && error.stack
      ? error.stack
          .split('\n')
          .filter((line) => /^\s+at /.test(line))
          .map((line) => `  ${line.trim()}`)
      : [];
  return ['Traceback (most recent call last):', ...frames.reverse(), `${info.exc_type}: ${message}`, ''].join('\n');
}

function isInfo(value: unknown): value is Partial<ExceptionInfo> {
  return value !== null && typeof value === 'object' && 'exc_type' in value;
}

/** Rebuild a stored exception as a TaskError (what `AsyncResult.get()` rejects with). */
export function fromExceptionInfo(result: unknown, traceback: string | null, state: string): TaskError {
  if (isInfo(result)) {
    const args = Array.isArray(result.exc_message) ? result.exc_message : result.exc_message === undefined ? [] : [result.exc_message];
    return new TaskError(String(result.exc_type), String(result.exc_module ?? 'builtins'), args, traceback ?? null, state);
  }
  return new TaskError('Exception', 'builtins', result === null || result === undefined ? [] : [result], traceback ?? null, state);
}
