// Result writes while the backend is unreachable, as celery/backends/base.py
// `Backend._ensure_retryable` does them: with `result_backend_always_retry`, a connection error is
// retried up to `result_backend_max_retries` times, sleeping a full-jitter exponential backoff
// (celery/utils/time.py `get_exponential_backoff_interval(base, retries, max, full_jitter=True)`)
// and logging each attempt; otherwise, or once the retries are spent, the write fails
// (BackendStoreError "failed to store result on the backend").
import { BackendStoreError, BackendUnavailable } from '../errors.js';
import type { TaskMeta } from '../protocol/result-meta.js';
import type { ResultBackend, ResultDestination } from './result-backend.js';

export interface StoreRetryPolicy {
  /** `result_backend_always_retry`. */
  alwaysRetry: boolean;
  /** `result_backend_max_retries` (null = unlimited, Celery's infinity). */
  maxRetries: number | null;
  /** `result_backend_base_sleep_between_retries_ms`. */
  baseSleepMs: number;
  /** `result_backend_max_sleep_between_retries_ms`. */
  maxSleepMs: number;
}

export interface StoreRetryDeps {
  warn: (message: string) => void;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** celery/utils/time.py `get_exponential_backoff_interval(..., full_jitter=True)`, in ms. */
export function backoffMs(policy: StoreRetryPolicy, retries: number, random: () => number = Math.random): number {
  const countdown = Math.min(policy.maxSleepMs, policy.baseSleepMs * 2 ** retries);
  return Math.max(0, Math.floor(random() * (countdown + 1)));
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function storeWithRetry(
  backend: ResultBackend,
  meta: TaskMeta,
  destination: ResultDestination | undefined,
  policy: StoreRetryPolicy,
  deps: StoreRetryDeps,
): Promise<boolean> {
  const limit = policy.maxRetries ?? Infinity;
  for (let retries = 0; ; ) {
    try {
      return await backend.storeResult(meta, destination);
    } catch (error) {
      if (!(error instanceof BackendUnavailable)) throw error;
      if (!policy.alwaysRetry) throw error;
      if (retries >= limit) throw new BackendStoreError(`failed to store result on the backend: ${error.message}`, { cause: error });
      retries += 1;
      const left = limit - retries;
      deps.warn(`Failed operation _store_result for task ${meta.task_id}. Retrying ${left === Infinity ? 'inf' : left} more times: ${error.message}`);
      await (deps.sleep ?? pause)(backoffMs(policy, retries, deps.random));
    }
  }
}

/** The policy from Celery's settings. */
export function storeRetryPolicy(conf: {
  result_backend_always_retry: boolean;
  result_backend_max_retries: number | null;
  result_backend_base_sleep_between_retries_ms: number;
  result_backend_max_sleep_between_retries_ms: number;
}): StoreRetryPolicy {
  return {
    alwaysRetry: conf.result_backend_always_retry,
    maxRetries: conf.result_backend_max_retries,
    baseSleepMs: conf.result_backend_base_sleep_between_retries_ms,
    maxSleepMs: conf.result_backend_max_sleep_between_retries_ms,
  };
}
