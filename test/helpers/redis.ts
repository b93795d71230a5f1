// Isolation for tests that talk to the real Redis: every test file gets a unique key prefix
// (kombu's global_keyprefix) and unique names, so files run in parallel on one server.
// Dbs 5–9 belong to tools/wire-capture (it flushes them); tests use 10–15.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_HOST = process.env.TEST_REDIS_HOST ?? '127.0.0.1';
export const REDIS_PORT = Number(process.env.TEST_REDIS_PORT ?? 6379);

/** A short unique token for names in one test file: `t<hex>`. */
export function uniqueToken(): string {
  return `t${randomBytes(4).toString('hex')}`;
}

/** `redis://127.0.0.1:6379/<db>` with db in 10..15. */
export function testRedisUrl(db = 12): string {
  if (db < 10 || db > 15) throw new Error(`test Redis db must be 10..15, got ${db}`);
  return `redis://${REDIS_HOST}:${REDIS_PORT}/${db}`;
}

/** Delete every key under the given prefixes on `url` (a test's own keys, in `after`). */
export async function deleteKeys(url: string, ...prefixes: string[]): Promise<void> {
  const redis = new Redis(url);
  try {
    const keys = (await Promise.all(prefixes.map((p) => redis.keys(`${p}*`)))).flat();
    if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}
