// AmqpTransport: RabbitMQ through amqplib, declaring exchanges and queues exactly as kombu does so
// Python and TypeScript share them (kombu/entity.py `Exchange.declare`, `Queue.declare`; Celery's
// queues from celery/app/amqp.py `Queues.new_missing`). An entity that already exists is used as
// it is (a passive check first), so attributes another client chose never clash with ours.
// Prefetch is RabbitMQ's channel-global basic.qos, as Celery sets it for RabbitMQ (it can grow
// live for held ETA tasks) — except where a consumed queue is quorum: RabbitMQ refuses global QoS
// there, so the prefetch is per consumer, as celery/worker/consumer/tasks.py `Tasks.qos_global`
// decides with worker_detect_quorum_queues. A lost connection is re-opened with back-off; declarations,
// consumers and subscriptions are restored, and deliveries of the dead channel settle as no-ops
// (RabbitMQ has already requeued them).
import { once } from 'node:events';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { TransportError } from '../../errors.js';
import type { DeliveryInfo, Message } from '../../protocol/message.js';
import { maskUrl } from '../../url-mask.js';
import type {
  Consumer,
  ConsumeOptions,
  Delivery,
  ExchangeDeclaration,
  FanoutOptions,
  FanoutSubscription,
  PublishTarget,
  QueueSpec,
  Transport,
  TransportEvent,
} from '../transport.js';
import { AckBatcher } from './ack-batcher.js';
import { type DelayedQueueType, delayedBindingKey, delayedTopology } from './native-delayed-delivery.js';
import { fromAmqp, publishOptions } from './amqp-message.js';
import { type AmqpTls, describeTlsError, parseBrokerUseSsl, tlsSocketOptions } from './amqp-tls.js';
import { type AmqpBrokerSettings, type AmqpConnectionOptions, type AmqpTransportOptions, type FailoverStrategy, nextNode, parseAmqpTransportOptions, parseAmqpUrls } from './amqp-options.js';

const NOT_FOUND = 404;
const NOT_IMPLEMENTED = 540;
// Reconnect attempts: 0.5 s, 1 s, then every 2 s — a node that is back is used within 2 s (a
// refused connection costs next to nothing; kombu's default `ensure_connection` waits 2 s more
// each time, up to 30 s).
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 2_000;

/** A consumer or subscription that can set itself up again on a new connection. */
interface Restartable {
  restart(): Promise<void>;
}

export class AmqpTransport implements Transport {
  private readonly options: AmqpTransportOptions;
  /** The nodes of a `;`-separated URL list; `node` is the one in use (kombu's failover). */
  private readonly nodes: AmqpConnectionOptions[];
  /** broker_use_ssl (or `amqps://` with the defaults). */
  private readonly tls: AmqpTls | null;
  private node = 0;
  private model: ChannelModel | null = null;
  private opening: Promise<ChannelModel> | null = null;
  private publisher: Promise<Channel | ConfirmChannel> | null = null;
  private drained: Promise<void> | null = null;
  private connectionGeneration = 0;
  private closing = false;
  private lost = false;
  private readonly exchanges = new Set<string>();
  private readonly queues = new Map<string, QueueSpec>();
  /** Queues known to be quorum: declared so by us or found so on the broker. */
  private readonly quorum = new Set<string>();
  /** Declarations under way: concurrent publishers to a new queue share one declaration. */
  private readonly pending = new Map<string, Promise<void>>();
  private readonly live = new Set<Restartable>();
  private readonly listeners = new Set<(event: TransportEvent) => void>();

  private readonly failoverStrategy: FailoverStrategy;

  constructor(
    private readonly url: string,
    transportOptions: Record<string, unknown> = {},
    settings: AmqpBrokerSettings = {},
  ) {
    this.options = parseAmqpTransportOptions(transportOptions);
    this.failoverStrategy = settings.failoverStrategy ?? 'round-robin';
    const tls = parseBrokerUseSsl(settings.useSsl ?? null);
    this.nodes = parseAmqpUrls(url, { heartbeat: settings.heartbeat, transportHeartbeat: this.options.heartbeat }, tls !== null);
    this.tls = tls ?? (this.nodes.some((n) => n.protocol === 'amqps') ? { verify: true } : null);
  }

  /** The node in use (or to be tried next): `host:port`. */
  get currentNode(): string {
    const { hostname, port } = this.nodes[this.node]!;
    return `${hostname}:${port}`;
  }

