// An in-process result store with the Redis backend's semantics (SUCCESS never overwritten,
// waits woken on store), for unit tests and the embedded demo.
import { TimeoutError } from '../errors.js';
import { jsonDecode, jsonEncode } from '../protocol/codecs/json.js';
import { pendingMeta, type ResultTuple, type TaskMeta } from '../protocol/result-meta.js';
import { isReady } from '../protocol/states.js';
import type { ResultBackend, WaitOptions } from './result-backend.js';

export class MemoryBackend implements ResultBackend {
  // Stored as JSON text, like Redis, so callers never share mutable objects with the store.
  private readonly metas = new Map<string, string>();
  private readonly groups = new Map<string, string>();
  private readonly waiters = new Map<string, Set<(meta: TaskMeta) => void>>();

  async storeResult(meta: TaskMeta): Promise<boolean> {
    const current = this.metas.get(meta.task_id);
    if (current && (jsonDecode(current) as TaskMeta).status === 'SUCCESS') return false;
    const text = jsonEncode(meta);
    this.metas.set(meta.task_id, text);
    for (const wake of this.waiters.get(meta.task_id) ?? []) wake(jsonDecode(text) as TaskMeta);
    return true;
  }

  async getMeta(taskId: string): Promise<TaskMeta> {
    const text = this.metas.get(taskId);
    return text ? (jsonDecode(text) as TaskMeta) : pendingMeta(taskId);
  }

  waitFor(taskId: string, options: WaitOptions = {}): Promise<TaskMeta> {
    const done = options.until ?? ((meta: TaskMeta) => isReady(meta.status));
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiters = this.waiters.get(taskId) ?? new Set();
      this.waiters.set(taskId, waiters);
      const finish = (error: Error | null, meta?: TaskMeta) => {
        waiters.delete(wake);
        if (waiters.size === 0) this.waiters.delete(taskId);
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve(meta!);
      };
      const wake = (meta: TaskMeta) => {
        if (done(meta)) finish(null, meta);
      };
      const onAbort = () => finish(options.signal!.reason instanceof Error ? options.signal!.reason : new Error('aborted'));
      waiters.add(wake);
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort);
      if (options.timeoutMs !== undefined) timer = setTimeout(() => finish(new TimeoutError(`The operation timed out waiting for task ${taskId}.`)), options.timeoutMs);
      void this.getMeta(taskId).then(wake);
    });
  }

  async forget(taskId: string): Promise<void> {
    this.metas.delete(taskId);
  }

  async saveGroup(groupId: string, result: ResultTuple): Promise<void> {
    this.groups.set(groupId, jsonEncode({ result }));
  }

  async restoreGroup(groupId: string): Promise<ResultTuple | null> {
    const text = this.groups.get(groupId);
    return text ? (jsonDecode(text) as { result: ResultTuple }).result : null;
  }

  async deleteGroup(groupId: string): Promise<void> {
    this.groups.delete(groupId);
  }

  async close(): Promise<void> {
    this.waiters.clear();
  }
}
