// The Redis result backend, keys and values as Python's celery/backends/redis.py writes them:
// SET with result_expires + PUBLISH on a channel named like the key, a stored SUCCESS never
// overwritten, and waits that subscribe before they read (`RedisBackend._set`,
// `ResultConsumer.consume_from`; celery/backends/base.py `BaseKeyValueStoreBackend._store_result`).
import { Redis } from 'ioredis';
import { BackendUnavailable, TransportError } from '../../errors.js';
import type { ResultTuple, TaskMeta } from '../../protocol/result-meta.js';
import { checkRedisConnection } from '../../transport/redis/connection-check.js';
import { keepCommandRepliesYoung } from '../../transport/redis/ioredis-command.js';
import { watchLiveness } from '../../transport/redis/liveness.js';
import { parseRedisUrl } from '../../transport/redis/options.js';
import { maskUrl } from '../../url-mask.js';
import { decodeGroup, decodeMeta, encodeStored } from '../meta-codec.js';
import type { ResultBackend, WaitOptions } from '../result-backend.js';
import { resultExpiresSeconds } from '../result-expires.js';
import { waitForState } from '../wait-for-state.js';
import { KeyWatcher } from './key-watcher.js';
import { ResultKeys } from './keys.js';
import { ResultScripts } from './scripts.js';

export interface RedisBackendOptions {
  /** Seconds results are kept (`result_expires`, default 86400 = 1 day); 0 or null = no TTL. */
  resultExpires?: number | null;
  /** `result_backend_transport_options.global_keyprefix` (Celery ≥5.3). */
  keyPrefix?: string;
  /** While the pub/sub connection is down, how often waits re-read their keys (ms, default 500). */
  fallbackPollMs?: number;
  /** With pub/sub up, how often waits re-read anyway, as PUBLISH is fire-and-forget (ms, default 5000). */
  safetyPollMs?: number;
  /** CLIENT SETNAME for the command connection; the subscriber gets `<name>:sub`. */
  connectionName?: string;
  /** sentinel:// URLs: `result_backend_transport_options.master_name` / `sentinel_kwargs`. */
  masterName?: string;
  sentinelKwargs?: Record<string, unknown>;
  /** `redis_backend_use_ssl`: redis-py's ssl_* dict (TLS also on a redis:// URL). */
  useSsl?: Record<string, unknown> | boolean | null;
  /** `redis_socket_timeout` (s): a reply later than this drops the connection; null = the health check interval. */
  socketTimeout?: number | null;
  /** `redis_socket_connect_timeout` (s, default 10). */
  socketConnectTimeout?: number | null;
  /** `redis_socket_keepalive`. */
  socketKeepalive?: boolean;
  /** Seconds an idle connection waits before a PING checks its path (default 25, as kombu; 0 = off). */
  healthCheckInterval?: number;
}

/** Results stored in one script call at most. */
const STORE_BATCH = 500;

interface PendingStore {
  key: string;
  value: string;
  resolve: (stored: boolean) => void;
  reject: (error: Error) => void;
}

/** Idle PING period and, with no redis_socket_timeout, the reply deadline (kombu's default). */
const DEFAULT_HEALTH_CHECK_INTERVAL = 25;

/**
 * @example
 * const backend = new RedisBackend('redis://localhost:6379/1', { resultExpires: 3600 });
 * const meta = await backend.waitFor(taskId, { timeoutMs: 10_000 });
 */
export class RedisBackend implements ResultBackend {
  readonly keys: ResultKeys;
  /** The TTL written with every value, in seconds; 0 = none. */
  readonly ttlSeconds: number;
  private readonly client: Redis;
  private readonly scripts: ResultScripts;
  private readonly watcher: KeyWatcher;
  private readonly failWaits = new Set<(error: Error) => void>();
  private pendingStores: PendingStore[] = [];
  private closed = false;
  /** Once the command connection has been up, a write while it is down fails fast (retryable). */
  private everReady = false;