  /**
   * Bumped when a connection opens and when it is lost: deliveries of an older generation are
   * stale (RabbitMQ requeued them with the dead channel) and settle as no-ops.
   */
  get generation(): number {
    return this.connectionGeneration;
  }

  async connect(timeoutMs = this.options.connectTimeoutMs): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.open(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (cause) {
      throw new TransportError(`Cannot connect to ${maskUrl(this.url)}: ${describeTlsError(cause) ?? (cause as Error).message}`, { cause });
    } finally {
      clearTimeout(timer);
    }
  }

  async declareQueue(spec: QueueSpec): Promise<void> {
    if (this.queues.has(spec.name)) return;
    await this.once(`queue:${spec.name}`, async () => {
      await this.declare(spec);
      this.queues.set(spec.name, spec);
    });
  }

  /** True when the queue is quorum (declared so, or found so by `declareQueue`). */
  isQuorum(queue: string): boolean {
    return this.quorum.has(queue);
  }

  /** Remember a queue RabbitMQ told us is quorum (it refused global QoS on it). */
  markQuorum(queue: string): void {
    this.quorum.add(queue);
  }

  async deleteQueue(spec: QueueSpec): Promise<void> {
    this.queues.delete(spec.name);
    this.quorum.delete(spec.name);
    await this.withScratchChannel((ch) => ch.deleteQueue(spec.name), null);
  }

  async publish(message: Message, target: PublishTarget): Promise<void> {
    if (target.exchange) await this.ensureExchange(target.exchange, target.exchangeDeclaration ?? { type: target.exchangeType ?? 'direct', durable: true });
    const channel = await this.publishChannel();
    const options = publishOptions(message);
    if (this.options.confirmPublish) {
      await new Promise<void>((resolve, reject) =>
        (channel as ConfirmChannel).publish(target.exchange, target.routingKey, message.body, options, (error) => (error ? reject(error) : resolve())),
      );
      return;
    }
    // false = the socket buffer is full: wait for it to drain (backpressure), all waiters on one listener.
    if (!channel.publish(target.exchange, target.routingKey, message.body, options)) {
      this.drained ??= once(channel, 'drain').then(
        () => undefined,
        () => undefined,
      ).finally(() => {
        this.drained = null;
      });
      await this.drained;
    }
  }

  consume(queues: string[], options: ConsumeOptions, onDelivery: (delivery: Delivery) => void): Consumer {
    if (this.closing) throw new TransportError('the transport is closed');
    const consumer = new AmqpConsumer(this, [...new Set(queues)], options.prefetch, options.detectQuorumQueues ?? true, onDelivery);
    this.live.add(consumer);
    void consumer.restart().catch((error: Error) => this.connectionProblem(error));
    return consumer;
  }

  async subscribeFanout(
    exchange: string,
    routingKeyPattern: string,
    onMessage: (message: Message, routingKey: string) => void,
    options: FanoutOptions = {},
  ): Promise<FanoutSubscription> {
    const subscription = new AmqpSubscription(this, exchange, routingKeyPattern, onMessage, options);
    await subscription.restart();
    this.live.add(subscription);
    return {
      close: async () => {
        this.live.delete(subscription);
        await subscription.close();
      },
    };
  }

  async purge(queue: string): Promise<number> {
    return (await this.withScratchChannel(async (ch) => (await ch.purgeQueue(queue)).messageCount, 0)) ?? 0;
  }

  /** Ready messages (RabbitMQ counts unacked ones separately, as kombu's `queue_declare` does). */
  async queueSize(queue: string): Promise<number> {
    return (await this.withScratchChannel(async (ch) => (await ch.checkQueue(queue)).messageCount, 0)) ?? 0;
  }

  onEvent(listener: (event: TransportEvent) => void): void {
    this.listeners.add(listener);
  }

  /**
   * Close every channel (RabbitMQ requeues what was not acked), then the connection. The publish
   * channel closes first and on its own: its close frame queues behind the messages still
   * buffered, while a connection close (channel 0) would overtake and lose them.
   */
  async close(): Promise<void> {
    this.closing = true;
    for (const item of this.live) if (item instanceof AmqpConsumer) await item.cancel();
    this.live.clear();
    const publisher = await this.publisher?.catch(() => null);
    this.publisher = null;
    if (publisher && 'waitForConfirms' in publisher) await publisher.waitForConfirms().catch(() => undefined);
    await publisher?.close().catch(() => undefined);
    const model = this.model;
    this.model = null;
    await model?.close().catch(() => undefined);
  }

