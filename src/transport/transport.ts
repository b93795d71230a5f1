// The broker abstraction: AMQP-shaped verbs that know nothing about tasks. Implemented by
// RedisTransport (kombu-compatible), MemoryTransport and AmqpTransport (RabbitMQ).
import type { DeliveryInfo, Message } from '../protocol/message.js';

export type ExchangeType = 'direct' | 'topic' | 'fanout';

/**
 * How a broker with real exchanges (RabbitMQ) declares one — kombu's `Exchange(type, durable)`.
 * It can differ from the routing type a Redis transport emulates (`celeryev` is a topic exchange
 * on RabbitMQ, a PUB/SUB fanout on Redis). Redis and memory transports ignore it.
 */
export interface ExchangeDeclaration {
  type: ExchangeType;
  durable: boolean;
}

/** Queue attributes for brokers with real queues (RabbitMQ), as kombu's `Queue` carries them. */
export interface QueueAttributes {
  /** Default true (Celery's task queues). */
  durable?: boolean;
  autoDelete?: boolean;
  exclusive?: boolean;
  /** `x-message-ttl`, `x-expires`, `x-max-priority`, `x-queue-type`… */
  arguments?: Record<string, unknown>;
}

/** A queue and the exchange binding that feeds it (kombu's `Queue(name, Exchange(...), routing_key)`). */
export interface QueueSpec {
  name: string;
  /** Defaults to the queue name (Celery's automatic queues: a direct exchange of the same name). */
  exchange?: string;
  exchangeType?: ExchangeType;
  /** Defaults to the queue name. */
  routingKey?: string;
  /** Default: a durable exchange of `exchangeType`. */
  exchangeDeclaration?: ExchangeDeclaration;
  attributes?: QueueAttributes;
}

export interface PublishTarget {
  /** `''` = the default exchange: the routing key names the queue. */
  exchange: string;
  routingKey: string;
  /** The exchange's type as this publisher knows it (kombu: unknown named exchanges are direct). */
  exchangeType?: ExchangeType;
  /** Default: a durable exchange of `exchangeType`. */
  exchangeDeclaration?: ExchangeDeclaration;
}

export interface FanoutOptions {
  /** How to declare the exchange (RabbitMQ). */
  exchangeDeclaration?: ExchangeDeclaration;
  /**
   * The queue to receive through on brokers with real queues (a worker's pidbox queue, an event
   * receiver's `celeryev.<id>`); Redis listens on PUB/SUB and ignores it.
   */
  queue?: QueueSpec;
}

/** One fetched message. Exactly one of ack/reject/restore settles it; later calls are no-ops. */
export interface Delivery {
  readonly message: Message;
  readonly info: DeliveryInfo;
  /** Unique per published message (kombu's `delivery_tag`); the unacked-hash field on Redis. */
  readonly deliveryTag: string;
  ack(): Promise<void>;
  /**
   * Without requeue the message is gone; with requeue it goes back to its queue — at the back on
   * Redis (kombu), where RabbitMQ puts it (near the front) on AMQP.
   */
  reject(options: { requeue: boolean }): Promise<void>;
  /** Put the message back at the front of its queue, marked redelivered (kombu's restore on close). */
  restore(): Promise<void>;
  /**
   * True once the delivery died with its connection (RabbitMQ): the broker has requeued it and
   * will deliver it again, so it must not run here. Redis deliveries never go stale.
   */
  readonly stale?: boolean;
}

export interface ConsumeOptions {
  /** Maximum number of unsettled deliveries; 0 = unlimited. */
  prefetch: number;
  /**
   * Bytes a message may take on the wire (a Redis envelope's JSON text, base64 body included).
   * A larger one is never decoded: it is removed from the broker (a reject without requeue) and
   * reported as a `message-too-large` event. Unset = no limit here (the worker still checks bodies).
   */
  maxMessageSize?: number;
  /**
   * RabbitMQ: consume quorum queues with per-consumer prefetch (Celery's
   * `worker_detect_quorum_queues`, default true); other brokers ignore it.
   */
  detectQuorumQueues?: boolean;
}

