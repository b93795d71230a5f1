// Every exchange and queue name of the pidbox and the event stream, built in one place from
// `control_exchange` / `event_exchange` (kombu/pidbox.py `Mailbox.exchange_fmt`,
// `reply_exchange_fmt`, `get_queue`, `get_reply_queue`; celery/events/event.py `event_exchange`),
// with the attributes they are declared with on RabbitMQ (kombu/pidbox.py `Mailbox._get_exchange`,
// celery/app/control.py `Control.__init__`, celery/events/receiver.py `EventReceiver.__init__`).
import type { ExchangeDeclaration, QueueAttributes } from '../transport/transport.js';

/** kombu Mailbox `_get_exchange(type='fanout')`: non-durable. */
export const PIDBOX_EXCHANGE: ExchangeDeclaration = { type: 'fanout', durable: false };
/** kombu Mailbox `_get_reply_exchange`: non-durable direct. */
export const REPLY_EXCHANGE: ExchangeDeclaration = { type: 'direct', durable: false };
/** Celery's event exchange: a durable topic exchange. */
export const EVENT_EXCHANGE: ExchangeDeclaration = { type: 'topic', durable: true };

/**
 * Pidbox node and reply queues (Celery 5.6+ defaults): exclusive, auto-delete, `control_queue_ttl`
 * 300 s, `control_queue_expires` 10 s.
 */
export const PIDBOX_QUEUE: QueueAttributes = {
  durable: false,
  autoDelete: true,
  exclusive: true,
  arguments: { 'x-message-ttl': 300_000, 'x-expires': 10_000 },
};

/** An event receiver's queue: exclusive, auto-delete, `event_queue_ttl` 5 s, `event_queue_expires` 60 s. */
export const EVENT_QUEUE: QueueAttributes = {
  durable: false,
  autoDelete: true,
  exclusive: true,
  arguments: { 'x-message-ttl': 5_000, 'x-expires': 60_000 },
};

/** `<control_exchange>.pidbox`: the fanout exchange requests are broadcast on. */
export function pidboxExchange(namespace: string): string {
  return `${namespace}.pidbox`;
}

/** `reply.<control_exchange>.pidbox`: the direct exchange replies are published to. */
export function replyExchange(namespace: string): string {
  return `reply.${namespace}.pidbox`;
}

/** `<nodename>.<control_exchange>.pidbox`: a worker's own pidbox queue. */
export function nodeQueue(hostname: string, namespace: string): string {
  return `${hostname}.${namespace}.pidbox`;
}

/** `<oid>.reply.<control_exchange>.pidbox`: a client's reply queue (routing key = the oid). */
export function replyQueue(oid: string, namespace: string): string {
  return `${oid}.${replyExchange(namespace)}`;
}

/** `celeryev.<uuid>`: an event receiver's own queue (celery/events/receiver.py). */
export function eventQueue(exchange: string, id: string): string {
  return `${exchange}.${id}`;
}

/** Event type → routing key: `task-succeeded` → `task.succeeded` (celery/events/dispatcher.py). */
export function eventRoutingKey(type: string): string {
  return type.replaceAll('-', '.');
}