  // -------------------------------------------------------------------------------------------
  // Connection

  /** The open connection, opening it (once, for all callers) when needed. */
  async open(): Promise<ChannelModel> {
    if (this.model) return this.model;
    if (this.closing) throw new TransportError('the transport is closed');
    this.opening ??= this.dial().finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  async newChannel(): Promise<Channel> {
    const channel = await (await this.open()).createChannel();
    // A channel error (e.g. consuming a deleted queue) closes only that channel; its owner reopens.
    channel.on('error', () => undefined);
    return channel;
  }

  /** Connect to the node in use; when it fails, to the next ones the strategy picks, each once. */
  private async dial(): Promise<ChannelModel> {
    let model: ChannelModel | undefined;
    for (let attempt = 0; ; attempt++) {
      const { protocol, hostname, port, username, password, vhost, heartbeat } = this.nodes[this.node]!;
      try {
        const tls = protocol === 'amqps' && this.tls ? tlsSocketOptions(this.tls, hostname) : {};
        // Loaded on the first connect: a process on Redis never loads amqplib.
        const { default: amqplib } = await import('amqplib');
        model = await amqplib.connect(
          { protocol, hostname, port, username, password, vhost, heartbeat },
          { ...tls, timeout: this.options.connectTimeoutMs, clientProperties: this.options.clientProperties },
        );
        break;
      } catch (error) {
        if (this.closing || attempt + 1 >= this.nodes.length) throw error;
        this.node = nextNode(this.node, this.nodes.length, this.failoverStrategy);
      }
    }
    if (this.closing) {
      // close() ran while we dialled: this connection has no owner any more.
      await model.close().catch(() => undefined);
      throw new TransportError('the transport is closed');
    }
    model.on('error', () => undefined); // 'close' follows and carries the story
    model.on('close', (error?: Error) => this.onClosed(model, error));
    this.model = model;
    this.connectionGeneration++;
    this.publisher = null;
    return model;
  }

  private onClosed(model: ChannelModel, error?: Error): void {
    if (this.model !== model) return;
    const quorum = globalQosRefusedOn(error);
    if (quorum) this.quorum.add(quorum);
    this.connectionGeneration++;
    this.model = null;
    this.publisher = null;
    if (this.closing) return;
    // kombu `Connection._ensure_connection`: after a connection error, the next node first.
    if (this.nodes.length > 1) this.node = nextNode(this.node, this.nodes.length, this.failoverStrategy);
    this.connectionProblem(error ?? new Error('connection closed by the broker'));
  }

  /** Emit connection-lost once and keep reconnecting with back-off until it works. */
  private connectionProblem(error: Error): void {
    if (this.lost || this.closing) return;
    this.lost = true;
    this.emit({ type: 'connection-lost', error });
    void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    for (let wait = RECONNECT_MIN_MS; !this.closing; wait = Math.min(wait * 2, RECONNECT_MAX_MS)) {
      await new Promise((r) => setTimeout(r, wait));
      try {
        await this.open();
        // Exclusive and non-durable entities died with the connection (or the broker): declare
        // everything again, then resume consumers and subscriptions.
        this.exchanges.clear();
        for (const spec of this.queues.values()) await this.declare(spec);
        for (const item of this.live) await item.restart();
        this.lost = false;
        this.emit({ type: 'reconnected' });
        return;
      } catch {
        // Still down: try again later.
      }
    }
  }

  private publishChannel(): Promise<Channel | ConfirmChannel> {
    this.publisher ??= this.open().then(async (model) => {
      const channel = this.options.confirmPublish ? await model.createConfirmChannel() : await model.createChannel();
      channel.on('error', () => undefined);
      channel.on('close', () => {
        this.publisher = null;
      });
      return channel;
    });
    return this.publisher;
  }

  // -------------------------------------------------------------------------------------------
  // Declarations

  /** Declare (or find) the queue's exchange and the queue, and bind them. */
  private async declare(spec: QueueSpec): Promise<void> {
    const exchange = spec.exchange ?? spec.name;
    if (exchange) await this.ensureExchange(exchange, spec.exchangeDeclaration ?? { type: spec.exchangeType ?? 'direct', durable: true });
    const a = spec.attributes ?? {};
    const exists = await this.withScratchChannel(async (ch) => (await ch.checkQueue(spec.name), true), false);
    if (!exists) {
      await this.withChannel((ch) =>
        ch.assertQueue(spec.name, { durable: a.durable ?? true, autoDelete: a.autoDelete ?? false, exclusive: a.exclusive ?? false, arguments: a.arguments }),
      );
      if (a.arguments?.['x-queue-type'] === 'quorum') this.quorum.add(spec.name);
    } else if (await this.probeQuorum(spec.name)) {
      this.quorum.add(spec.name);
    }
    if (exchange) await this.withChannel((ch) => ch.bindQueue(spec.name, exchange, spec.routingKey ?? spec.name));
  }

  declareNativeDelayedDelivery(queueType: DelayedQueueType): Promise<void> {
    if (this.exchanges.has(`delayed:${queueType}`)) return Promise.resolve();
    return this.once(`delayed:${queueType}`, async () => {
      // kombu/transport/native_delayed_delivery.py `declare_native_delayed_delivery_exchanges_and_queues`.
      const plan = delayedTopology(queueType);
      for (const level of plan.levels) {
        await this.ensureExchange(level.name, { type: 'topic', durable: true });
        const exists = await this.withScratchChannel(async (ch) => (await ch.checkQueue(level.name), true), false);
        if (!exists) await this.withChannel((ch) => ch.assertQueue(level.name, { durable: true, arguments: level.arguments }));
      }
      await this.ensureExchange(plan.deliveryExchange, { type: 'topic', durable: true });
      await this.withChannel(async (ch) => {
        for (const level of plan.levels) await ch.bindQueue(level.name, level.name, level.routingKey);
        for (const b of plan.bindings) await ch.bindExchange(b.destination, b.source, b.routingKey);
      });
      // Remembered beside the exchanges: a reconnect forgets both and declares again on demand.
      this.exchanges.add(`delayed:${queueType}`);
    });
  }

  async bindNativeDelayedDelivery(queues: QueueSpec[], queueType: DelayedQueueType): Promise<string[]> {
    await this.declareNativeDelayedDelivery(queueType);
    const { deliveryExchange } = delayedTopology(queueType);
    const skipped: string[] = [];
    for (const spec of queues) {
      const exchange = spec.exchange ?? spec.name;
      const key = exchange ? delayedBindingKey(spec.exchangeType ?? 'direct', spec.routingKey ?? spec.name) : null;
      if (key === null) {
        skipped.push(spec.name);
        continue;
      }
      await this.withChannel(async (ch) => {
        await ch.bindExchange(exchange, deliveryExchange, key);
        await ch.bindQueue(spec.name, exchange, key);
      });
    }
    return skipped;
  }

  /**
   * Whether an existing queue is quorum. AMQP does not report a queue's arguments, but RabbitMQ
   * checks them on a re-declaration: declaring it again as quorum succeeds only if it is one,
   * and otherwise fails (closing only the scratch channel) naming the `x-queue-type` mismatch.
   * Any other mismatch (say an `x-max-length` the owner set) leaves the answer open: no here,
   * and the consumer still switches to per-consumer QoS if RabbitMQ refuses the global one.
   */
  private async probeQuorum(queue: string): Promise<boolean> {
    try {
      await this.withChannel((ch) => ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } }));
      return true;
    } catch (error) {
      // 406 is the mismatch; an exclusive queue of another connection answers 405: not quorum either.
      if (typeof (error as { code?: number }).code === 'number') return false;
      throw error;
    }
  }

  async ensureExchange(name: string, declaration: ExchangeDeclaration): Promise<void> {
    // The default exchange and amq.* always exist and cannot be declared.
    if (!name || name.startsWith('amq.') || this.exchanges.has(name)) return;
    await this.once(`exchange:${name}`, async () => {
      const exists = await this.withScratchChannel(async (ch) => (await ch.checkExchange(name), true), false);
      if (!exists) await this.withChannel((ch) => ch.assertExchange(name, declaration.type, { durable: declaration.durable, autoDelete: false }));
      this.exchanges.add(name);
    });
  }

  /** Run `work` once for `key` at a time; callers arriving meanwhile wait for the same run. */
  private once(key: string, work: () => Promise<void>): Promise<void> {
    let running = this.pending.get(key);
    if (!running) {
      running = work().finally(() => this.pending.delete(key));
      this.pending.set(key, running);
    }
    return running;
  }

  /** Run one operation on a short-lived channel. */
  private async withChannel<T>(op: (ch: Channel) => Promise<T>): Promise<T> {
    const ch = await this.newChannel();
    try {
      return await op(ch);
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  /** As withChannel, where "not found" (which closes the channel) is an answer: `missing`. */
  private async withScratchChannel<T>(op: (ch: Channel) => Promise<T>, missing: T): Promise<T> {
    try {
      return await this.withChannel(op);
    } catch (error) {
      if ((error as { code?: number }).code === NOT_FOUND) return missing;
      throw error;
    }
  }

  emit(event: TransportEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own.
      }
    }
  }
}

