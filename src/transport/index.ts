// createTransport(url): the broker URL's scheme picks the Transport implementation, as kombu's
// transport aliases do (kombu/transport/__init__.py TRANSPORT_ALIASES).
import { ConfigError } from '../errors.js';
import { maskUrl, urlScheme } from '../url-mask.js';
import type { AmqpBrokerSettings } from './amqp/amqp-options.js';
import { AmqpTransport } from './amqp/amqp-transport.js';
import { MemoryTransport } from './memory.js';
import { RedisTransport } from './redis/redis-transport.js';
import { REDIS_URL_SCHEMES } from './redis/connection-url.js';
import type { Transport } from './transport.js';

export { AmqpTransport } from './amqp/amqp-transport.js';
export { MemoryTransport } from './memory.js';
export { parseRedisUrl, parseRedisTransportOptions, type RedisConnectionOptions, type RedisTransportOptions } from './redis/options.js';
export { RedisTransport } from './redis/redis-transport.js';
export type * from './transport.js';

/**
 * Build the transport for a broker URL; `options` are Celery's `broker_transport_options`.
 *
 * @example
 * const transport = createTransport('redis://localhost:6379/0', { visibility_timeout: 7200 });
 */
export function createTransport(
  url: string,
  options: Record<string, unknown> = {},
  /** `broker_failover_strategy`, `broker_use_ssl` (RabbitMQ: py-amqp's ssl dict; Redis: ssl_* settings; or true), `broker_heartbeat` (RabbitMQ). */
  settings: AmqpBrokerSettings = {},
): Transport {
  const useSsl = settings.useSsl as Record<string, unknown> | boolean | null | undefined;
  const scheme = urlScheme(url);
  if (scheme && REDIS_URL_SCHEMES.has(scheme)) return new RedisTransport(url, options, { useSsl: useSsl ?? null });
  switch (scheme) {
    case 'memory':
      return new MemoryTransport(options);
    case 'amqp':
    case 'amqps':
    case 'pyamqp':
      return new AmqpTransport(url, options, settings);
    default:
      throw new ConfigError(`broker_url ${maskUrl(url)}: unknown transport scheme '${scheme ?? url}' (supported: redis://, rediss://, sentinel://, redis+socket://, unix://, amqp://, amqps://, pyamqp://, memory://)`);
  }
}
