// Where celery-redbeat keeps its state (redbeat/schedulers.py get_redis): `redbeat_redis_url`
// (default: the broker), or Redis Sentinel as RedBeat spells it — a `redis-sentinel://` URL with
// `redbeat_redis_options = {sentinels: [[host, port], …], service_name, password, db,
// sentinel_kwargs}`.
import type { RedisOptions } from 'ioredis';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { parseRedisUrl } from '../transport/redis/options.js';

const sentinelOptions = z.looseObject({
  sentinels: z.array(z.tuple([z.string().min(1), z.number().int().positive()])).min(1),
  service_name: z.string().min(1).default('master'),
  password: z.string().optional(),
  username: z.string().optional(),
  db: z.number().int().nonnegative().default(0),
  sentinel_kwargs: z.looseObject({ password: z.string().optional(), username: z.string().optional() }).optional(),
});

export function redbeatConnection(url: string | undefined | null, redisOptions: Record<string, unknown>): RedisOptions {
  if (url && /^redis-sentinel:\/\//i.test(url)) {
    const parsed = sentinelOptions.safeParse(redisOptions);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ConfigError(`redbeat_redis_options.${issue.path.join('.') || 'sentinels'} ${issue.message.toLowerCase()} (a redis-sentinel:// redbeat_redis_url needs sentinels: [[host, port], …])`);
    }
    const o = parsed.data;
    return {
      sentinels: o.sentinels.map(([host, port]) => ({ host, port })),
      name: o.service_name,
      db: o.db,
      ...(o.username ? { username: o.username } : {}),
      ...(o.password ? { password: o.password } : {}),
      ...(o.sentinel_kwargs?.username ? { sentinelUsername: o.sentinel_kwargs.username } : {}),
      ...(o.sentinel_kwargs?.password ? { sentinelPassword: o.sentinel_kwargs.password } : {}),
    };
  }
  const needsRedis = 'the redbeat scheduler needs a Redis URL: set redbeat_redis_url (or --redbeat-url)';
  if (!url) throw new ConfigError(`${needsRedis}; the broker is not set`);
  try {
    return parseRedisUrl(url);
  } catch (error) {
    // parseRedisUrl knows which schemes are Redis; add what to set to its reason.
    throw new ConfigError(`${needsRedis}; ${(error as Error).message}`);
  }
}
