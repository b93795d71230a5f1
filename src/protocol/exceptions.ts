// Exceptions as Celery stores them: `{exc_type, exc_message, exc_module}` plus a traceback text
// (celery/backends/base.py `Backend.prepare_exception` / `Backend.exception_to_python`).
import { CeleryError, TaskError } from '../errors.js';
import { pythonRepr } from './repr.js';

export interface ExceptionInfo {
  exc_type: string;
  exc_message: unknown[];
  exc_module: string;
}

/** JavaScript built-in errors → the Python builtin a Python reader would expect. */
const JS_BUILTINS: Record<string, string> = {
  Error: 'Exception',
  TypeError: 'TypeError',
  RangeError: 'ValueError',
  SyntaxError: 'SyntaxError',
  ReferenceError: 'NameError',
  EvalError: 'RuntimeError',
  URIError: 'ValueError',
  AggregateError: 'ExceptionGroup',
};

/**
 * Python builtin exception names. Python resolves `getattr(sys.modules[exc_module], exc_type)` and
 * raises SecurityError if that is not an exception class, so only these may go with `builtins`.
 */
const PYTHON_BUILTINS = new Set(
  'Exception ArithmeticError AssertionError AttributeError BufferError EOFError ExceptionGroup ImportError ModuleNotFoundError LookupError IndexError KeyError MemoryError NameError UnboundLocalError OSError ConnectionError BrokenPipeError ConnectionAbortedError ConnectionRefusedError ConnectionResetError FileExistsError FileNotFoundError InterruptedError IsADirectoryError NotADirectoryError PermissionError ProcessLookupError TimeoutError ReferenceError RuntimeError NotImplementedError RecursionError StopIteration StopAsyncIteration SyntaxError IndentationError TabError SystemError TypeError ValueError UnicodeError UnicodeDecodeError UnicodeEncodeError UnicodeTranslateError ZeroDivisionError OverflowError FloatingPointError'.split(' '),
);

/**
 * The module given to errors of the user's own classes. Python has no such module loaded, so
 * `exception_to_python` builds a stand-in class of that name (and `exc_module` stays readable).
 */
export const USER_EXCEPTION_MODULE = 'ts_celery.tasks';

const PY_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PY_MODULE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/**
 * The Python module a user error class names with a `pythonModule` property: Python re-raises
 * `module.Name` when that module is loaded there (celery/backends/base.py exception_to_python).
 * `builtins` only goes with a builtin name, which Python would refuse otherwise (SecurityError).
 */
function chosenModule(error: Error, name: string): string | undefined {
  const module = (error as { pythonModule?: unknown }).pythonModule;
  if (typeof module !== 'string' || !PY_MODULE.test(module)) return undefined;
  return module !== 'builtins' || PYTHON_BUILTINS.has(name) ? module : undefined;
}

/** The Python class name for a JS error: its own `name`, else its class's name. */
function userClassName(error: Error): string {
  if (PY_IDENTIFIER.test(error.name) && error.name !== 'Error') return error.name;
  const ctor = error.constructor?.name;
  return ctor && PY_IDENTIFIER.test(ctor) && ctor !== 'Error' ? ctor : 'Exception';
}

/**
 * How a thrown value is stored: our CeleryErrors as their Celery class (`pythonModule`), a re-thrown
 * remote TaskError as it came, JS built-ins as the matching Python builtin (RangeError → ValueError),
 * user classes under their own name (in their `pythonModule` when they name one, builtins if the
 * name is a Python builtin's, such as a user's `ValueError` class, else USER_EXCEPTION_MODULE),
 * anything else thrown as `Exception(<repr>)`.
 */
export function toExceptionInfo(error: unknown): ExceptionInfo {
  if (error instanceof TaskError) return { exc_type: error.excType, exc_message: error.excArgs, exc_module: error.excModule };
  if (error instanceof CeleryError) return { exc_type: error.name, exc_message: error.pythonArgs, exc_module: error.pythonModule };
  if (error instanceof Error) {
    const jsBuiltin = JS_BUILTINS[error.name];
    // A built-in class, or a subclass that kept the built-in's name, reads as the Python builtin.
    if (jsBuiltin && (error.constructor?.name === error.name || error.name !== 'Error')) {
      return { exc_type: jsBuiltin, exc_message: [error.message], exc_module: 'builtins' };
    }
    const name = userClassName(error);
    const module = chosenModule(error, name) ?? (PYTHON_BUILTINS.has(name) ? 'builtins' : USER_EXCEPTION_MODULE);
    return { exc_type: name, exc_message: [error.message], exc_module: module };
  }
  return { exc_type: 'Exception', exc_message: [typeof error === 'string' ? error : pythonRepr(error)], exc_module: 'builtins' };
}

/** Python's repr of the exception: `ValueError('something bad')`. */
export function exceptionRepr(info: ExceptionInfo): string {
  return `${info.exc_type}(${info.exc_message.map(pythonRepr).join(', ')})`;
}

/** `str(exc)` in Python: the single arg as text, several as a tuple repr, none as empty. */
function exceptionStr(args: unknown[]): string {
  if (args.length === 0) return '';
  if (args.length === 1) return typeof args[0] === 'string' ? args[0] : pythonRepr(args[0]);
  return `(${args.map(pythonRepr).join(', ')})`;
}

/**
 * A Python-shaped traceback carrying the JavaScript stack (outermost frame first, as Python prints
 * it), ending `<Type>: <message>` like `traceback.format_exception`, so AsyncResult.traceback reads
 * naturally in Python.
 */
export function formatTraceback(error: unknown): string {
  const info = toExceptionInfo(error);
  const message = exceptionStr(info.exc_message);
  const frames =
    error instanceof Error && typeof error.stack === 'string'
      ? error.stack
          .split('\n')
          .filter((line) => /^\s+at /.test(line))
          .map((line) => `  ${line.trim()}`)
      : [];
  return ['Traceback (most recent call last):', ...frames.reverse(), message ? `${info.exc_type}: ${message}` : info.exc_type, ''].join('\n');
}

function isInfo(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && 'exc_type' in value;
}

/** Rebuild a stored exception as a TaskError (what `AsyncResult.get()` rejects with). */
export function fromExceptionInfo(result: unknown, traceback: string | null, state: string): TaskError {
  const tb = typeof traceback === 'string' ? traceback : null;
  if (isInfo(result)) {
    const message = result.exc_message;
    const args = Array.isArray(message) ? message : message === undefined || message === null ? [] : [message];
    const type = typeof result.exc_type === 'string' && result.exc_type ? result.exc_type : 'Exception';
    const module = typeof result.exc_module === 'string' ? result.exc_module : 'builtins';
    return new TaskError(type, module, args, tb, state);
  }
  return new TaskError('Exception', 'builtins', result === null || result === undefined ? [] : [result], tb, state);
}
