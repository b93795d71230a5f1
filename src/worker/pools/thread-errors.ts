// Errors across the thread boundary. Structured clone keeps only an Error's message (and loses
// its class), so errors travel in this form and are rebuilt on the other side: Retry, Reject and
// Ignore as those classes; other errors so that toExceptionInfo and formatTraceback read the same
// exc_type, exc_module, message and stack as they would have in the thread.
import {
  ArgumentValidationError,
  CeleryError,
  ChordError,
  ConfigError,
  ContentDisallowed,
  DecodeError,
  EncodeError,
  Ignore,
  MaxRetriesExceededError,
  Reject,
  Retry,
  type RetryOptions,
  SoftTimeLimitExceeded,
  TaskError,
  TaskRevokedError,
  TimeLimitExceeded,
  TimeoutError,
  TransportError,
} from '../../errors.js';
import { WorkerLostError } from './worker-lost.js';
import { Replace } from '../../canvas/replace.js';

type Props = Record<string, unknown>;
type Signature = Replace['signature'];

export type WireError =
  | { kind: 'retry'; options: { countdown?: number; eta?: Date; max_retries?: number | null; exc?: WireError }; stack?: string }
  | { kind: 'reject'; reason: string; requeue: boolean; stack?: string }
  | { kind: 'ignore'; message: string; stack?: string }
  | { kind: 'replace'; signature: Signature; stack?: string }
  /** The thrown value was the task signal's abort reason itself. */
  | { kind: 'abort-reason' }
  /** An AbortError caused by the task signal (timers/promises, events.once…). */
  | { kind: 'abort-error'; message: string; stack?: string }
  | { kind: 'task-error'; excType: string; excModule: string; excArgs: unknown[]; remoteTraceback: string | null; state: string; stack?: string }
  | { kind: 'celery'; name: string; pythonModule: string; message: string; stack?: string; props: Props }
  | { kind: 'error'; name: string; className: string; message: string; stack?: string; props: Props; cause?: WireError }
  | { kind: 'value'; value: unknown };

const MAX_DEPTH = 4;