/** A consumer's channel and the QoS mode it was opened with. */
interface ConsumerChannel {
  channel: Channel;
  acks: AckBatcher;
  /** Channel-global prefetch (classic queues) or per consumer (quorum queues). */
  global: boolean;
  /** False once the channel closed: RabbitMQ has requeued its unacked deliveries. */
  open: boolean;
}

/**
 * One consumer: its own channel, a consumer tag per queue. The prefetch is channel-global unless
 * a queue is quorum; then, as Celery does (`Tasks.qos_global`), it is per consumer for all of the
 * consumer's queues. A quorum queue added later to a global channel gets a per-consumer channel
 * of its own, so consumers that are running keep their deliveries.
 */
class AmqpConsumer implements Consumer, Restartable {
  private readonly channels: ConsumerChannel[] = [];
  private generation = -1;
  private readonly tags = new Map<string, { tag: string; on: ConsumerChannel }>();
  private active = true;
  private tagSeq = 0;

  constructor(
    private readonly transport: AmqpTransport,
    private readonly names: string[],
    private prefetch: number,
    private readonly detectQuorum: boolean,
    private readonly onDelivery: (delivery: Delivery) => void,
  ) {}

  get queues(): readonly string[] {
    return [...this.names];
  }

  async restart(): Promise<void> {
    if (!this.active) return;
    this.tags.clear();
    this.channels.length = 0;
    this.generation = this.transport.generation;
    const global = !(this.detectQuorum && this.names.some((q) => this.transport.isQuorum(q)));
    const on = await this.openChannel(global);
    // A quorum queue we could not tell apart (see AmqpTransport.probeQuorum) makes RabbitMQ close
    // the connection (540, naming the queue): AmqpTransport.onClosed remembers the queue as
    // quorum, and the reconnect restarts this consumer with per-consumer QoS.
    for (const queue of this.names) await this.subscribe(queue, on);
  }