  constructor(
    private readonly url: string,
    options: RedisBackendOptions = {},
  ) {
    keepCommandRepliesYoung();
    const connection = parseRedisUrl(url, {
      masterName: options.masterName,
      sentinelKwargs: options.sentinelKwargs,
      optionsName: 'result_backend_transport_options',
    }, { settings: options.useSsl, name: 'redis_backend_use_ssl' });
    this.keys = new ResultKeys(options.keyPrefix ?? '');
    this.ttlSeconds = resultExpiresSeconds(options.resultExpires);
    const name = options.connectionName;
    // maxRetriesPerRequest null: during an outage commands wait for the reconnect (Celery retries
    // backend writes over time too) instead of failing after a few attempts. lazyConnect: an app
    // that never touches results never opens the connection.
    const health = options.healthCheckInterval ?? DEFAULT_HEALTH_CHECK_INTERVAL;
    const replyTimeout = options.socketTimeout ?? (health || null);
    const connectTimeout = (options.socketConnectTimeout ?? 10) * 1000;
    const base = { ...connection, connectTimeout, maxRetriesPerRequest: null, ...(options.socketKeepalive ? { keepAlive: 60_000 } : {}) };
    // A store on a dead path is not left waiting for the kernel: the connection is dropped and
    // re-made, and ioredis re-sends the command on it (see liveness.ts).
    const watched = (redis: Redis): Redis => {
      watchLiveness(redis, { replyTimeoutMs: replyTimeout === null ? null : replyTimeout * 1000, healthCheckMs: health * 1000, connectTimeoutMs: connectTimeout });
      return redis;
    };
    // No ioredis auto-pipelining: stores are already batched into one script call per turn, and
    // an auto-pipelined command costs a Pipeline object and waits for the next event-loop turn
    // (`npm run bench -- worker`, interleaved runs: drain ~13% faster without it). A command
    // in flight when a dead path is dropped is re-sent by ioredis (autoResendUnfulfilledCommands).
    this.client = watched(new Redis({ ...base, connectionName: name, lazyConnect: true }));
    this.scripts = new ResultScripts(this.client);
    // ioredis reconnects by itself; without a listener it would crash the process on 'error'.
    this.client.on('error', () => {});
    this.client.once('ready', () => (this.everReady = true));
    this.watcher = new KeyWatcher({
      connect: () => {
        const sub = watched(new Redis({ ...base, connectionName: name && `${name}:sub`, autoResubscribe: true }));
        sub.on('error', () => {});
        return sub;
      },
      read: (keys) => this.client.mget(keys),
      fallbackPollMs: options.fallbackPollMs ?? 500,
      safetyPollMs: options.safetyPollMs ?? 5000,
    });
  }

  connect(timeoutMs = 10_000): Promise<void> {
    return checkRedisConnection(this.client, this.url, timeoutMs);
  }

  /**
   * The worker's hot path: results stored in the same tick go to Redis as one script call (each
   * key judged and written atomically as alone), without async wrappers.
   */
  storeResult(meta: TaskMeta): Promise<boolean> {
    if (this.closed) return Promise.reject(this.closedError());
    const key = this.keys.task(meta.task_id);
    let value: string;
    try {
      value = encodeStored(meta, key);
    } catch (error) {
      return Promise.reject(error);
    }
    // While reconnecting, a queued write would wait silently for the server: fail instead, so the
    // caller retries with backoff and says so (store-retry.ts), or gives up as Celery does.
    if (this.everReady && this.client.status !== 'ready') {
      return Promise.reject(new BackendUnavailable(`result backend ${maskUrl(this.url)}: store ${key} failed: not connected (${this.client.status})`));
    }
    return new Promise((resolve, reject) => {
      this.pendingStores.push({ key, value, resolve, reject });
      if (this.pendingStores.length === 1) setImmediate(() => this.flushStores());
    });
  }

