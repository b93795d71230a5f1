// What a registered task is: its name, Celery task options, the handler, and how Python's
// positional and keyword arguments reach that handler.
import type { z } from 'zod';
import type { RetryOptions } from '../errors.js';
import type { DeliveryInfo } from '../protocol/message.js';
import type { Signature, TaskRequest } from '../protocol/task-message.js';

/** What a running handler knows about its own execution (Python's `self.request` + helpers). */
export interface TaskContext {
  readonly id: string;
  /** The registered name (the `shadow` name when the producer set one is in `request.shadow`). */
  readonly name: string;
  readonly retries: number;
  /** All message headers, including custom ones the producer merged in. */
  readonly headers: Readonly<Record<string, unknown>>;
  readonly rootId: string | null;
  readonly parentId: string | null;
  readonly group: string | null;
  readonly eta: Date | null;
  readonly expires: Date | null;
  /** The worker's node name, `name@host`. */
  readonly hostname: string;
  readonly deliveryInfo: Readonly<DeliveryInfo>;
  /** The decoded message. */
  readonly request: Readonly<TaskRequest>;
  /** Aborted when the task is revoked with terminate, hits a time limit, or the worker shuts down cold. */
  readonly signal: AbortSignal;
  /** Store a custom state (e.g. `PROGRESS`) with its meta, readable by Python's `AsyncResult.info`. */
  updateState(state: string, meta?: unknown): Promise<void>;
  /**
   * Retry this task later (Python's `raise self.retry(...)`): throws a Retry that the worker turns
   * into a re-published message with the same id and `retries + 1`, or — past `max_retries` — into
   * FAILURE with `exc` (or MaxRetriesExceededError).
   * @example catch (error) { ctx.retry({ exc: error, countdown: 10 }); }
   */
  retry(options?: RetryOptions): never;
  /**
   * Replace this task with a signature (Python's `return self.replace(sig)`): the replacement —
   * a task, chain, group or chord — inherits this task's id, callbacks, group/chord membership
   * and the rest of its chain; this task ends without a result of its own.
   * @example return ctx.replace(chain([fetch.s([url]), parse.s()]));
   */
  replace(sig: Signature): never;
}

/** An error class or an error name (`'ConnectionError'`) for `autoretry_for` / `dont_autoretry_for`. */
export type ErrorMatcher = (abstract new (...args: never[]) => Error) | string;

/** Per-task lifecycle hooks (Celery's Task.on_success / on_failure / on_retry / after_return). */
export interface TaskHooks {
  onSuccess?(result: unknown, ctx: TaskContext): void | Promise<void>;
  onFailure?(error: unknown, ctx: TaskContext): void | Promise<void>;
  onRetry?(error: unknown, ctx: TaskContext): void | Promise<void>;
  /** After any outcome, with the final state. */
  after?(state: string, result: unknown, ctx: TaskContext): void | Promise<void>;
}

/** Celery task options (same names as Python's `@app.task(...)`). */
export interface TaskOptions {
  name: string;
  /** Default queue for calls from TypeScript (`applyAsync` without `queue`). */
  queue?: string;
  acks_late?: boolean;
  ignore_result?: boolean;
  /** With ignore_result: still store FAILURE, RETRY and REVOKED (default `task_store_errors_even_if_ignored`). */
  store_errors_even_if_ignored?: boolean;
  track_started?: boolean;
  /** Hard time limit in seconds. */
  time_limit?: number | null;
  /** Soft time limit in seconds. */
  soft_time_limit?: number | null;
  rate_limit?: string | null;
  /** Retries allowed (default 3; null = forever). */
  max_retries?: number | null;
  /** Seconds before a retry without countdown/eta (default 180). */
  default_retry_delay?: number;
  /** Errors that retry the task automatically. */
  autoretry_for?: ErrorMatcher[];
  /** Errors that never autoretry, even when they match `autoretry_for`. */
  dont_autoretry_for?: ErrorMatcher[];
  /** Exponential backoff for autoretries: true (factor 1) or the factor in seconds. */
  retry_backoff?: boolean | number;
  /** Cap of the backoff countdown (default 600 s). */
  retry_backoff_max?: number;
  /** Randomize the backoff countdown in [0, countdown] (default true). */
  retry_jitter?: boolean;
  /** Options for autoretries (`countdown`, `max_retries`). */
  retry_kwargs?: { countdown?: number; max_retries?: number | null };
  /** With acks_late: ack (true, default `task_acks_on_failure_or_timeout`) or reject a failed task's message. */
  acks_on_failure_or_timeout?: boolean;
  /** With acks_late: requeue the message when the worker thread dies under the task (default `task_reject_on_worker_lost`). */
  reject_on_worker_lost?: boolean;
  hooks?: TaskHooks;
}

/**
 * The options form of `app.task`. `params` names the handler's parameters the way a Python
 * signature does, so a caller may pass them positionally (`args=[42]`) or by keyword
 * (`kwargs={"report_id": 42}`); bound values arrive in `kwargs`.
 */
export interface TaskSpec<A extends z.ZodType = z.ZodType, K extends z.ZodType = z.ZodType> extends TaskOptions {
  /** Schema of the positional args (e.g. `z.tuple([z.number(), z.number()])`). */
  args?: A;
  /** Schema of the keyword args (e.g. `z.object({ format: z.string().default('pdf') })`). */
  kwargs?: K;
  /** Parameter names positional args bind to, as in a Python signature. */
  params?: readonly string[];
}

/** What the options-form handler receives. */
export interface TaskInput<A, K> {
  args: A;
  kwargs: K;
  ctx: TaskContext;
}

/** A registered task, however it was declared: one entry point taking raw wire arguments. */
export interface TaskDefinition {
  readonly name: string;
  readonly options: TaskOptions;
  /** Validate and bind wire arguments, then run the handler. Throws TypeError/ValueError on bad arguments. */
  run(args: unknown[], kwargs: Record<string, unknown>, ctx: TaskContext): Promise<unknown>;
}