  setPrefetch(prefetch: number): void {
    this.prefetch = prefetch;
    // Per consumer, RabbitMQ applies a new basic.qos to consumers started after it only: the
    // window of running ones stays (Celery: "Prefetch count is now static"; kombu `QoS.update`).
    for (const on of this.channels) if (on.open) void on.channel.prefetch(prefetch, on.global).catch(() => undefined);
  }

  addQueue(queue: string): void {
    if (this.names.includes(queue)) return;
    this.names.push(queue);
    if (this.channels.length) void this.subscribeAnywhere(queue).catch(() => undefined);
  }

  removeQueue(queue: string): void {
    const i = this.names.indexOf(queue);
    if (i >= 0) this.names.splice(i, 1);
    const entry = this.tags.get(queue);
    this.tags.delete(queue);
    if (entry) void entry.on.channel.cancel(entry.tag).catch(() => undefined);
  }

  async cancel(): Promise<void> {
    this.active = false;
    for (const on of this.channels) on.acks.flush();
    for (const { tag, on } of this.tags.values()) await on.channel.cancel(tag).catch(() => undefined);
    this.tags.clear();
  }

  private async openChannel(global: boolean): Promise<ConsumerChannel> {
    const channel = await this.transport.newChannel();
    const on: ConsumerChannel = { channel, acks: new AckBatcher(channel), global, open: true };
    channel.on('close', () => {
      on.open = false;
    });
    this.channels.push(on);
    await channel.prefetch(this.prefetch, global);
    return on;
  }

  /** A queue added while consuming: on a channel of the QoS mode it needs. */
  private async subscribeAnywhere(queue: string): Promise<void> {
    const global = !(this.detectQuorum && this.transport.isQuorum(queue));
    const on = this.channels.find((c) => c.open && c.global === global) ?? (await this.openChannel(global));
    await this.subscribe(queue, on);
  }

