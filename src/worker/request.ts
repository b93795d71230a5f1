// One task message inside the worker, from delivery to settlement: the decoded request, the
// task definition it runs, and whether its message was acknowledged (for inspect and shutdown).
import type { TaskSpan } from '../observe/celery-tracing.js';
import type { TaskRequest } from '../protocol/task-message.js';
import type { TaskDefinition } from '../registry/task-definition.js';
import type { Delivery } from '../transport/transport.js';
import type { Settlement } from './redelivery-guard.js';

export class Request {
  /** Epoch ms when execution started; null while reserved or held for its ETA. */
  startedAt: number | null = null;
  /** Set by `terminate` (revoke with terminate): the outcome is REVOKED whatever the handler does. */
  terminated = false;
  /** Set when its hard time limit fired: FAILURE is recorded then, and the late outcome dropped. */
  hardLimitHit = false;
  /** Set when a cold shutdown cancelled it (Tracer.cancel): the late outcome is dropped. */
  cancelled = false;
  /** Its OpenTelemetry `run/<task>` span while it runs, when tracing is on. */
  span: TaskSpan | null = null;
  private settled = false;
  private ackedEarly = false;
  /** How the message was settled (null while it is not). */
  settlement: Settlement | null = null;

  constructor(
    readonly delivery: Delivery,
    readonly task: TaskRequest,
    readonly definition: TaskDefinition,
    readonly receivedAt: number,
  ) {}

  get id(): string {
    return this.task.id;
  }

  /** The name logs and events show: the `shadow` name when the producer set one. */
  get displayName(): string {
    return this.task.shadow ?? this.task.name;
  }

  get acknowledged(): boolean {
    return this.settled || this.ackedEarly;
  }

  /** True while the worker still owns the message on the broker (not acked, rejected or restored). */
  get unsettled(): boolean {
    return !this.settled;
  }

  ack(): Promise<void> {
    if (this.settled) return Promise.resolve();
    this.settled = true;
    this.ackedEarly = true;
    this.settlement = 'ack';
    return this.delivery.ack();
  }

  reject(requeue: boolean): Promise<void> {
    if (this.settled) return Promise.resolve();
    this.settled = true;
    this.settlement = requeue ? 'requeue' : 'reject';
    return this.delivery.reject({ requeue });
  }

  /** Give the message back to the broker, at the front of its queue (shutdown). */
  restore(): Promise<void> {
    if (this.settled) return Promise.resolve();
    this.settled = true;
    this.settlement = 'requeue';
    return this.delivery.restore();
  }
}
