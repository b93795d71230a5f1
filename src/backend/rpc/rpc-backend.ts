// The `rpc://` result backend (celery/backends/rpc.py `RPCBackend`): no store — a worker sends
// each state as a message to the caller's reply queue (the task message's `reply_to`, the
// caller's oid) through the default exchange, with the task id as `correlation_id`; the caller
// consumes that queue and keeps the latest state per task. It rides the broker's transport.
import { ConfigError } from '../../errors.js';
import { jsonDecode, jsonEncode } from '../../protocol/codecs/json.js';
import { pendingMeta, type ResultTuple, type TaskMeta, withPendingDefaults } from '../../protocol/result-meta.js';
import type { Consumer, Transport } from '../../transport/transport.js';
import type { ResultBackend, ResultDestination, WaitOptions } from '../result-backend.js';
import { waitForState } from '../wait-for-state.js';

export interface RpcBackendOptions {
  /** The caller's reply queue: the app's oid, which every task it sends names as `reply_to`. */
  replyQueue: string;
  /** `result_persistent`: delivery mode 2 instead of 1 (Celery's default: transient). */
  persistent?: boolean;
  /** `result_expires` (seconds): the reply queue's `x-expires`, as kombu `Queue(expires=)`. */
  expires?: number | null;
}

export class RpcBackend implements ResultBackend {
  private readonly latest = new Map<string, TaskMeta>();
  private readonly watchers = new Map<string, Set<(meta: TaskMeta) => void>>();
  private consuming: Promise<void> | null = null;
  private consumer: Consumer | null = null;

  constructor(
    private readonly transport: () => Transport,
    private readonly options: RpcBackendOptions,
  ) {}

  connect(timeoutMs?: number): Promise<void> {
    return this.transport().connect(timeoutMs);
  }

  /** celery/backends/rpc.py `on_task_call`: the reply queue exists (and is consumed) before a task is sent. */
  prepareReplies(): Promise<void> {
    this.consuming ??= (async () => {
      const transport = this.transport();
      const expires = this.options.expires;
      // rpc.py `RPCBackend.binding`: Queue(oid, Exchange(None), oid, durable=True, auto_delete=True, expires=result_expires).
      await transport.declareQueue({
        name: this.options.replyQueue,
        exchange: '',
        attributes: { durable: true, autoDelete: true, arguments: expires ? { 'x-expires': Math.round(expires * 1000) } : undefined },
      });
      this.consumer = transport.consume([this.options.replyQueue], { prefetch: 0 }, (delivery) => {
        void delivery.ack();
        let meta: TaskMeta;
        try {
          meta = jsonDecode(delivery.message.body.toString('utf8')) as TaskMeta;
        } catch {
          return; // not a result: nothing anyone waits for
        }
        const id = delivery.message.properties.correlation_id ?? meta.task_id;
        if (typeof id !== 'string') return;
        this.latest.set(id, withPendingDefaults(id, meta));
        for (const watcher of this.watchers.get(id) ?? []) watcher(this.latest.get(id)!);
      });
    })().catch((error: unknown) => {
      this.consuming = null;
      throw error;
    });
    return this.consuming;
  }

  /** rpc.py `store_result`: to the request's reply_to, or nowhere when it has none. */
  async storeResult(meta: TaskMeta, destination?: ResultDestination): Promise<boolean> {
    if (!destination?.replyTo) return true;
    const body = Buffer.from(jsonEncode(meta), 'utf8');
    await this.transport().publish(
      {
        body,
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        headers: {},
        properties: { correlation_id: destination.correlationId ?? meta.task_id, delivery_mode: this.options.persistent ? 2 : 1 },
      },
      { exchange: '', routingKey: destination.replyTo },
    );
    return true;
  }

  async getMeta(taskId: string): Promise<TaskMeta> {
    await this.prepareReplies();
    return this.latest.get(taskId) ?? pendingMeta(taskId);
  }

  async waitFor(taskId: string, options: WaitOptions = {}): Promise<TaskMeta> {
    await this.prepareReplies();
    return waitForState(taskId, options, (hooks) => {
      const set = this.watchers.get(taskId) ?? new Set();
      this.watchers.set(taskId, set);
      set.add(hooks.offer);
      const known = this.latest.get(taskId);
      if (known) hooks.offer(known);
      return () => {
        set.delete(hooks.offer);
        if (set.size === 0) this.watchers.delete(taskId);
      };
    });
  }

  async forget(taskId: string): Promise<void> {
    this.latest.delete(taskId);
  }

  saveGroup(_groupId: string, _result: ResultTuple): Promise<void> {
    return Promise.reject(new ConfigError('save_group is not supported by the rpc:// result backend (Celery: the same)'));
  }

  restoreGroup(_groupId: string): Promise<ResultTuple | null> {
    return Promise.reject(new ConfigError('restore_group is not supported by the rpc:// result backend (Celery: the same)'));
  }

  deleteGroup(_groupId: string): Promise<void> {
    return Promise.reject(new ConfigError('delete_group is not supported by the rpc:// result backend (Celery: the same)'));
  }

  async close(): Promise<void> {
    await this.consumer?.cancel();
    this.consumer = null;
    this.consuming = null;
  }
}
