// Retries as Celery does them (celery/app/task.py Task.retry, celery/app/autoretry.py,
// celery/utils/time.py get_exponential_backoff_interval): the same task id
// re-published with `retries + 1` and an absolute eta, back to the queue it came from.
import type { Celery } from '../app.js';
import { MaxRetriesExceededError, type RetryOptions } from '../errors.js';
import { pythonRepr } from '../protocol/repr.js';
import type { ResultTuple } from '../protocol/result-meta.js';
import type { ErrorMatcher, TaskOptions } from '../registry/task-definition.js';
import type { SendTaskOptions } from '../send-task-options.js';
import type { Request } from './request.js';

export const DEFAULT_MAX_RETRIES = 3;
export const DEFAULT_RETRY_DELAY = 180;
export const DEFAULT_BACKOFF_MAX = 600;

/** `min(maximum, factor × 2^retries)`, then a uniform integer in [0, countdown] with full jitter. */
export function exponentialBackoff(retries: number, factor: number, maximum: number, fullJitter: boolean, random: () => number = Math.random): number {
  const countdown = Math.min(maximum, factor * 2 ** retries);
  return Math.max(0, fullJitter ? Math.floor(random() * (Math.floor(countdown) + 1)) : countdown);
}

function matches(error: unknown, matcher: ErrorMatcher): boolean {
  if (typeof matcher === 'string') return error instanceof Error && (error.name === matcher || error.constructor.name === matcher);
  return error instanceof matcher;
}

/** The retry an autoretry task makes for `error`, or null when the error does not autoretry. */
export function autoretryFor(error: unknown, options: TaskOptions, retries: number, random?: () => number): RetryOptions | null {
  const listed = options.autoretry_for ?? [];
  if (!listed.some((m) => matches(error, m))) return null;
  if ((options.dont_autoretry_for ?? []).some((m) => matches(error, m))) return null;
  const retry: RetryOptions = { exc: error, ...options.retry_kwargs };
  if (options.retry_backoff) {
    // Celery ≥5.3.1: factor = int(max(1.0, retry_backoff)); True counts as 1.
    const factor = Math.trunc(Math.max(1, options.retry_backoff === true ? 1 : options.retry_backoff));
    retry.countdown = exponentialBackoff(retries, factor, options.retry_backoff_max ?? DEFAULT_BACKOFF_MAX, options.retry_jitter ?? true, random);
  }
  return retry;
}

export type RetryDecision =
  | { kind: 'retry'; eta: Date; countdown: number | null }
  | { kind: 'exhausted'; error: unknown };

/** Whether a retry may happen (Task.retry's max_retries check) and when it will run. */
/** Python's repr of the args tuple Task.retry formats (`(1,)`, `(1, 2)`, `()`). */
function tupleRepr(args: unknown[]): string {
  const items = args.map(pythonRepr);
  return `(${items.join(', ')}${items.length === 1 ? ',' : ''})`;
}

export function decideRetry(req: Request, options: RetryOptions, now: number): RetryDecision {
  const task = req.definition.options;
  const maxRetries = options.max_retries !== undefined ? options.max_retries : task.max_retries !== undefined ? task.max_retries : DEFAULT_MAX_RETRIES;
  if (maxRetries !== null && req.task.retries + 1 > maxRetries) {
    const error =
      options.exc ??
      new MaxRetriesExceededError(`Can't retry ${req.task.name}[${req.id}] args:${tupleRepr(req.task.args)} kwargs:${pythonRepr(req.task.kwargs)}`);
    return { kind: 'exhausted', error };
  }
  if (options.eta) return { kind: 'retry', eta: options.eta, countdown: null };
  const countdown = options.countdown ?? task.default_retry_delay ?? DEFAULT_RETRY_DELAY;
  return { kind: 'retry', eta: new Date(now + countdown * 1000), countdown };
}

/** Re-publish the request for its retry; returns the child tuple (the task itself, as Celery records it). */
export async function republish(app: Celery, req: Request, eta: Date): Promise<ResultTuple> {
  const { task } = req;
  const info = req.delivery.info;
  // Back where it came from: the default exchange means "the queue named by the routing key".
  const destination: SendTaskOptions = info.exchange === '' ? { queue: info.routingKey } : { exchange: info.exchange, routing_key: info.routingKey };
  const custom = Object.fromEntries(Object.entries(task.headers).filter(([key]) => !STANDARD_HEADERS.has(key)));
  await app.sendTask(task.name, task.args, task.kwargs, {
    ...destination,
    task_id: task.id,
    retries: task.retries + 1,
    eta,
    expires: task.expires ?? undefined,
    // A top-level task's retry is published from inside itself: its parent is itself (Task.retry
    // sends while the task runs, and celery/app/base.py `Celery.send_task` takes the running task
    // as parent).
    parent_id: task.parentId ?? task.id,
    root_id: task.rootId ?? task.id,
    group_id: task.group ?? undefined,
    group_index: task.groupIndex ?? undefined,
    shadow: task.shadow ?? undefined,
    time_limit: task.timeLimit[0] ?? undefined,
    soft_time_limit: task.timeLimit[1] ?? undefined,
    priority: task.priority ?? undefined,
    link: task.embed.callbacks ?? undefined,
    link_error: task.embed.errbacks ?? undefined,
    chain: task.embed.chain ?? undefined,
    chord: task.embed.chord ?? undefined,
    ignore_result: task.ignoreResult || undefined,
    headers: custom,
    argsrepr: task.argsrepr,
    kwargsrepr: task.kwargsrepr,
  });
  return [[task.id, null], null];
}

/** Headers the message builder writes itself; anything else is a custom header to carry over. */
const STANDARD_HEADERS = new Set([
  'lang', 'task', 'id', 'shadow', 'eta', 'expires', 'group', 'group_index', 'retries', 'timelimit', 'root_id', 'parent_id',
  'argsrepr', 'kwargsrepr', 'origin', 'ignore_result', 'replaced_task_nesting', 'stamped_headers', 'stamps', 'compression', 'redelivered',
]);
