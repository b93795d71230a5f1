// RedisTransport: kombu's Redis transport re-implemented on ioredis, key for key, so TypeScript
// and Python consumers share queues, bindings and unacked bookkeeping (kombu/transport/redis.py
// `Channel`, `QoS`).
// Composition only: the parts live in the sibling files.
import { Redis, type RedisOptions } from 'ioredis';
import { TransportError } from '../../errors.js';
import { decodeRedisEnvelope, encodeRedisEnvelope, markRedelivered, readableTaskId } from '../../protocol/envelope.js';
import { newId } from '../../protocol/ids.js';
import type { Message } from '../../protocol/message.js';
import type { Consumer, ConsumeOptions, Delivery, FanoutSubscription, PublishTarget, QueueSpec, Transport, TransportEvent } from '../transport.js';
import { bindingMember, topicKeyToPattern } from './bindings.js';
import { ExchangeRouter } from './exchange-router.js';
import { resolveFanoutPrefix } from './fanout.js';
import { FanoutHub } from './fanout-hub.js';
import { checkRedisConnection } from './connection-check.js';
import { ConnectionHealth } from './health.js';
import { keepCommandRepliesYoung } from './ioredis-command.js';
import { watchLiveness } from './liveness.js';
import { RedisKeys } from './keys.js';
import { parseRedisTransportOptions, parseRedisUrl, type RedisConnectionOptions, type RedisTransportOptions } from './options.js';
import { clampPriority } from './priority.js';
import { UnackedLedger, type UnackedEntry } from './qos.js';
import { RedisConsumer, type ConsumerHost } from './redis-consumer.js';
import { RedisDelivery } from './redis-delivery.js';
import { RedisScripts, type FetchedEntry, type RestoreItem } from './scripts.js';
import { VisibilitySweeper } from './visibility.js';

export interface RedisTransportDeps {
  /** Epoch milliseconds (unacked_index scores, visibility sweeps). */
  now?: () => number;
  /** Delivery tags and lock tokens. */
  newId?: () => string;
  /** Celery's `broker_use_ssl`: ssl_* settings (or true) for TLS, also on a redis:// URL. */
  useSsl?: Record<string, unknown> | boolean | null;
}

/** ioredis' connect timeout when socket_connect_timeout is unset (seconds). */
const DEFAULT_CONNECT_TIMEOUT = 10;

