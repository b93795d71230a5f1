// broker_transport_options for the Redis transport, under kombu's own names and defaults
// (kombu/transport/redis.py `Channel.from_transport_options`).
import { z } from 'zod';
import { validateTransportOptions } from '../transport-options.js';
import { DEFAULT_PRIORITY_STEPS } from './priority.js';

export { parseRedisUrl, REDIS_URL_SCHEMES, type RedisConnectionOptions } from './connection-url.js';

/** The validated options, camelCased once here (snake_case ⇄ camelCase in one place per boundary). */
export interface RedisTransportOptions {
  /** Seconds a fetched, unacked message may stay unacked before any consumer restores it. */
  visibilityTimeout: number;
  sep: string;
  prioritySteps: number[];
  queueOrderStrategy: 'round_robin' | 'sorted' | 'priority';
  fanoutPrefix: boolean | string;
  fanoutPatterns: boolean;
  globalKeyprefix: string;
  unackedKey: string;
  unackedIndexKey: string;
  unackedMutexKey: string;
  /** Seconds the restore lock lives. */
  unackedMutexExpire: number;
  unackedRestoreLimit: number | null;
  /** Seconds between restore attempts (kombu ≥5.7 default 10). */
  unackedRestoreInterval: number;
  /** Only every Nth attempt scans (kombu default 10): a sweep every interval × throttle ≈ 100 s. */
  unackedRestoreThrottle: number;
  /** Seconds one BRPOP waits (kombu: `brpop_timeout`, else `polling_interval`, else 1). */
  brpopTimeout: number;
  /** Seconds a reply may be late before the connection counts as dead (unset: healthCheckInterval). */
  socketTimeout: number | null;
  socketConnectTimeout: number | null;
  socketKeepalive: boolean;
  /** Seconds an idle connection waits before a PING checks its path (kombu default 25; 0 = off). */
  healthCheckInterval: number;

  clientName: string | null;
  /** sentinel:// only: the monitored master's name and the sentinels' own credentials. */
  masterName: string | null;
  sentinelKwargs: Record<string, unknown>;
}

const seconds = z.number().positive();
const nullableSeconds = seconds.nullable().default(null);

// Every option kombu's Redis channel (and Celery's publish retry) reads. Options that only tune
// redis-py internals are accepted so a Python config reads across, and have no effect here.
const schema = z.strictObject({
  visibility_timeout: seconds.default(3600),
  sep: z.string().min(1).default('\x06\x16'),
  priority_steps: z
    .array(z.number().int().min(0).max(9))
    .min(1)
    .refine((s) => s.every((v, i) => i === 0 || v > s[i - 1]!), 'must be strictly ascending')
    .default([...DEFAULT_PRIORITY_STEPS]),
  queue_order_strategy: z.enum(['round_robin', 'sorted', 'priority']).default('round_robin'),
  fanout_prefix: z.union([z.boolean(), z.string()]).default(true),
  fanout_patterns: z.boolean().default(true),
  global_keyprefix: z.string().default(''),
  ack_emulation: z.literal(true, { error: 'only ack_emulation=True is supported' }).default(true),
  unacked_key: z.string().min(1).default('unacked'),
  unacked_index_key: z.string().min(1).default('unacked_index'),
  unacked_mutex_key: z.string().min(1).default('unacked_mutex'),
  unacked_mutex_expire: seconds.default(300),
  unacked_restore_limit: z.number().int().positive().nullable().default(null),
  unacked_restore_interval: seconds.default(10),
  unacked_restore_throttle: z.number().int().min(0).default(10),
  brpop_timeout: seconds.optional(),
  polling_interval: seconds.optional(),
  socket_timeout: nullableSeconds,
  socket_connect_timeout: nullableSeconds,
  socket_keepalive: z.boolean().nullable().default(null),
  socket_keepalive_options: z.unknown().optional(),
  client_name: z.string().nullable().default(null),
  body_encoding: z.literal('base64', { error: "only body_encoding='base64' is supported" }).optional(),
  deadletter_queue: z.unknown().optional(),
  max_connections: z.number().int().positive().optional(),
  health_check_interval: z.number().min(0).default(25),
  retry_on_timeout: z.boolean().nullable().optional(),
  reauth_check_interval: z.number().min(0).optional(),
  sentinel_fanout_compat: z.boolean().optional(),
  master_name: z.string().min(1).nullable().default(null),
  sentinel_kwargs: z.record(z.string(), z.unknown()).default({}),
  min_other_sentinels: z.number().int().min(0).optional(),
  // celery/app/amqp.py publish retry policy, read from broker_transport_options.
  max_retries: z.number().int().min(0).nullable().optional(),
  interval_start: z.number().min(0).optional(),
  interval_step: z.number().min(0).optional(),
  interval_max: z.number().min(0).optional(),
});

/**
 * Validate broker_transport_options; unknown names and bad values throw a ConfigError naming the
 * option (and, for a typo, the closest known name).
 */
export function parseRedisTransportOptions(raw: Record<string, unknown> = {}): RedisTransportOptions {
  const o = validateTransportOptions(schema, raw, 'Redis');
  return {
    visibilityTimeout: o.visibility_timeout,
    sep: o.sep,
    prioritySteps: o.priority_steps,
    queueOrderStrategy: o.queue_order_strategy,
    fanoutPrefix: o.fanout_prefix,
    fanoutPatterns: o.fanout_patterns,
    globalKeyprefix: o.global_keyprefix,
    unackedKey: o.unacked_key,
    unackedIndexKey: o.unacked_index_key,
    unackedMutexKey: o.unacked_mutex_key,
    unackedMutexExpire: o.unacked_mutex_expire,
    unackedRestoreLimit: o.unacked_restore_limit,
    unackedRestoreInterval: o.unacked_restore_interval,
    unackedRestoreThrottle: o.unacked_restore_throttle,
    // kombu Transport.__init__: polling_interval, when given, sets brpop_timeout.
    brpopTimeout: o.brpop_timeout ?? o.polling_interval ?? 1,
    socketTimeout: o.socket_timeout,
    socketConnectTimeout: o.socket_connect_timeout,
    socketKeepalive: o.socket_keepalive ?? false,
    healthCheckInterval: o.health_check_interval,
    clientName: o.client_name,
    masterName: o.master_name,
    sentinelKwargs: o.sentinel_kwargs,
  };
}
