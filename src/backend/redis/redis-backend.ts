// The Redis result backend, keys and values exactly as Python's celery/backends/redis.py writes
// them: SET with result_expires + PUBLISH on a channel named like the key, a stored SUCCESS never
// overwritten, and waits that subscribe before they read (no lost wake-ups).
import { Redis } from 'ioredis';
import { TimeoutError, TransportError } from '../../errors.js';
import { jsonDecode, jsonEncode } from '../../protocol/codecs/json.js';
import { pendingMeta, type ResultTuple, type TaskMeta } from '../../protocol/result-meta.js';
import { isReady } from '../../protocol/states.js';
import { parseRedisUrl } from '../../transport/redis/options.js';
import { maskUrl } from '../../url-mask.js';
import type { ResultBackend, WaitOptions } from '../result-backend.js';
import { ResultKeys } from './keys.js';

export interface RedisBackendOptions {
  /** Seconds results are kept (`result_expires`, default 1 day); 0 or null = forever. */
  resultExpires?: number | null;
  /** `result_backend_transport_options.global_keyprefix`. */
  keyPrefix?: string;
  /** While pub/sub is down, how often waits poll (ms). */
  fallbackPollMs?: number;
  /** Even with pub/sub up, how often waits re-read (PUBLISH is fire-and-forget). */
  safetyPollMs?: number;
}

/** GET; skip when the stored status is SUCCESS; else SET (with TTL) and PUBLISH — one round trip. */
const STORE_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current then
  local ok, doc = pcall(cjson.decode, current)
  if ok and type(doc) == 'table' and doc['status'] == 'SUCCESS' then return 0 end