function cloneable(value: unknown): boolean {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

/** Own enumerable data of an error (e.g. `code`, `errno`) that survives structured clone. */
function ownProps(error: Error, skip: readonly string[]): Props {
  const props: Props = {};
  for (const [key, value] of Object.entries(error)) {
    if (!skip.includes(key) && cloneable(value)) props[key] = value;
  }
  return props;
}

const has = (error: Error, key: string, type: string) => typeof (error as unknown as Props)[key] === type;

/**
 * Encode what a handler threw. Duck-typed rather than `instanceof`, because the tasks module may
 * import another copy of ts-celery than the pool's. `signal` is the task's signal in the thread.
 */
export function encodeError(thrown: unknown, signal?: AbortSignal, depth = 0): WireError {
  if (signal?.aborted && thrown === signal.reason) return { kind: 'abort-reason' };
  if (!(thrown instanceof Error)) return { kind: 'value', value: cloneable(thrown) ? thrown : String(thrown) };
  const stack = thrown.stack;
  if (signal?.aborted && thrown.name === 'AbortError' && (thrown.cause === signal.reason || thrown.cause === undefined)) {
    return { kind: 'abort-error', message: thrown.message, stack };
  }
  const celery = has(thrown, 'pythonModule', 'string');
  if (celery && thrown.name === 'Retry' && has(thrown, 'options', 'object')) {
    const { countdown, eta, max_retries, exc } = (thrown as Retry).options;
    const options: Extract<WireError, { kind: 'retry' }>['options'] = {};
    if (countdown !== undefined) options.countdown = countdown;
    if (eta !== undefined) options.eta = eta;
    if (max_retries !== undefined) options.max_retries = max_retries;
    if (exc !== undefined) options.exc = encodeError(exc, signal, depth + 1);
    return { kind: 'retry', options, stack };
  }
  if (celery && thrown.name === 'Reject') {
    const reject = thrown as Reject;
    return { kind: 'reject', reason: String(reject.reason ?? thrown.message), requeue: reject.requeue === true, stack };
  }
  if (celery && thrown.name === 'Ignore') return { kind: 'ignore', message: thrown.message, stack };
  if (celery && thrown.name === 'Replace' && has(thrown, 'signature', 'object')) return { kind: 'replace', signature: (thrown as Replace).signature, stack };
  if (thrown.name === 'TaskError' && has(thrown, 'excType', 'string')) {
    const e = thrown as TaskError;
    const args = cloneable(e.excArgs) ? e.excArgs : e.excArgs.map(String);
    return { kind: 'task-error', excType: e.excType, excModule: e.excModule, excArgs: args, remoteTraceback: e.remoteTraceback, state: e.state, stack };
  }
  if (celery) {
    const pythonModule = (thrown as CeleryError).pythonModule;
    return { kind: 'celery', name: thrown.name, pythonModule, message: thrown.message, stack, props: ownProps(thrown, ['name', 'pythonModule']) };
  }
  const wire: WireError = {
    kind: 'error',
    name: thrown.name,
    className: thrown.constructor?.name ?? 'Error',
    message: thrown.message,
    stack,
    props: ownProps(thrown, ['name', 'message', 'stack', 'cause']),
  };
  if (thrown.cause !== undefined && depth < MAX_DEPTH) wire.cause = encodeError(thrown.cause, undefined, depth + 1);
  return wire;
}

/** Our Celery classes with a `(message)` constructor, by `<pythonModule>.<name>`. */
const CELERY_CLASSES = new Map<string, new (message: string) => CeleryError>(
  [
    SoftTimeLimitExceeded, TimeLimitExceeded, MaxRetriesExceededError, TaskRevokedError, ChordError, TimeoutError,
    ContentDisallowed, DecodeError, EncodeError, ConfigError, TransportError, ArgumentValidationError, WorkerLostError,
  ].map((cls) => {
    const sample = new cls('');
    return [`${sample.pythonModule}.${sample.name}`, cls] as const;
  }),
);

/** A Celery-named error whose class is not one of ours (a user's CeleryError subclass). */
class RemoteCeleryError extends CeleryError {
  override readonly name: string;
  override readonly pythonModule: string;
  constructor(name: string, pythonModule: string, message: string) {
    super(message);
    this.name = name;
    this.pythonModule = pythonModule;
  }
}

const JS_ERRORS: Record<string, new (message: string) => Error> = { Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError };

/** Error subclasses named like the thread's classes, so `error.constructor.name` reads the same. */
const namedClasses = new Map<string, new (message: string) => Error>();

function classNamed(name: string): new (message: string) => Error {
  let cls = namedClasses.get(name);
  if (!cls) {
    cls = { [name]: class extends Error {} }[name]!;
    namedClasses.set(name, cls);
  }
  return cls;
}

function finish<E extends Error>(error: E, stack: string | undefined, props: Props = {}): E {
  Object.assign(error, props);
  if (stack !== undefined) Object.defineProperty(error, 'stack', { value: stack, writable: true, configurable: true });
  return error;
}

/** Rebuild an encoded error. `abortReason` is the receiving side's task-signal reason. */
export function decodeError(wire: WireError, abortReason?: unknown): unknown {
  switch (wire.kind) {
    case 'retry': {
      const { exc, ...rest } = wire.options;
      const options: RetryOptions = { ...rest };
      if (exc !== undefined) options.exc = decodeError(exc, abortReason);
      return finish(new Retry(options), wire.stack);
    }
    case 'reject':
      return finish(new Reject(wire.reason, wire.requeue), wire.stack);
    case 'ignore':
      return finish(new Ignore(wire.message), wire.stack);
    case 'replace':
      return finish(new Replace(wire.signature), wire.stack);
    case 'abort-reason':
      return abortReason ?? new Error('This operation was aborted');
    case 'abort-error': {
      const error = new Error(wire.message, { cause: abortReason });
      Object.defineProperty(error, 'name', { value: 'AbortError', writable: true, configurable: true });
      return finish(error, wire.stack);
    }
    case 'task-error':
      return finish(new TaskError(wire.excType, wire.excModule, wire.excArgs, wire.remoteTraceback, wire.state), wire.stack);
    case 'celery': {
      const known = CELERY_CLASSES.get(`${wire.pythonModule}.${wire.name}`);
      const error = known ? new known(wire.message) : new RemoteCeleryError(wire.name, wire.pythonModule, wire.message);
      return finish(error, wire.stack, wire.props);
    }
    case 'error': {
      const cls = JS_ERRORS[wire.className] ?? classNamed(wire.className);
      const error = new cls(wire.message);
      if (error.name !== wire.name) Object.defineProperty(error, 'name', { value: wire.name, writable: true, configurable: true });
      if (wire.cause !== undefined) Object.defineProperty(error, 'cause', { value: decodeError(wire.cause), writable: true, configurable: true });
      return finish(error, wire.stack, wire.props);
    }
    case 'value':
      return wire.value;
  }
}
