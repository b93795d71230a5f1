// An in-process result store with the Redis backend's semantics (JSON round trip, SUCCESS never
// overwritten, waits woken on store), for unit tests and the embedded demo.
import { TransportError } from '../errors.js';
import type { ResultTuple, TaskMeta } from '../protocol/result-meta.js';
import { decodeGroup, decodeMeta, encodeStored } from './meta-codec.js';
import { ResultKeys } from './redis/keys.js';
import type { ResultBackend, WaitOptions } from './result-backend.js';
import { waitForState } from './wait-for-state.js';

export class MemoryBackend implements ResultBackend {
  // Stored as JSON text, like Redis, so callers never share mutable objects with the store and
  // values that would not survive the wire fail here too.
  private readonly metas = new Map<string, string>();
  private readonly groups = new Map<string, string>();
  private readonly waiters = new Map<string, Set<(raw: string) => void>>();
  private readonly failWaits = new Set<(error: Error) => void>();
  private closed = false;
  // Key names only label errors, so they read like the Redis backend's.
  private readonly keys = new ResultKeys();

  async connect(): Promise<void> {}

  async storeResult(meta: TaskMeta): Promise<boolean> {
    this.ensureOpen();
    const key = this.keys.task(meta.task_id);
    const current = this.metas.get(meta.task_id);
    if (current !== undefined && decodeMeta(current, key, meta.task_id).status === 'SUCCESS') return false;
    const text = encodeStored(meta, key);
    this.metas.set(meta.task_id, text);
    for (const wake of [...(this.waiters.get(meta.task_id) ?? [])]) wake(text);
    return true;
  }

  async getMeta(taskId: string): Promise<TaskMeta> {
    this.ensureOpen();
    return decodeMeta(this.metas.get(taskId) ?? null, this.keys.task(taskId), taskId);
  }

  waitFor(taskId: string, options: WaitOptions = {}): Promise<TaskMeta> {
    return waitForState(taskId, options, ({ offer, fail }) => {
      this.ensureOpen();
      const key = this.keys.task(taskId);
      const consider = (raw: string | null) => {
        try {
          offer(decodeMeta(raw, key, taskId));
        } catch (error) {
          fail(error as Error);
        }
      };
      let waiters = this.waiters.get(taskId);
      if (!waiters) this.waiters.set(taskId, (waiters = new Set()));
      waiters.add(consider);
      this.failWaits.add(fail);
      // Listen first, then read, in the same order as the Redis backend.
      consider(this.metas.get(taskId) ?? null);
      return () => {
        this.failWaits.delete(fail);
        waiters.delete(consider);
        if (waiters.size === 0 && this.waiters.get(taskId) === waiters) this.waiters.delete(taskId);
      };
    });
  }

  async forget(taskId: string): Promise<void> {
    this.ensureOpen();
    this.metas.delete(taskId);
  }

  async saveGroup(groupId: string, result: ResultTuple): Promise<void> {
    this.ensureOpen();
    this.groups.set(groupId, encodeStored({ result }, this.keys.group(groupId)));
  }

  async restoreGroup(groupId: string): Promise<ResultTuple | null> {
    this.ensureOpen();
    return decodeGroup(this.groups.get(groupId) ?? null, this.keys.group(groupId));
  }

  async deleteGroup(groupId: string): Promise<void> {
    this.ensureOpen();
    this.groups.delete(groupId);
  }

  /** End every wait with a TransportError; later calls fail the same way. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const fail of [...this.failWaits]) fail(closedError());
    this.waiters.clear();
  }

  private ensureOpen(): void {
    if (this.closed) throw closedError();
  }
}

function closedError(): TransportError {
  return new TransportError('result backend memory:// is closed');
}
