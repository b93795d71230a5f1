// Celery's `celery.backend_cleanup` (celery/app/builtins.py `add_backend_cleanup_task`): the
// built-in task that deletes expired results from a store that does not expire them itself (the
// database backends; a no-op elsewhere), and the entry beat adds for it: daily at 04:00 in the
// app's time zone, its message expiring after 12 h, whenever `result_expires` is set and the
// result backend does not expire results on its own — no backend at all included, as Celery's
// DisabledBackend has `supports_autoexpire = False` (celery/beat.py `Scheduler.install_default_entries`).
import { REDIS_URL_SCHEMES } from '../transport/redis/options.js';
import { urlScheme } from '../url-mask.js';

export const BACKEND_CLEANUP_TASK = 'celery.backend_cleanup';

/** The entry beat adds under the task's own name (a `beat_schedule` entry of that name wins). */
export const BACKEND_CLEANUP_ENTRY = {
  task: BACKEND_CLEANUP_TASK,
  schedule: { crontab: { minute: '0', hour: '4' } },
  options: { expires: 12 * 3600 },
} as const;

// `supports_autoexpire = True`: RedisBackend (key TTLs), RPCBackend (messages), CacheBackend (memory://).
const SELF_EXPIRING: ReadonlySet<string> = new Set([...REDIS_URL_SCHEMES, 'rpc', 'memory']);

/** Whether beat adds `celery.backend_cleanup` for this `result_backend` and `result_expires`. */
export function needsBackendCleanup(resultBackend: string | null | undefined, resultExpires: number | null): boolean {
  if (!resultExpires) return false;
  if (!resultBackend || resultBackend === 'disabled' || resultBackend === 'disabled://') return true;
  return !SELF_EXPIRING.has(urlScheme(resultBackend, { slashes: false }) ?? '');
}