export interface Consumer {
  readonly queues: readonly string[];
  /** Change the prefetch window (the worker raises it by one per held ETA message). */
  setPrefetch(prefetch: number): void;
  /** Start consuming another queue. */
  addQueue(queue: string): void;
  /** Stop consuming a queue. */
  removeQueue(queue: string): void;
  /** Stop fetching. Unsettled deliveries stay with the caller. */
  cancel(): Promise<void>;
}

export interface FanoutSubscription {
  close(): Promise<void>;
}

/** Status the transport reports to whoever composes it (the worker logs these). */
export type TransportEvent =
  | { type: 'connection-lost'; error: Error }
  | { type: 'reconnected' }
  /**
   * A message that cannot be delivered and is gone: published to a named exchange nobody is bound
   * to (kombu only warns), or fetched but undecodable (removed from the broker's unacked
   * bookkeeping too, since it can never become a Delivery). `raw` is the wire text when known;
   * `taskId` is set for a fetched, undecodable task message whose id could still be read.
   */
  | { type: 'message-dropped'; reason: string; raw: string; taskId?: string | null }
  | { type: 'restored'; count: number }
  /**
   * A message over `ConsumeOptions.maxMessageSize`, removed undecoded; `correlationId` (Celery:
   * the task id) when it could be read cheaply from the envelope's end.
   */
  | { type: 'message-too-large'; queue: string; size: number; limit: number; correlationId: string | null };

export interface Transport {
  /**
   * Connect, or verify the connection is up; rejects with a TransportError naming the broker
   * (password masked) when it cannot be reached within `timeoutMs`. Used by the CLI at start-up.
   */
  connect(timeoutMs?: number): Promise<void>;
  /** Declare a queue with its exchange and binding (idempotent; cached per transport). */
  declareQueue(spec: QueueSpec): Promise<void>;
  publish(message: Message, target: PublishTarget): Promise<void>;
  consume(queues: string[], options: ConsumeOptions, onDelivery: (delivery: Delivery) => void): Consumer;
  /** Receive messages published to a fanout exchange; `routingKeyPattern` may use `*`/`#`. */
  subscribeFanout(
    exchange: string,
    routingKeyPattern: string,
    onMessage: (message: Message, routingKey: string) => void,
    options?: FanoutOptions,
  ): Promise<FanoutSubscription>;
  /**
   * Delete a queue: its binding and its messages (kombu's `queue_delete`; clients remove their
   * auto-delete reply queues this way, and a worker its pidbox queue at shutdown).
   */
  deleteQueue(spec: QueueSpec): Promise<void>;
  /** Delete every message of the queue; returns how many there were. */
  purge(queue: string): Promise<number>;
  /** Number of messages waiting in the queue (all priority levels). */
  queueSize(queue: string): Promise<number>;
  /** RabbitMQ: whether a declared queue is quorum (declared so, or found so). Others: absent. */
  isQuorum?(queue: string): boolean;
  /**
   * RabbitMQ: declare kombu's native delayed delivery exchanges and queues (once per transport;
   * entities that exist are used as they are). Others: absent.
   */
  declareNativeDelayedDelivery?(queueType: 'classic' | 'quorum'): Promise<void>;
  /**
   * RabbitMQ: the topology, then each queue's exchange bound to the delivery exchange and the
   * queue to its exchange (kombu `bind_queue_to_native_delayed_delivery_exchange`). Returns the
   * queues left out because their exchange is direct (kombu warns about those).
   */
  bindNativeDelayedDelivery?(queues: QueueSpec[], queueType: 'classic' | 'quorum'): Promise<string[]>;
  /** Subscribe to status events (connection lost/restored, dropped messages). */
  onEvent(listener: (event: TransportEvent) => void): void;
  /** Restore every unsettled delivery to the front of its queue, then disconnect. */
  close(): Promise<void>;
}
