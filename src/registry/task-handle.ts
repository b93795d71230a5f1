// The typed handle `app.task(...)` returns: callable directly (runs the handler in-process, the
// "sync fallback" when no broker is around), and able to send itself (`delay`, `applyAsync`, `s`).
import { Replace } from '../canvas/replace.js';
import { Retry } from '../errors.js';
import { newId } from '../protocol/ids.js';
import type { Signature } from '../protocol/task-message.js';
import type { AsyncResult } from '../result.js';
import type { SendTaskOptions } from '../send-task-options.js';
import type { TaskContext, TaskDefinition } from './task-definition.js';

/** How a handle sends its task; provided by the app. */
export type SendFunction = (
  name: string,
  args: unknown[],
  kwargs: Record<string, unknown>,
  options: SendTaskOptions,
) => Promise<AsyncResult<unknown>>;

export interface TaskHandleMethods<Args extends unknown[], Kwargs, R> {
  readonly taskName: string;
  readonly definition: TaskDefinition;
  /** Send with positional arguments (Python's `delay(*args)`). */
  delay(...args: Args): Promise<AsyncResult<R>>;
  /** Send with args, kwargs and Celery call options (Python's `apply_async`). */
  applyAsync(args?: Args, kwargs?: Kwargs, options?: SendTaskOptions): Promise<AsyncResult<R>>;
  /** A signature for link / link_error / chain (Python's `.s()`); the parent's result is prepended. */
  s(args?: unknown[], kwargs?: Record<string, unknown>, options?: Record<string, unknown>): Signature;
  /** An immutable signature (Python's `.si()`): the parent's result is not prepended. */
  si(args?: unknown[], kwargs?: Record<string, unknown>, options?: Record<string, unknown>): Signature;
}

export function signature(task: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}, options: Record<string, unknown> = {}, immutable = false): Signature {
  return { task, args, kwargs, options, subtask_type: null, immutable };
}

export function attachHandleMethods<F extends object, Args extends unknown[], Kwargs, R>(
  call: F,
  definition: TaskDefinition,
  send: SendFunction,
): F & TaskHandleMethods<Args, Kwargs, R> {
  const name = definition.name;
  const queue = definition.options.queue;
  const withQueue = (options: SendTaskOptions = {}) => (queue && !options.queue ? { ...options, queue } : options);
  const methods: TaskHandleMethods<Args, Kwargs, R> = {
    taskName: name,
    definition,
    delay: (...args) => send(name, args, {}, withQueue()) as Promise<AsyncResult<R>>,
    applyAsync: (args, kwargs, options) =>
      send(name, (args ?? []) as unknown[], (kwargs ?? {}) as Record<string, unknown>, withQueue(options)) as Promise<AsyncResult<R>>,
    s: (args, kwargs, options) => signature(name, args, kwargs, options),
    si: (args, kwargs, options) => signature(name, args, kwargs, options, true),
  };
  return Object.assign(call, methods);
}

/**
 * `ctx.retry` and `ctx.replace`: both end the handler by throwing, and whoever runs it (the
 * tracer, a pool thread) acts on what was thrown.
 */
export const taskControlFlow: Pick<TaskContext, 'retry' | 'replace'> = {
  retry: (options) => {
    throw new Retry(options);
  },
  replace: (sig) => {
    throw new Replace(sig);
  },
};

/** The context of a direct, in-process call: no broker, nothing stored, never aborted. */
export function localContext(name: string, args: unknown[], kwargs: Record<string, unknown>): TaskContext {
  const id = newId();
  return {
    id,
    name,
    retries: 0,
    headers: {},
    rootId: id,
    parentId: null,
    group: null,
    eta: null,
    expires: null,
    hostname: 'local',
    deliveryInfo: { exchange: '', routingKey: '', queue: '', redelivered: false, priority: 0 },
    request: { id, name, args, kwargs } as unknown as TaskContext['request'],
    signal: new AbortController().signal,
    updateState: async () => {},
    ...taskControlFlow,
  };
}
