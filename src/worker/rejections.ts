// Messages the worker refuses to run — unknown task, undecodable, oversized — each rejected
// once without requeue, logged in one line, and stored as FAILURE when its id is readable
// (celery/worker/consumer/consumer.py `on_unknown_task`, `on_invalid_task`, `on_decode_error`).
// Celery stores a FAILURE only for an unknown task (`on_unknown_task`: NotRegistered); for an
// invalid or undecodable message it logs and rejects/acks without storing. We store one for those
// too whenever the id is readable, deliberately (issue 16): otherwise a caller's AsyncResult
// waits on PENDING forever for a message no worker will ever run.
import type { ResultBackend } from '../backend/result-backend.js';
import { storeWithRetry, type StoreRetryPolicy } from '../backend/store-retry.js';
import { DecodeError, MessageTooLarge, NotRegistered } from '../errors.js';
import type { Logger } from '../log.js';
import { asTaskId } from '../protocol/envelope.js';
import { formatTraceback, toExceptionInfo } from '../protocol/exceptions.js';
import { buildTaskMeta } from '../protocol/result-meta.js';
import { FAILURE } from '../protocol/states.js';
import { oneLine } from '../protocol/untrusted-text.js';
import type { TaskRequest } from '../protocol/task-message.js';
import type { Delivery, TransportEvent } from '../transport/transport.js';
import { logLines } from './log-lines.js';

export class Rejections {
  constructor(
    private readonly options: {
      backend: () => ResultBackend | null;
      logger: Logger;
      now: () => number;
      /** `worker_max_message_size`, for the log line. */
      maxMessageSize: number | null;
      /** result_backend_always_retry & co. */
      retryPolicy: StoreRetryPolicy;
    },
  ) {}

  async unregistered(delivery: Delivery, task: TaskRequest): Promise<void> {
    this.options.logger.error(logLines.unregistered(task.name));
    await this.settleQuietly(delivery.reject({ requeue: false }));
    await this.storeFailure(task.id, new NotRegistered(task.name), null);
  }

  async invalid(delivery: Delivery, error: unknown): Promise<void> {
    const id = asTaskId(delivery.message.headers.id) ?? asTaskId(delivery.message.properties.correlation_id);
    if (error instanceof MessageTooLarge) {
      const size = delivery.message.body.length;
      this.options.logger.error(logLines.tooLarge(id, delivery.info.queue ?? '?', size, this.options.maxMessageSize ?? 0, error.message));
    } else {
      this.options.logger.error(logLines.invalid(error instanceof Error ? error.message : String(error)));
    }
    await this.settleQuietly(delivery.reject({ requeue: false }));
    if (id) await this.storeFailure(id, error, formatTraceback(error));
  }

  /** The transport removed an oversized message undecoded (ConsumeOptions.maxMessageSize). */
  async tooLarge(event: Extract<TransportEvent, { type: 'message-too-large' }>): Promise<void> {
    const error = new MessageTooLarge(`the message takes ${event.size} bytes on the wire, more than ${event.limit}`);
    this.options.logger.error(logLines.tooLarge(event.correlationId, event.queue, event.size, this.options.maxMessageSize ?? 0, error.message));
    if (event.correlationId) await this.storeFailure(event.correlationId, error, null);
  }

  /**
   * The transport removed a fetched message it could not decode into a delivery (not JSON, no
   * body, …): one line, and a FAILURE DecodeError (kombu's name for it) under its id if readable.
   */
  async dropped(event: Extract<TransportEvent, { type: 'message-dropped' }>): Promise<void> {
    this.options.logger.error(logLines.dropped(event.reason));
    if (event.taskId) await this.storeFailure(event.taskId, new DecodeError(oneLine(event.reason, 500)), null);
  }

  private async storeFailure(taskId: string, error: unknown, traceback: string | null): Promise<void> {
    const backend = this.options.backend();
    if (!backend) return;
    const meta = buildTaskMeta({ taskId, status: FAILURE, result: toExceptionInfo(error), traceback, dateDone: new Date(this.options.now()) });
    try {
      await storeWithRetry(backend, meta, undefined, this.options.retryPolicy, { warn: (m) => this.options.logger.warn(m) });
    } catch (storeError) {
      this.options.logger.error(logLines.resultStoreFailed('?', taskId, storeError instanceof Error ? storeError.message : String(storeError)));
    }
  }

  private async settleQuietly(pending: Promise<void>): Promise<void> {
    try {
      await pending;
    } catch (error) {
      this.options.logger.error(`Could not settle a message: ${oneLine(error instanceof Error ? error.message : String(error))}`);
    }
  }
}