export class RedisTransport implements Transport {
  readonly options: RedisTransportOptions;
  readonly keys: RedisKeys;
  private readonly connection: RedisConnectionOptions;
  private readonly main: Redis;
  private readonly scripts: RedisScripts;
  private readonly ledger: UnackedLedger;
  private readonly router: ExchangeRouter;
  private readonly sweeper: VisibilitySweeper;
  private readonly health: ConnectionHealth;
  private readonly fanout: FanoutHub;
  private readonly now: () => number;
  private readonly newId: () => string;
  private readonly listeners = new Set<(event: TransportEvent) => void>();
  private readonly declared = new Set<string>();
  private readonly consumers = new Set<RedisConsumer>();
  /** Unsettled deliveries in delivery order (close() restores them). */
  private readonly unsettled = new Set<RedisDelivery>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private consumerSeq = 0;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly url: string,
    transportOptions: Record<string, unknown> = {},
    deps: RedisTransportDeps = {},
  ) {
    keepCommandRepliesYoung();
    this.options = parseRedisTransportOptions(transportOptions);
    this.connection = parseRedisUrl(url, {
      masterName: this.options.masterName ?? undefined,
      sentinelKwargs: this.options.sentinelKwargs,
      optionsName: 'broker_transport_options',
    }, { settings: deps.useSsl, name: 'broker_use_ssl' });
    this.now = deps.now ?? Date.now;
    this.newId = deps.newId ?? newId;
    const o = this.options;
    this.keys = new RedisKeys({ ...o, fanoutPrefix: resolveFanoutPrefix(o.fanoutPrefix, this.connection.db) });
    this.health = new ConnectionHealth((e) => this.emit(e));
    this.main = this.newConnection('main');
    this.scripts = new RedisScripts(this.main);
    this.ledger = new UnackedLedger(this.scripts, this.keys.unacked, this.keys.unackedIndex);
    this.router = new ExchangeRouter(this.main, this.keys);
    this.fanout = new FanoutHub(() => this.newConnection('subscriber'), this.keys, (reason, raw) => this.emit({ type: 'message-dropped', reason, raw }));
    this.sweeper = new VisibilitySweeper({
      redis: this.main,
      keys: this.keys,
      scripts: this.scripts,
      ledger: this.ledger,
      visibilityTimeout: o.visibilityTimeout,
      unackedMutexExpire: o.unackedMutexExpire,
      unackedRestoreLimit: o.unackedRestoreLimit,
      now: this.now,
      newToken: this.newId,
      // parseUnackedValue has parsed the whole value, so the envelope inside it is JSON.
      plan: (entry) => this.plan(entry, entry.envelope, (JSON.parse(entry.envelope) as { properties?: { priority?: unknown } } | null)?.properties?.priority),
      onDropped: (reason, raw) => this.emit({ type: 'message-dropped', reason, raw }),
    });
  }

  connect(timeoutMs = 10_000): Promise<void> {
    return checkRedisConnection(this.main, this.url, timeoutMs);
  }

  async declareQueue(spec: QueueSpec): Promise<void> {
    const exchange = spec.exchange ?? spec.name;
    const type = spec.exchangeType ?? 'direct';
    const routingKey = spec.routingKey ?? spec.name;
    this.router.remember(exchange, type);
    if (!exchange) return; // the default exchange routes by queue name, no table
    const member = bindingMember({ routingKey, pattern: type === 'topic' ? topicKeyToPattern(routingKey) : '', queue: spec.name }, this.keys.sep);
    const cacheKey = `${exchange}\0${member}`;
    if (this.declared.has(cacheKey)) return;
    // kombu ≥5.7 `_queue_bind`: the table, plus the "permanent" set that keeps it from its sweep.
    await this.main.multi().sadd(this.keys.binding(exchange), member).sadd(this.keys.bindingPermanent(exchange), member).exec();
    this.declared.add(cacheKey);
  }

  async deleteQueue(spec: QueueSpec): Promise<void> {
    const exchange = spec.exchange ?? spec.name;
    const type = spec.exchangeType ?? 'direct';
    const routingKey = spec.routingKey ?? spec.name;
    const multi = this.main.multi();
    if (exchange) {
      const member = bindingMember({ routingKey, pattern: type === 'topic' ? topicKeyToPattern(routingKey) : '', queue: spec.name }, this.keys.sep);
      multi.srem(this.keys.binding(exchange), member).srem(this.keys.bindingPermanent(exchange), member);
      this.declared.delete(`${exchange}\0${member}`);
    }
    // kombu Channel._delete: the bindings and every priority list of the queue.
    for (const list of this.keys.queueLists(spec.name)) multi.del(list);
    await multi.exec();
  }

  async publish(message: Message, target: PublishTarget): Promise<void> {
    const { exchange, routingKey } = target;
    const envelope = encodeRedisEnvelope(message, { exchange, routingKey, deliveryTag: this.newId() });
    const type = this.router.typeOf(exchange, target.exchangeType);
    if (exchange && type === 'fanout') {
      await this.main.publish(this.keys.fanoutPublish(exchange, routingKey), envelope);
      return;
    }
    const queues = await this.router.queues(exchange, routingKey, type);
    if (queues.length === 0) {
      // kombu only warns (UndeliverableWarning) and the message is gone.
      this.emit({ type: 'message-dropped', reason: `no queue is bound to exchange '${exchange}' with routing key '${routingKey}'`, raw: envelope });
      return;
    }
    const priority = clampPriority(message.properties.priority);
    await Promise.all(queues.map((q) => this.main.lpush(this.keys.listForPriority(q, priority), envelope)));
  }

  consume(queues: string[], options: ConsumeOptions, onDelivery: (delivery: Delivery) => void): Consumer {
    if (this.closing) throw new TransportError('the transport is closed');
    const consumer = new RedisConsumer(this.consumerHost(), `consumer-${++this.consumerSeq}`, queues, options.prefetch, onDelivery, options.maxMessageSize ?? 0);
    this.consumers.add(consumer);
    if (this.consumers.size === 1) this.startSweeps();
    return consumer;
  }

  subscribeFanout(exchange: string, routingKeyPattern: string, onMessage: (message: Message, routingKey: string) => void): Promise<FanoutSubscription> {
    return this.fanout.subscribe(exchange, routingKeyPattern, onMessage);
  }

  async purge(queue: string): Promise<number> {
    const multi = this.main.multi();
    for (const list of this.keys.queueLists(queue)) multi.llen(list).del(list);
    const replies = (await multi.exec()) ?? [];
    return replies.reduce((sum, [, value], i) => sum + (i % 2 === 0 ? Number(value) : 0), 0);
  }

  async queueSize(queue: string): Promise<number> {
    const sizes = await Promise.all(this.keys.queueLists(queue).map((list) => this.main.llen(list)));
    return sizes.reduce((a, b) => a + b, 0);
  }

  onEvent(listener: (event: TransportEvent) => void): void {
    this.listeners.add(listener);
  }

  /** Run the visibility sweep now (it also runs when a consumer starts and then periodically). */
  async restoreVisibilityTimedOut(): Promise<number> {
    const count = await this.sweeper.sweep();
    if (count > 0) this.emit({ type: 'restored', count });
    return count;
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.sweepTimer);
    await Promise.all([...this.consumers].map((c) => c.cancel()));
    // Every unsettled delivery back to the front in one script call, first delivered first out
    // (RPUSH puts the last pushed at the very front, hence the reverse).
    const pending = [...this.unsettled].filter((d) => d.claim());
    try {
      const items = await Promise.all(pending.map((d) => this.planOwn(d)));
      const count = (await this.ledger.restoreNow(items.reverse(), false)).filter(Boolean).length;
      if (count > 0) this.emit({ type: 'restored', count });
    } catch {
      // Broker unreachable: they stay in the unacked hash and any consumer's visibility sweep
      // brings them back (kombu has the same fallback).
    }
    await this.fanout.close();
    await new Promise((r) => setImmediate(r));
    await this.ledger.idle();
    await (this.main.status === 'ready' ? this.main.quit().catch(() => this.main.disconnect()) : this.main.disconnect());
  }

  private consumerHost(): ConsumerHost {
    const o = this.options;
    return {
      main: this.main,
      scripts: this.scripts,
      keys: this.keys,
      health: this.health,
      strategy: o.queueOrderStrategy,
      brpopTimeout: o.brpopTimeout,
      nowScore: () => String(this.now() / 1000),
      newBlockingConnection: (name) => this.newConnection(name),
      toDelivery: (entry, onSettled) => this.toDelivery(entry, onSettled),
      // The fetch script could not parse it (cjson) or found no delivery tag: say what is wrong.
      dropped: (entry) => this.emit({ type: 'message-dropped', reason: `undecodable message in queue '${entry.queue}': ${whyUndecodable(entry.raw)}`, raw: entry.raw, taskId: readableTaskId(entry.raw) }),
      // kombu writes `properties` last: the correlation id (Celery: the task id) is in the tail.
      tooLarge: (entry, limit) =>
        this.emit({
          type: 'message-too-large',
          queue: entry.queue,
          size: entry.tooLarge ?? entry.raw.length,
          limit,
          correlationId: readableTaskId(entry.raw),
        }),
      putBack: async (items) => {
        await this.ledger.restoreNow(items, false);
      },
      consumerClosed: (consumer) => {
        this.consumers.delete(consumer);
        if (this.consumers.size === 0) clearInterval(this.sweepTimer);
      },
    };
  }

  private toDelivery(entry: FetchedEntry, onSettled: () => void): Delivery | null {
    let decoded: ReturnType<typeof decodeRedisEnvelope>;
    try {
      decoded = decodeRedisEnvelope(entry.raw, entry.queue);
    } catch (err) {
      // It cannot become a Delivery: remove it from unacked (else a sweep would bring it back
      // forever) and let the worker log it.
      this.ledger.ack(entry.tag).catch(() => undefined);
      this.emit({ type: 'message-dropped', reason: `undecodable message in queue '${entry.queue}': ${(err as Error).message}`, raw: entry.raw, taskId: readableTaskId(entry.raw) });
      return null;
    }
    const delivery = new RedisDelivery(decoded.message, decoded.info, entry.tag, entry.raw, this.settler, (d) => this.unsettled.delete(d), onSettled);
    this.unsettled.add(delivery);
    return delivery;
  }

  private readonly settler = {
    ack: (d: RedisDelivery) => this.ledger.ack(d.deliveryTag),
    restore: async (d: RedisDelivery, back: boolean) => {
      const item = await this.planOwn(d);
      const restored = await this.ledger.restore(item, back);
      if (restored && item.targets.length === 0) {
        this.emit({ type: 'message-dropped', reason: `no queue is bound to exchange '${d.info.exchange}' with routing key '${d.info.routingKey}'`, raw: d.raw });
      }
    },
  };

  /** Restore plan for one of our deliveries: valid while unacked still holds `[` + our raw. */
  private async planOwn(d: RedisDelivery): Promise<RestoreItem> {
    // No delivery_info: filed under ('', queue) at fetch (scripts.ts), so it goes back there.
    const { exchange, routingKey } = d.info.exchange || d.info.routingKey ? d.info : { exchange: '', routingKey: d.info.queue };
    const plan = await this.plan({ envelope: d.raw, exchange, routingKey }, d.raw, d.info.priority);
    return { tag: d.deliveryTag, match: '[', expected: d.raw, ...plan };
  }

  /** kombu `_do_restore_message`: redelivered flags set, one push per queue the binding resolves to. */
  private async plan(entry: UnackedEntry, raw: string, priority: unknown): Promise<{ envelope: string; targets: string[] }> {
    const queues = await this.router.queues(entry.exchange, entry.routingKey);
    const pri = clampPriority(priority);
    let envelope = raw;
    try {
      envelope = markRedelivered(raw);
    } catch {
      // kombu pushes it unchanged when the flags cannot be set (KeyError).
    }
    return { envelope, targets: queues.map((q) => this.keys.listForPriority(q, pri)) };
  }

  private startSweeps(): void {
    const sweep = () => void this.restoreVisibilityTimedOut().catch(() => undefined);
    // kombu sweeps when polling starts, then every unacked_restore_interval s, scanning only on
    // every unacked_restore_throttle-th call (≈100 s by default).
    sweep();
    const periodS = this.options.unackedRestoreInterval * (this.options.unackedRestoreThrottle || 1);
    this.sweepTimer = setInterval(sweep, periodS * 1000);
    this.sweepTimer.unref();
  }

  private newConnection(name: string): Redis {
    const o = this.options;
    const connectTimeout = (o.socketConnectTimeout ?? DEFAULT_CONNECT_TIMEOUT) * 1000;
    const opts: RedisOptions = {
      ...this.connection,
      lazyConnect: true,
      // No ioredis auto-pipelining: the hot path already sends one script call per event-loop
      // turn (fetch, acks, restores), and each auto-pipeline is a Pipeline object whose `length`
      // accessor V8 keeps in old space, holding every command and reply of its turn until the next
      // full collection (see README "Why the heap grows").
      ...(o.clientName ? { connectionName: o.clientName } : {}),
      connectTimeout,
      ...(o.socketKeepalive ? { keepAlive: 60_000 } : {}),
    };
    const redis = new Redis(opts);
    this.health.watch(name, redis);
    // socket_timeout bounds a reply (a BRPOP gets its own timeout on top); unset, the health
    // check interval does, so a dead path is noticed even with no settings at all.
    const replyTimeout = o.socketTimeout ?? (o.healthCheckInterval || null);
    watchLiveness(redis, {
      replyTimeoutMs: replyTimeout === null ? null : replyTimeout * 1000,
      healthCheckMs: o.healthCheckInterval * 1000,
      connectTimeoutMs: connectTimeout,
      onStale: (reason) => redis.emit('error', new TransportError(`${name} connection dropped: ${reason}`)),
    });
    return redis;
  }

  private emit(event: TransportEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own; the transport keeps going.
      }
    }
  }
}

/** Why an envelope the fetch script could not register is unreadable, in decodeRedisEnvelope's words. */
function whyUndecodable(raw: string): string {
  try {
    decodeRedisEnvelope(raw);
  } catch (error) {
    return (error as Error).message;
  }
  return 'the broker-side parser (cjson) refused it';
}
