// createBackend(url): the result_backend URL's scheme picks the ResultBackend implementation.
import { ConfigError } from '../errors.js';
import { maskUrl, urlScheme } from '../url-mask.js';
import { MemoryBackend } from './memory.js';
import { RedisBackend, type RedisBackendOptions } from './redis/redis-backend.js';
import type { ResultBackend } from './result-backend.js';

export { MemoryBackend } from './memory.js';
export { DEFAULT_RESULT_EXPIRES, RedisBackend, type RedisBackendOptions } from './redis/redis-backend.js';
export { ResultKeys } from './redis/keys.js';
export { RedisChordStore, type ChordEntry, type ChordPart, type ChordPartOutcome, type RedisChordStoreOptions } from './redis/chord.js';
export type * from './result-backend.js';

/**
 * The backend for a `result_backend` URL, or null when results are disabled (no URL, `''`,
 * `disabled`). `options` apply to Redis (`result_expires`, `global_keyprefix`).
 * @example const backend = createBackend('redis://localhost:6379/1', { resultExpires: 3600 });
 */
export function createBackend(url: string | undefined | null, options: RedisBackendOptions = {}): ResultBackend | null {
  if (!url || url === 'disabled' || url === 'disabled://') return null;
  const scheme = urlScheme(url, { slashes: false });
  switch (scheme) {
    case 'redis':
    case 'rediss':
    case 'redis+socket':
    case 'unix':
    case 'sentinel':
      return new RedisBackend(url, options);
    case 'memory':
      return new MemoryBackend();
    default:
      throw new ConfigError(`result_backend ${maskUrl(url)}: result backend '${scheme ?? url}' is not supported (use redis://, rediss://, sentinel:// or redis+socket://)`);
  }
}
