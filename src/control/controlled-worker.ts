// What remote control needs from a worker: the small surface the pidbox commands act on
// (celery/worker/control.py reads the same things from worker state, the consumer and the pool).
// The worker implements it; control never imports the worker (imports point down only, checked by
// test/unit/architecture.test.ts).
import type { RevokedSet } from './revoked-set.js';
import type { QueueInfo, RequestInfo, ScheduledRequest, WorkerStatsInfo } from './worker-info.js';

export type { QueueInfo, RequestInfo, ScheduledRequest, WorkerStatsInfo } from './worker-info.js';

/** A queue to start consuming (`add_consumer`); exchange/routing key default to the queue name. */
export interface ConsumerSpec {
  queue: string;
  exchange: string | null;
  /** `direct` unless the request says otherwise (the command accepts direct, topic, fanout). */
  exchangeType: 'direct' | 'topic' | 'fanout';
  routingKey: string | null;
}

/** A task as `registered` lists it. */
export interface RegisteredTask {
  name: string;
  /** Task attributes `registered` may show (`exchange`, `routing_key`, `rate_limit`, …); null = unset. */
  attributes?: Record<string, unknown>;
}

/**
 * The worker as the control commands see it. Every method is called on the event loop, from
 * the pidbox message handler; synchronous methods must not block.
 */
export interface ControlledWorker {
  /** Node name, `name@host` (the reply key and the request filter). */
  readonly hostname: string;
  /**
   * The ids flagged by `revoke`/`terminate`/`hello`. Control adds to it; the worker must discard a
   * request whose id is in it when the request arrives, comes off its ETA hold, or is about to run.
   */
  readonly revoked: RevokedSet;

  /** Requests executing now, oldest first (`active`). */
  activeRequests(): RequestInfo[];
  /** Requests fetched and waiting for a pool slot, not active and not held for an ETA (`reserved`). */
  reservedRequests(): RequestInfo[];
  /** Requests held until their ETA/countdown (`scheduled`). */
  scheduledRequests(): ScheduledRequest[];
  /** Every task the worker can run, builtins included (`celery.*` are filtered by the command). */
  registeredTasks(): RegisteredTask[];
  /** Counters and descriptions for `stats`; control adds pid, clock and rusage. */
  stats(): WorkerStatsInfo;
  /** The queues consumed now, as `queueInfo()` describes them (`active_queues`). */
  activeQueues(): QueueInfo[];
  /** Configuration as a JSON-able dict, only non-default settings unless `withDefaults` (`conf`). */
  conf(withDefaults: boolean): Record<string, unknown>;

  /**
   * After control has flagged `ids` in `revoked`: the side effects Celery ≥5.6.2 has — store
   * REVOKED in the result backend for each id that is not executing here and whose stored state
   * is PENDING, RECEIVED, RETRY or REJECTED (never overwrite a ready or STARTED state). Errors are
   * the worker's to log; they never fail the command.
   */
  markRevoked(ids: string[]): Promise<void>;
  /**
   * Terminate the known requests (active, reserved or held) among `ids` with `signal`
   * (`SIGTERM`, `SIGKILL`, …): abort a running one, discard a waiting one. Returns the ids acted on.
   */
  terminate(ids: string[], signal: string): string[];
  /** Change a task's rate limit (`null` disables it). Returns false when the task is unknown. */
  setRateLimit(taskName: string, rateLimit: string | null): boolean;
  /** Change a task's time limits in seconds (null = none). Returns false when the task is unknown. */
  setTimeLimit(taskName: string, limits: { soft: number | null; hard: number | null }): boolean;
  /**
   * Start consuming a queue (declared first). Celery replies before its `call_soon` runs; we
   * wait for the declaration so a failure reaches the caller as the reply's `error`.
   */
  addConsumer(spec: ConsumerSpec): Promise<void>;
  /** Stop consuming a queue; fire-and-forget. */
  cancelConsumer(queue: string): void;
  /** Allow `n` more tasks at once (and raise the prefetch window accordingly). */
  poolGrow(n: number): void;
  /** Allow `n` fewer tasks at once (not below one). */
  poolShrink(n: number): void;
  /** Begin a warm shutdown (after the command returns; no reply is sent, as in Celery). */
  shutdown(reason: string): void;
}
