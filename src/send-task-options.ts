// The options of one call (Python's `apply_async` / `send_task` keyword arguments), shared by
// the producer (app.ts), the canvas, task handles and beat entries.
import type { Signature } from './protocol/task-message.js';

/** Options of one call, with the names of Python's `apply_async` / `send_task`. */
export interface SendTaskOptions {
  task_id?: string;
  /** Seconds from now; becomes an absolute `eta` header. */
  countdown?: number;
  eta?: Date | string;
  /** Seconds from now, or an absolute time. */
  expires?: number | Date | string;
  queue?: string;
  exchange?: string;
  routing_key?: string;
  priority?: number;
  /** Custom headers, merged at the top level of the message headers as Celery does. */
  headers?: Record<string, unknown>;
  shadow?: string;
  ignore_result?: boolean;
  compression?: 'gzip' | 'zlib' | 'brotli';
  link?: Signature | Signature[];
  link_error?: Signature | Signature[];
  time_limit?: number;
  soft_time_limit?: number;
  retries?: number;
  group_id?: string;
  group_index?: number;
  root_id?: string;
  parent_id?: string;
  argsrepr?: string;
  kwargsrepr?: string;
  chain?: Signature[];
  chord?: Signature;
  /** How many `Task.replace` levels deep this call is (a message header). */
  replaced_task_nesting?: number;
}
