// RabbitMQ native delayed delivery as kombu lays it out (kombu/transport/native_delayed_delivery.py,
// used by Celery >= 5.5 for ETA/countdown tasks when quorum queues are in use): 28 topic exchanges
// `celery_delayed_27` … `celery_delayed_0`, each with a queue whose message TTL is 2^level seconds
// dead-lettering into the next level, and a `celery_delayed_delivery` topic exchange at the end.
// A message's routing key spells its delay in 28 binary digits, then the real routing key; each
// level either parks it for 2^level s (digit 1) or passes it on (digit 0). Pure: the plan only,
// AmqpTransport carries it out.

export const MAX_LEVEL = 27;
const DELIVERY_EXCHANGE = 'celery_delayed_delivery';

export type DelayedQueueType = 'classic' | 'quorum';

/** kombu `level_name`: `celery_delayed_<level>`, or `<prefix>_celery_delayed_<level>` (newer kombu). */
export function levelName(level: number, prefix = ''): string {
  if (level < 0) throw new RangeError('level must be a non-negative number');
  return prefix ? `${prefix}_celery_delayed_${level}` : `celery_delayed_${level}`;
}

/** kombu `_celery_delayed_delivery_exchange`. */
export function deliveryExchangeName(prefix = ''): string {
  return prefix ? `${prefix}_${DELIVERY_EXCHANGE}` : DELIVERY_EXCHANGE;
}

/** kombu `calculate_routing_key`: the delay's 28 binary digits, dot-separated, then the routing key. */
export function calculateRoutingKey(countdown: number, routingKey: string): string {
  if (!Number.isInteger(countdown) || countdown < 1) throw new RangeError('countdown must be a positive number');
  if (!routingKey) throw new RangeError('routing_key must be non-empty');
  if (countdown >= 2 ** (MAX_LEVEL + 1)) throw new RangeError(`countdown must be below 2^${MAX_LEVEL + 1} seconds`);
  return `${[...countdown.toString(2).padStart(MAX_LEVEL + 1, '0')].join('.')}.${routingKey}`;
}

export interface DelayedLevel {
  /** The topic exchange and the queue of the same name. */
  name: string;
  /** The queue's arguments, exactly as kombu declares them. */
  arguments: Record<string, unknown>;
  /** The queue's binding to its exchange. */
  routingKey: string;
}

export interface ExchangeBinding {
  source: string;
  destination: string;
  routingKey: string;
}

export interface DelayedTopology {
  levels: DelayedLevel[];
  /** Exchange-to-exchange bindings: level n passes a 0 digit straight on to level n-1. */
  bindings: ExchangeBinding[];
  deliveryExchange: string;
}

/** kombu `declare_native_delayed_delivery_exchanges_and_queues`, as a plan (same order). */
export function delayedTopology(queueType: DelayedQueueType, prefix = ''): DelayedTopology {
  const levels: DelayedLevel[] = [];
  let routingKey = '1.#';
  for (let level = MAX_LEVEL; level >= 0; level--) {
    const args: Record<string, unknown> = {
      'x-queue-type': queueType,
      'x-overflow': 'reject-publish',
      'x-message-ttl': 2 ** level * 1000,
      'x-dead-letter-exchange': level > 0 ? levelName(level - 1, prefix) : deliveryExchangeName(prefix),
    };
    if (queueType === 'quorum') args['x-dead-letter-strategy'] = 'at-least-once';
    levels.push({ name: levelName(level, prefix), arguments: args, routingKey });
    routingKey = `*.${routingKey}`;
  }
  const bindings: ExchangeBinding[] = [];
  routingKey = '0.#';
  for (let level = MAX_LEVEL; level >= 1; level--) {
    bindings.push({ source: levelName(level, prefix), destination: levelName(level - 1, prefix), routingKey });
    routingKey = `*.${routingKey}`;
  }
  bindings.push({ source: levelName(0, prefix), destination: deliveryExchangeName(prefix), routingKey });
  return { levels, bindings, deliveryExchange: deliveryExchangeName(prefix) };
}

/**
 * kombu `bind_queue_to_native_delayed_delivery_exchange`: the queue's exchange is bound to the
 * delivery exchange and the queue to its exchange, both with `#.<routing key>` (a key starting
 * with `#` as it is). Null for a direct exchange, which kombu skips with a warning: ETA tasks
 * published there are held by the worker instead.
 */
export function delayedBindingKey(exchangeType: string, routingKey: string): string | null {
  if (exchangeType === 'direct') return null;
  return routingKey.startsWith('#') ? routingKey : `#.${routingKey}`;
}
