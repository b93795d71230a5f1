// The bookkeeping every backend's `waitFor` shares: the ready test (or `until`), the timeout
// (Celery's TimeoutError, naming the task), AbortSignal, and tearing the watch down exactly once.
import { TimeoutError } from '../errors.js';
import type { TaskMeta } from '../protocol/result-meta.js';
import { isReady } from '../protocol/states.js';
import type { WaitOptions } from './result-backend.js';

export interface WaitHooks {
  /** Offer a meta seen for the task; the wait resolves when it is ready (or `until` holds). */
  offer(meta: TaskMeta): void;
  /** End the wait with an error. */
  fail(error: Error): void;
}

/**
 * Run a wait: `start` begins watching and returns the function that stops it. Offers and
 * failures after the wait settled are ignored.
 */
export function waitForState(taskId: string, options: WaitOptions, start: (hooks: WaitHooks) => () => void): Promise<TaskMeta> {
  const done = options.until ?? ((meta: TaskMeta) => isReady(meta.status));
  const { signal, timeoutMs } = options;
  return new Promise<TaskMeta>((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let stop: (() => void) | undefined;
    const settle = (error: Error | null, meta?: TaskMeta) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      stop?.();
      if (error) reject(error);
      else resolve(meta!);
    };
    const onAbort = () => settle(abortError(signal!));
    const hooks: WaitHooks = {
      offer: (meta) => {
        if (settled) return;
        let ready: boolean;
        try {
          ready = done(meta);
        } catch (error) {
          return settle(error instanceof Error ? error : new Error(String(error)));
        }
        if (ready) settle(null, meta);
      },
      fail: (error) => settle(error),
    };
    signal?.addEventListener('abort', onAbort);
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => settle(new TimeoutError(`The operation timed out after ${timeoutMs} ms waiting for task ${taskId}.`)), timeoutMs);
    }
    try {
      const stopWatch = start(hooks);
      // `start` may have settled the wait synchronously (a ready value already at hand).
      if (settled) stopWatch();
      else stop = stopWatch;
    } catch (error) {
      settle(error instanceof Error ? error : new Error(String(error)));
    }
  });
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error(`wait aborted: ${String(signal.reason)}`);
}
