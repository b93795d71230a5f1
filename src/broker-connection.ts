// Waiting for the broker at start-up, as Celery's worker and beat do: kombu's retry loop
// (kombu/connection.py Connection._ensure_connection, kombu/utils/functional.py retry_over_time)
// under Celery's settings and with its log lines (celery/worker/consumer/consumer.py
// Consumer.ensure_connected, CONNECTION_ERROR, CONNECTION_RETRY_STEP; celery/beat.py
// Scheduler._ensure_connected).
import type { CeleryConfig } from './config.js';
import type { Logger } from './log.js';

export type StartupRetrySettings = Pick<
  CeleryConfig,
  'broker_connection_retry' | 'broker_connection_retry_on_startup' | 'broker_connection_max_retries' | 'broker_connection_timeout'
>;

export interface EnsureConnectedOptions {
  conf: StartupRetrySettings;
  /** One attempt (the broker, then the result backend); rejects with "Cannot connect to URL: reason". */
  connect(timeoutMs: number): Promise<void>;
  logger: Logger;
  /** Whose wording the log lines take: the worker's consumer or beat. */
  who: 'consumer' | 'beat';
  sleep?: (ms: number) => Promise<void>;
}

/**
 * kombu's intervals with Connection._ensure_connection's defaults (start 2, step 2, max 30):
 * `fxrange(2, 32, 2, repeatlast=True)` yields 2, 4, …, 32 and then 32 again.
 */
export function retryIntervalSeconds(retry: number): number {
  return Math.min(2 + 2 * retry, 32);
}

/**
 * Connect, retrying as Celery does at start-up: `broker_connection_retry_on_startup` (when unset,
 * `broker_connection_retry`) turns the loop on; `broker_connection_max_retries` retries at most
 * (null = forever), each attempt bounded by `broker_connection_timeout`. Rejects with the last
 * error once the retries are spent (Celery's worker then exits).
 */
export async function ensureConnected(options: EnsureConnectedOptions): Promise<void> {
  const { conf, logger, who } = options;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const timeoutMs = conf.broker_connection_timeout * 1000;
  const retry = conf.broker_connection_retry_on_startup ?? conf.broker_connection_retry;
  if (!retry) return options.connect(timeoutMs);
  const max = conf.broker_connection_max_retries;
  for (let retries = 0; ; retries++) {
    try {
      return await options.connect(timeoutMs);
    } catch (error) {
      // retry_over_time: `if max_retries is not None and retries >= max_retries: raise`.
      if (max !== null && retries >= max) throw error;
      const interval = retryIntervalSeconds(retries);
      const reason = error instanceof Error ? error.message : String(error);
      if (who === 'consumer') {
        // CONNECTION_ERROR % (uri, exc, CONNECTION_RETRY_STEP); our message already reads
        // "Cannot connect to <url>: <reason>".
        logger.error(`consumer: ${reason}.\nTrying again in ${interval.toFixed(2)} seconds... (${retries + 1}/${max ?? 'None'})`);
      } else {
        // Python's %s of the float interval: 2.0, 4.0, …
        logger.error(`beat: Connection error: ${reason}. Trying again in ${interval.toFixed(1)} seconds...`);
      }
      await sleep(interval * 1000);
    }
  }
}