end
local ttl = tonumber(ARGV[2])
if ttl > 0 then redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl) else redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
`;

/** SET (with TTL) and PUBLISH, as `KeyValueStoreBackend.set` does for group metas. */
const SET_PUBLISH_SCRIPT = `
local ttl = tonumber(ARGV[2])
if ttl > 0 then redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl) else redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
`;

type StoreClient = Redis & {
  celeryStoreResult(key: string, value: string, ttl: number): Promise<number>;
  celerySetPublish(key: string, value: string, ttl: number): Promise<number>;
};

export class RedisBackend implements ResultBackend {
  readonly keys: ResultKeys;
  private readonly client: StoreClient;
  private subscriber: Redis | undefined;
  private readonly listeners = new Map<string, Set<(raw: string) => void>>();
  private readonly subscribed = new Map<string, Promise<unknown>>();
  private readonly ttl: number;
  private readonly fallbackPollMs: number;
  private readonly safetyPollMs: number;
  private readonly closers = new Set<(error: Error) => void>();

  constructor(
    private readonly url: string,
    options: RedisBackendOptions = {},
  ) {
    const connection = parseRedisUrl(url);
    this.keys = new ResultKeys(options.keyPrefix ?? '');
    this.ttl = options.resultExpires ? Math.max(1, Math.round(options.resultExpires)) : 0;
    this.fallbackPollMs = options.fallbackPollMs ?? 500;
    this.safetyPollMs = options.safetyPollMs ?? 5000;
    // maxRetriesPerRequest null: during an outage writes wait for the reconnect instead of failing.
    this.client = new Redis({ ...connection, enableAutoPipelining: true, maxRetriesPerRequest: null, lazyConnect: false }) as StoreClient;
    this.client.on('error', () => {}); // reconnects on its own; commands wait in the offline queue
    this.client.defineCommand('celeryStoreResult', { numberOfKeys: 1, lua: STORE_SCRIPT });
    this.client.defineCommand('celerySetPublish', { numberOfKeys: 1, lua: SET_PUBLISH_SCRIPT });
  }

  async storeResult(meta: TaskMeta): Promise<boolean> {
    const value = jsonEncode(meta);
    return (await this.client.celeryStoreResult(this.keys.task(meta.task_id), value, this.ttl)) === 1;
  }

  async getMeta(taskId: string): Promise<TaskMeta> {
    return this.decode(this.keys.task(taskId), await this.client.get(this.keys.task(taskId)), taskId);
  }

  private decode(key: string, raw: string | null, taskId: string): TaskMeta {
    if (raw === null) return pendingMeta(taskId);
    try {
      return jsonDecode(raw) as TaskMeta;
    } catch (cause) {
      throw new TransportError(`the result stored under ${key} is not valid JSON`, { cause });
    }
  }

  waitFor(taskId: string, options: WaitOptions = {}): Promise<TaskMeta> {
    const key = this.keys.task(taskId);
    const done = options.until ?? ((meta: TaskMeta) => isReady(meta.status));
    return new Promise<TaskMeta>((resolve, reject) => {
      let settled = false;
      let timeout: NodeJS.Timeout | undefined;
      let poll: NodeJS.Timeout | undefined;
      const finish = (error: Error | null, meta?: TaskMeta) => {
        if (settled) return;
        settled = true;
        if (timeout) clearTimeout(timeout);
        if (poll) clearTimeout(poll);
        options.signal?.removeEventListener('abort', onAbort);
        this.closers.delete(onClose);
        this.unlisten(key, onMessage);
        if (error) reject(error);
        else resolve(meta!);
      };
      const consider = (raw: string | null) => {
        if (settled) return;
        try {
          const meta = this.decode(key, raw, taskId);
          if (done(meta)) finish(null, meta);
        } catch (error) {
          finish(error as Error);
        }
      };
      const read = () => this.client.get(key).then(consider, (error: Error) => finish(new TransportError(`cannot read ${key}: ${error.message}`, { cause: error })));
      const onMessage = (raw: string) => consider(raw);
      const onAbort = () => finish(options.signal!.reason instanceof Error ? options.signal!.reason : new Error('aborted'));
      const onClose = (error: Error) => finish(error);
      const schedulePoll = () => {
        if (settled) return;
        const pubsubUp = this.subscriber?.status === 'ready';
        poll = setTimeout(() => void read().then(schedulePoll), pubsubUp ? this.safetyPollMs : this.fallbackPollMs);
      };
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort);
      this.closers.add(onClose);
      if (options.timeoutMs !== undefined) {
        timeout = setTimeout(() => finish(new TimeoutError(`The operation timed out waiting for task ${taskId}.`)), options.timeoutMs);
      }
      // Subscribe first, then read: a result stored in between is seen by one or the other.
      this.listen(key, onMessage)
        .catch(() => {}) // pub/sub unavailable: the polls below still find the result
        .then(read)
        .then(schedulePoll);
    });
  }

  private subscriberClient(): Redis {
    if (!this.subscriber) {
      const sub = new Redis({ ...parseRedisUrl(this.url), maxRetriesPerRequest: null, autoResubscribe: true });
      sub.on('error', () => {});
      sub.on('message', (channel: string, raw: string) => {
        for (const fn of this.listeners.get(channel) ?? []) fn(raw);
      });
      this.subscriber = sub;
    }
    return this.subscriber;
  }

  private listen(channel: string, fn: (raw: string) => void): Promise<unknown> {
    let set = this.listeners.get(channel);
    if (!set) this.listeners.set(channel, (set = new Set()));
    set.add(fn);
    let subscribed = this.subscribed.get(channel);
    if (!subscribed) {
      subscribed = this.subscriberClient().subscribe(channel);
      this.subscribed.set(channel, subscribed);
    }
    return subscribed;
  }

  private unlisten(channel: string, fn: (raw: string) => void): void {
    const set = this.listeners.get(channel);
    if (!set) return;
    set.delete(fn);
    if (set.size > 0) return;
    this.listeners.delete(channel);
    this.subscribed.delete(channel);
    this.subscriber?.unsubscribe(channel).catch(() => {});
  }

  async forget(taskId: string): Promise<void> {
    await this.client.del(this.keys.task(taskId));
  }

  async saveGroup(groupId: string, result: ResultTuple): Promise<void> {
    await this.client.celerySetPublish(this.keys.group(groupId), jsonEncode({ result }), this.ttl);
  }

  async restoreGroup(groupId: string): Promise<ResultTuple | null> {
    const raw = await this.client.get(this.keys.group(groupId));
    return raw === null ? null : ((jsonDecode(raw) as { result: ResultTuple }).result ?? null);
  }

  async deleteGroup(groupId: string): Promise<void> {
    await this.client.del(this.keys.group(groupId));
  }

  async close(): Promise<void> {
    const error = new TransportError(`result backend ${maskUrl(this.url)} closed`);
    for (const close of [...this.closers]) close(error);
    await Promise.all([quit(this.client), this.subscriber && quit(this.subscriber)]);
  }
}

async function quit(client: Redis): Promise<void> {
  if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
  else client.disconnect();
}
