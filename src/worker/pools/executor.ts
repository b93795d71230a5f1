// How a pool runs one handler. The async pool calls it in-process; the thread pool runs it in a
// worker thread. Either way the returned promise settles with the handler's value or error, and
// control-flow errors (Retry, Reject, Ignore) arrive as the same classes.
import type { TaskContext, TaskDefinition } from '../../registry/task-definition.js';

export interface TaskExecutor {
  /** The `-P` name shown in the banner and in `inspect stats`. */
  readonly name: string;
  run(definition: TaskDefinition, args: unknown[], kwargs: Record<string, unknown>, ctx: TaskContext): Promise<unknown>;
  /** Get ready before the first task (threads started, the tasks module loaded in each); rejects if it cannot. */
  start?(): Promise<void>;
  /** Follow a concurrency change (pool_grow / pool_shrink). */
  resize?(size: number): void;
  /** Stop for good (threads are terminated). */
  close(): Promise<void>;
}

/** `-P async` (default): handlers run on the worker's own event loop. */
export const inProcessExecutor: TaskExecutor = {
  name: 'async',
  run: (definition, args, kwargs, ctx) => definition.run(args, kwargs, ctx),
  close: async () => {},
};
