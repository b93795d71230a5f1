// `broker_transport_options` validation shared by the transports: an unknown name is an error
// with the closest known one, a bad value names the option and what was given. Options of the
// other broker are accepted and ignored, as kombu ignores them: one config serves a Redis and a
// RabbitMQ deployment (a Redis config with `global_keyprefix`, its broker switched to amqp://).
import type { z } from 'zod';
import { didYouMean } from '../did-you-mean.js';
import { ConfigError } from '../errors.js';

/** kombu's option names for the Redis and py-amqp transports (and Celery's publish retry policy). */
const KOMBU_TRANSPORT_OPTIONS = [
  'visibility_timeout', 'sep', 'priority_steps', 'queue_order_strategy', 'fanout_prefix', 'fanout_patterns',
  'global_keyprefix', 'ack_emulation', 'unacked_key', 'unacked_index_key', 'unacked_mutex_key', 'unacked_mutex_expire',
  'unacked_restore_limit', 'unacked_restore_interval', 'unacked_restore_throttle', 'brpop_timeout', 'polling_interval',
  'socket_timeout', 'socket_connect_timeout', 'socket_keepalive', 'socket_keepalive_options', 'client_name', 'body_encoding',
  'deadletter_queue', 'max_connections', 'health_check_interval', 'retry_on_timeout', 'reauth_check_interval',
  'sentinel_fanout_compat', 'master_name', 'sentinel_kwargs', 'min_other_sentinels',
  'confirm_publish', 'connect_timeout', 'heartbeat', 'read_timeout', 'write_timeout', 'client_properties', 'login_method',
  'max_retries', 'interval_start', 'interval_step', 'interval_max',
];

export function validateTransportOptions<S extends z.ZodObject>(schema: S, raw: Record<string, unknown>, broker: string): z.output<S> {
  const known = Object.keys(schema.shape);
  const mine: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (known.includes(name)) mine[name] = value;
    else if (!KOMBU_TRANSPORT_OPTIONS.includes(name)) {
      throw new ConfigError(`broker_transport_options: unknown option '${name}' for ${broker}${didYouMean(name, KOMBU_TRANSPORT_OPTIONS)}`);
    }
  }
  const parsed = schema.safeParse(mine);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? '');
    throw new ConfigError(`broker_transport_options.${name} ${issue.message}, got ${JSON.stringify(raw[name])}`);
  }
  return parsed.data;
}
