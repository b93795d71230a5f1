// What a registered task is: its name, Celery task options, the handler, and how Python's
// positional and keyword arguments reach that handler.
import type { z } from 'zod';
import type { DeliveryInfo } from '../protocol/message.js';
import type { TaskRequest } from '../protocol/task-message.js';

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
}

/** Celery task options (same names as Python's `@app.task(...)`). */
export interface TaskOptions {
  name: string;
  /** Default queue for calls from TypeScript (`applyAsync` without `queue`). */
  queue?: string;
  acks_late?: boolean;
  ignore_result?: boolean;
  track_started?: boolean;
  /** Hard time limit in seconds. */
  time_limit?: number | null;
  /** Soft time limit in seconds. */
  soft_time_limit?: number | null;
  rate_limit?: string | null;
  max_retries?: number | null;
  default_retry_delay?: number;
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