  private flushStores(): void {
    const all = this.pendingStores;
    this.pendingStores = [];
    for (let i = 0; i < all.length; i += STORE_BATCH) {
      const batch = all.slice(i, i + STORE_BATCH);
      const fail = (cause: Error) => {
        for (const p of batch) p.reject(new TransportError(`result backend ${maskUrl(this.url)}: store ${p.key} failed: ${cause.message}`, { cause }));
      };
      if (batch.length === 1) {
        const [p] = batch as [PendingStore];
        this.scripts.storeResult(p.key, p.value, this.ttlSeconds).then((stored) => p.resolve(stored === 1), fail);
      } else {
        this.scripts.storeResults(batch.map((p) => p.key), batch.map((p) => p.value), this.ttlSeconds).then(
          (stored) => batch.forEach((p, j) => p.resolve(stored[j] === 1)),
          fail,
        );
      }
    }
  }

  async getMeta(taskId: string): Promise<TaskMeta> {
    const key = this.keys.task(taskId);
    return decodeMeta(await this.run(`GET ${key}`, () => this.client.get(key)), key, taskId);
  }

  waitFor(taskId: string, options: WaitOptions = {}): Promise<TaskMeta> {
    return waitForState(taskId, options, ({ offer, fail }) => {
      if (this.closed) throw this.closedError();
      const key = this.keys.task(taskId);
      const consider = (raw: string | null, source: 'message' | 'read') => {
        let meta: TaskMeta;
        try {
          meta = decodeMeta(raw, key, taskId);
        } catch (error) {
          // Anyone can PUBLISH anything on the channel: judge the stored value instead.
          if (source === 'message') return void read();
          return fail(error as Error);
        }
        offer(meta);
      };
      const read = () =>
        this.run(`GET ${key}`, () => this.client.get(key)).then(
          (raw) => consider(raw, 'read'),
          (error: Error) => fail(error),
        );
      // Subscribe first, then read: a result stored in between is seen by one or the other.
      const watch = this.watcher.watch(key, consider);
      void watch.subscribed.then(read);
      this.failWaits.add(fail);
      return () => {
        this.failWaits.delete(fail);
        watch.stop();
      };
    });
  }

  async forget(taskId: string): Promise<void> {
    const key = this.keys.task(taskId);
    await this.run(`DEL ${key}`, () => this.client.del(key));
  }

  /** base.py `_save_group`: `{"result": tuple}`, written like every value (TTL + PUBLISH). */
  async saveGroup(groupId: string, result: ResultTuple): Promise<void> {
    const key = this.keys.group(groupId);
    const value = encodeStored({ result }, key);
    await this.run(`store ${key}`, () => this.scripts.setPublish(key, value, this.ttlSeconds));
  }

  async restoreGroup(groupId: string): Promise<ResultTuple | null> {
    const key = this.keys.group(groupId);
    return decodeGroup(await this.run(`GET ${key}`, () => this.client.get(key)), key);
  }

  async deleteGroup(groupId: string): Promise<void> {
    const key = this.keys.group(groupId);
    await this.run(`DEL ${key}`, () => this.client.del(key));
  }

  /** End every wait with a TransportError and close both connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = this.closedError();
    for (const fail of [...this.failWaits]) fail(error);
    await Promise.all([this.watcher.close(), quit(this.client)]);
  }

  /** The command connection, for collaborators that write their own keys (chords). */
  get redis(): Redis {
    return this.client;
  }

  private async run<T>(what: string, command: () => Promise<T>): Promise<T> {
    if (this.closed) throw this.closedError();
    try {
      return await command();
    } catch (cause) {
      throw new TransportError(`result backend ${maskUrl(this.url)}: ${what} failed: ${(cause as Error).message}`, { cause });
    }
  }

  private closedError(): TransportError {
    return new TransportError(`result backend ${maskUrl(this.url)} is closed`);
  }
}

async function quit(client: Redis): Promise<void> {
  if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
  else client.disconnect();
}
