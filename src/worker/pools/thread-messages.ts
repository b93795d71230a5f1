// The messages between the thread pool (main thread) and a task thread (thread-entry.ts).
// One task at a time per thread; `job` numbers the task, `call` an updateState round trip.
import type { TaskContext } from '../../registry/task-definition.js';
import type { WireError } from './thread-errors.js';

/** `workerData` of a task thread. */
export interface ThreadInit {
  /** The `-A MODULE[:EXPORT]` spec the worker was started with. */
  appModule: string;
  /** The directory the spec is relative to. */
  cwd: string;
}

/** What a handler in a thread knows of its context: everything but the functions and the signal. */
export type ContextData = Omit<TaskContext, 'signal' | 'updateState' | 'retry' | 'replace'>;

export type ToThread =
  | { type: 'run'; job: number; name: string; args: unknown[]; kwargs: Record<string, unknown>; ctx: ContextData }
  | { type: 'abort'; job: number; reason: WireError }
  | { type: 'state-done'; call: number; error?: WireError };

export type FromThread =
  | { type: 'ready' }
  | { type: 'init-failed'; error: WireError }
  | { type: 'update-state'; job: number; call: number; state: string; meta: unknown }
  /** `memory`: bytes the thread's isolate holds after the task (V8 heap used + external). */
  | { type: 'done'; job: number; ok: true; value: unknown; memory: number }
  | { type: 'done'; job: number; ok: false; error: WireError; memory: number };

export function contextData(ctx: TaskContext): ContextData {
  const { id, name, retries, headers, rootId, parentId, group, eta, expires, hostname, deliveryInfo, request } = ctx;
  return { id, name, retries, headers, rootId, parentId, group, eta, expires, hostname, deliveryInfo, request };
}
