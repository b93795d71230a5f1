// Writes a request's states to the result backend in Celery's meta format, with `result_extended`
// fields when enabled (celery/backends/base.py `Backend._get_result_meta`). A value JSON cannot
// carry becomes an EncodeError.
import type { ResultBackend, ResultDestination } from '../backend/result-backend.js';
import { storeRetryPolicy, storeWithRetry } from '../backend/store-retry.js';
import type { CeleryConfig } from '../config.js';
import { EncodeError } from '../errors.js';
import type { Logger } from '../log.js';
import { buildTaskMeta, type ResultTuple, type TaskMeta } from '../protocol/result-meta.js';
import { logLines } from './log-lines.js';
import type { Request } from './request.js';

export class ResultRecorder {
  constructor(
    private readonly backend: ResultBackend | null,
    private readonly conf: CeleryConfig,
    private readonly hostname: string,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  /** Store a state for the request; resolves to the encoding error when the value can't be JSON. */
  store(req: Request, status: string, result: unknown, traceback: string | null = null, children: ResultTuple[] = []): Promise<Error | undefined> {
    const { task } = req;
    const extended = this.conf.result_extended
      ? { name: task.name, args: task.args, kwargs: task.kwargs, worker: this.hostname, retries: task.retries, queue: req.delivery.info.routingKey }
      : undefined;
    const meta = buildTaskMeta({
      taskId: task.id,
      status,
      result,
      traceback,
      children,
      dateDone: new Date(this.now()),
      groupId: task.group,
      parentId: task.parentId,
      extended,
    });
    // rpc:// sends it to the caller's reply queue (celery/backends/rpc.py `destination_for`).
    return this.write(meta, req.displayName, { replyTo: task.replyTo, correlationId: task.correlationId ?? task.id });
  }

  /** Store a state under another task id (the later steps of a failed chain). */
  storeFor(taskId: string, status: string, result: unknown, traceback: string | null): Promise<Error | undefined> {
    return this.write(buildTaskMeta({ taskId, status, result, traceback, dateDone: new Date(this.now()) }), taskId);
  }

  private write(meta: TaskMeta, name: string, destination?: ResultDestination): Promise<Error | undefined> {
    if (!this.backend) return Promise.resolve(undefined);
    let stored: Promise<unknown>;
    try {
      // With result_backend_always_retry this waits (retrying, logged) until the write lands, so an
      // acks_late message is acked only after its result is stored.
      stored = this.conf.result_backend_always_retry
        ? storeWithRetry(this.backend, meta, destination, storeRetryPolicy(this.conf), { warn: (m) => this.logger.warn(m) })
        : this.backend.storeResult(meta, destination);
    } catch (error) {
      return Promise.resolve(this.failed(error, meta, name));
    }
    return stored.then(
      () => undefined,
      (error: unknown) => this.failed(error, meta, name),
    );
  }

  private failed(error: unknown, meta: TaskMeta, name: string): Error | undefined {
    if (error instanceof EncodeError || error instanceof TypeError || error instanceof RangeError) {
      // JSON refused the value (BigInt, cycle): like Celery, the task fails with an EncodeError.
      return new EncodeError(`the result of ${name}[${meta.task_id}] is not JSON-serializable: ${(error as Error).message}`);
    }
    this.logger.error(logLines.resultStoreFailed(name, meta.task_id, error instanceof Error ? error.message : String(error)));
    return undefined;
  }
}
