// The result store abstraction (celery/backends/base.py `Backend`): RedisBackend
// (Python-compatible keys) and MemoryBackend. A backend stores and reads task meta documents;
// it does not know how tasks run.
import type { ResultTuple, TaskMeta } from '../protocol/result-meta.js';

export interface WaitOptions {
  /** Give up after this long (rejects with TimeoutError); undefined = wait forever. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Resolve on the first stored state for which this returns true; default: a ready state. */
  until?: (meta: TaskMeta) => boolean;
}

/** Where the rpc:// backend sends a state: the task message's `reply_to` and `correlation_id`. */
export interface ResultDestination {
  replyTo: string | null;
  correlationId: string | null;
}

export interface ResultBackend {
  /** Verify the store answers; rejects with a one-line TransportError (e.g. at CLI start-up). */
  connect(timeoutMs?: number): Promise<void>;
  /**
   * Store a task's meta (SET with `result_expires` + PUBLISH). A stored SUCCESS is never
   * overwritten: the write is skipped and `false` returned.
   */
  storeResult(meta: TaskMeta, destination?: ResultDestination): Promise<boolean>;
  /** rpc://: declare and consume the caller's reply queue before a task is sent. Others: absent. */
  prepareReplies?(): Promise<void>;
  /** The stored meta, or a PENDING meta when nothing is stored. */
  getMeta(taskId: string): Promise<TaskMeta>;
  /** Wait until the task reaches a ready state (or `until` holds). Subscribes before reading. */
  waitFor(taskId: string, options?: WaitOptions): Promise<TaskMeta>;
  /** Delete the stored result. */
  forget(taskId: string): Promise<void>;
  /** `GroupResult.save()`: store `{"result": tuple}` under `celery-taskset-meta-<id>`. */
  saveGroup(groupId: string, result: ResultTuple): Promise<void>;
  /** The saved group tuple, or null. */
  restoreGroup(groupId: string): Promise<ResultTuple | null>;
  deleteGroup(groupId: string): Promise<void>;
  /**
   * `celery.backend_cleanup`: delete the results older than `result_expires`. Only stores that do
   * not expire results themselves (the database backends) have it.
   */
  cleanup?(): Promise<void>;
  close(): Promise<void>;
}
