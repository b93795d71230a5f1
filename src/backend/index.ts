// createBackend(url): the result_backend URL's scheme picks the ResultBackend implementation.
import { ConfigError } from '../errors.js';
import type { ChordCounter } from './chord-counter.js';
import { maskUrl, urlScheme } from '../url-mask.js';
import { DjangoBackend } from './django/django-backend.js';
import { MemoryBackend } from './memory.js';
import { RedisChordStore } from './redis/chord.js';
import { RedisBackend, type RedisBackendOptions } from './redis/redis-backend.js';
import type { ResultBackend } from './result-backend.js';
import { RpcBackend, type RpcBackendOptions } from './rpc/rpc-backend.js';
import { SqlaBackend, type SqlaBackendOptions } from './sqla/sqla-backend.js';
import type { Transport } from '../transport/transport.js';
import { REDIS_URL_SCHEMES } from '../transport/redis/options.js';

export { MemoryBackend } from './memory.js';
export { DjangoBackend, type DjangoBackendOptions } from './django/django-backend.js';
export { RpcBackend, type RpcBackendOptions } from './rpc/rpc-backend.js';
export { SqlaBackend, type SqlaBackendOptions } from './sqla/sqla-backend.js';
export { RedisBackend, type RedisBackendOptions } from './redis/redis-backend.js';
export { DEFAULT_RESULT_EXPIRES } from './result-expires.js';
export { ResultKeys } from './redis/keys.js';
export { RedisChordStore, type ChordEntry, type ChordPart, type ChordPartOutcome, type RedisChordStoreOptions } from './redis/chord.js';
export { CHORD_BACKENDS, type ChordCounter } from './chord-counter.js';
export { DjangoChordCounter } from './django/chord-counter.js';
export type * from './result-backend.js';

/**
 * The backend for a `result_backend` URL, or null when results are disabled (no URL, `''`,
 * `disabled`). `options` apply to Redis (`result_expires`, `global_keyprefix`); `django-db`
 * (django-celery-results' table) needs `options.databaseUrl` (the `database_url` setting);
 * `db+postgresql://…` / `db+mysql://…` / `db+sqlite:///…` is Celery's SQLAlchemy backend (`tableNames`,
 * `tableSchemas`: the `database_table_names` / `database_table_schemas` settings).
 * @example const backend = createBackend('redis://localhost:6379/1', { resultExpires: 3600 });
 */
export function createBackend(
  url: string | undefined | null,
  options: RedisBackendOptions & { databaseUrl?: string | null } & Pick<SqlaBackendOptions, 'tableNames' | 'tableSchemas'> = {},
  rpc?: { transport: () => Transport } & RpcBackendOptions,
): ResultBackend | null {
  if (!url || url === 'disabled' || url === 'disabled://') return null;
  // Celery's alias (celery/app/backends.py BACKEND_ALIASES): django_celery_results' DatabaseBackend.
  if (url === 'django-db') {
    if (!options.databaseUrl) throw new ConfigError("result_backend 'django-db' needs the Django database: set database_url, e.g. postgresql://user@host/db or mysql://user:password@host/db");
    return new DjangoBackend(options.databaseUrl, { resultExpires: options.resultExpires });
  }
  // Celery's SQLAlchemy DatabaseBackend: `db+<SQLAlchemy URL>` (celery/app/backends.py `by_url`),
  // or the aliases `db` / `database` with the URL in `database_url`.
  if (url.startsWith('db+') || url === 'db' || url === 'database') {
    const databaseUrl = url.startsWith('db+') ? url.slice('db+'.length) : options.databaseUrl;
    if (!databaseUrl) throw new ConfigError(`result_backend '${url}' needs the database: set database_url (e.g. postgresql://user@host/db), or use result_backend 'db+postgresql://…'`);
    return new SqlaBackend(databaseUrl, { tableNames: options.tableNames, tableSchemas: options.tableSchemas, resultExpires: options.resultExpires });
  }
  const scheme = urlScheme(url, { slashes: false });
  if (scheme && REDIS_URL_SCHEMES.has(scheme)) return new RedisBackend(url, options);
  switch (scheme) {
    case 'memory':
      return new MemoryBackend();
    case 'rpc':
      if (!rpc) throw new ConfigError('result_backend rpc:// needs the app (it sends results over the broker)');
      return new RpcBackend(rpc.transport, rpc);
    default:
      throw new ConfigError(`result_backend ${maskUrl(url)}: result backend '${scheme ?? url}' is not supported (use redis://, rediss://, sentinel://, redis+socket://, rpc://, django-db or db+postgresql:// / db+mysql://)`);
  }
}

/**
 * The chord counter of a result backend, or null when it keeps none (memory, rpc://, none).
 * `transportOptions`: `result_backend_transport_options` (Redis: `result_chord_ordered`).
 */
export function chordCounterFor(backend: ResultBackend | null, transportOptions: { result_chord_ordered?: unknown }): ChordCounter | null {
  if (backend instanceof RedisBackend) return RedisChordStore.forBackend(backend, { ordered: transportOptions.result_chord_ordered !== false });
  if (backend instanceof DjangoBackend) return backend.chordCounter();
  return null;
}

/**
 * Whether a backend without a chord counter joins chords the way Celery's BaseBackend does
 * (`apply_chord` → `fallback_chord_unlock`): the producer sends `celery.chord_unlock`, which polls
 * the header's results (canvas/chord-unlock.ts). Celery's SQLAlchemy DatabaseBackend is one; rpc://
 * refuses chords (`ensure_chords_allowed`), and the in-process memory backend is not shared.
 */
export function pollsChords(backend: ResultBackend | null): boolean {
  return backend instanceof SqlaBackend;
}
