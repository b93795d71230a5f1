// Every exchange and queue name of the pidbox and the event stream, built in one place from
// `control_exchange` / `event_exchange` (celery-wire.md §11.1, §12.1; kombu/pidbox.py
// `exchange_fmt`, `reply_exchange_fmt`, `get_queue`, `get_reply_queue`).

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