  private async subscribe(queue: string, on: ConsumerChannel): Promise<void> {
    const generation = this.generation;
    const { consumerTag } = await on.channel.consume(queue, (msg) => msg && this.deliver(on, generation, msg, queue), { noAck: false });
    this.tags.set(queue, { tag: consumerTag, on });
  }

  private deliver(on: ConsumerChannel, generation: number, msg: ConsumeMessage, queue: string): void {
    const { message, info } = fromAmqp(msg, queue);
    on.acks.received(msg.fields.deliveryTag);
    this.onDelivery(new AmqpDelivery(this.transport, on, generation, ++this.tagSeq, msg, message, info));
  }
}

/**
 * One delivery of a consumer channel. A class, not an object of closures: one allocation per
 * message on the worker's hottest path. Settling a delivery of a channel that is gone is a no-op:
 * RabbitMQ requeued it already.
 */
class AmqpDelivery implements Delivery {
  private settled = false;

  constructor(
    private readonly transport: AmqpTransport,
    private readonly on: ConsumerChannel,
    private readonly generation: number,
    private readonly seq: number,
    private readonly msg: ConsumeMessage,
    readonly message: Message,
    readonly info: DeliveryInfo,
  ) {}

  get stale(): boolean {
    return this.generation !== this.transport.generation || !this.on.open;
  }

  /** Unique within the process: connection generation, consumer sequence, channel delivery tag. */
  get deliveryTag(): string {
    return `${this.generation}.${this.seq}.${this.msg.fields.deliveryTag}`;
  }

  ack(): Promise<void> {
    if (this.settle()) this.on.acks.ack(this.msg.fields.deliveryTag);
    return Promise.resolve();
  }

  reject({ requeue }: { requeue: boolean }): Promise<void> {
    if (this.settle()) this.sendAtOnce(() => this.on.channel.reject(this.msg, requeue));
    return Promise.resolve();
  }

  restore(): Promise<void> {
    if (this.settle()) this.sendAtOnce(() => this.on.channel.nack(this.msg, false, true));
    return Promise.resolve();
  }

  private sendAtOnce(send: () => void): void {
    try {
      this.on.acks.settledOtherwise(this.msg.fields.deliveryTag, send);
    } catch {
      // The channel closed under us: RabbitMQ requeued the delivery.
    }
  }

  /** True when this call settles the delivery and its channel is still the live one. */
  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    return !this.stale;
  }
}

/**
 * The queue named by RabbitMQ's connection close when global QoS meets a quorum queue:
 * "NOT_IMPLEMENTED - queue 'jobs' in vhost '/' does not support global qos".
 */
function globalQosRefusedOn(error: unknown): string | null {
  if ((error as { code?: number } | undefined)?.code !== NOT_IMPLEMENTED) return null;
  return /queue '(.*)' in vhost '.*' does not support global qos/.exec((error as Error).message ?? '')?.[1] ?? null;
}

/**
 * A fanout/topic subscription: the given queue (a worker's pidbox queue, an event receiver's
 * queue) or a server-named exclusive one, bound with the pattern and consumed without acks, as
 * kombu consumes the pidbox and the event stream.
 */
class AmqpSubscription implements Restartable {
  private channel: Channel | null = null;

  constructor(
    private readonly transport: AmqpTransport,
    private readonly exchange: string,
    private readonly pattern: string,
    private readonly onMessage: (message: Message, routingKey: string) => void,
    private readonly options: FanoutOptions,
  ) {}

  async restart(): Promise<void> {
    const { exchangeDeclaration, queue } = this.options;
    await this.transport.ensureExchange(this.exchange, exchangeDeclaration ?? { type: 'fanout', durable: true });
    const channel = await this.transport.newChannel();
    this.channel = channel;
    const a = queue?.attributes ?? {};
    const declared = queue
      ? await channel.assertQueue(queue.name, { durable: a.durable ?? false, autoDelete: a.autoDelete ?? true, exclusive: a.exclusive ?? true, arguments: a.arguments })
      : await channel.assertQueue('', { exclusive: true, autoDelete: true });
    await channel.bindQueue(declared.queue, this.exchange, this.pattern);
    await channel.consume(declared.queue, (msg) => msg && this.onMessage(fromAmqp(msg, declared.queue).message, msg.fields.routingKey), { noAck: true });
  }

  async close(): Promise<void> {
    const channel = this.channel;
    this.channel = null;
    await channel?.close().catch(() => undefined);
  }
}
