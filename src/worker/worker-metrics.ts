// Prometheus metrics of one worker, named and labelled as danihodovic/celery-exporter names them
// (`celery_task_received_total{name,hostname,queue_name}`, `celery_task_runtime`,
// `celery_worker_up`, `celery_worker_tasks_active`…) so its dashboards work on this endpoint;
// what the exporter has no metric for gets a `celery_worker_*` / `celery_task_*` name of its own.
// Loaded only when metrics are on (the only module that imports prom-client).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Request } from './request.js';
import type { TaskObserver } from './task-observer.js';

/** prometheus_client's `Histogram.DEFAULT_BUCKETS` (what the exporter's `celery_task_runtime` uses). */
export const RUNTIME_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const WAIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/** The worker's state, read at scrape time (nothing is kept up to date per task). */
export interface WorkerGaugeSource {
  readonly running: boolean;
  readonly activeCount: number;
  readonly reservedCount: number;
  readonly scheduledCount: number;
  /** The prefetch window now (with the ETA / rate-limit allowance); 0 = unlimited. */
  readonly prefetchWindow: number;
  readonly concurrency: number;
}

const TASK_LABELS = ['name', 'hostname', 'queue_name'] as const;

/** The host part of a node name, as the exporter labels workers (`celery.utils.nodesplit`). */
export function hostLabel(nodeName: string): string {
  const at = nodeName.indexOf('@');
  return at < 0 ? nodeName : nodeName.slice(at + 1);
}

export class WorkerMetrics implements TaskObserver {
  readonly registry = new Registry();
  private readonly host: string;
  private readonly seen = new Set<string>();
  private readonly receivedTotal: Counter<(typeof TASK_LABELS)[number]>;
  private readonly startedTotal: Counter<(typeof TASK_LABELS)[number]>;
  private readonly succeededTotal: Counter<(typeof TASK_LABELS)[number]>;
  private readonly failedTotal: Counter<(typeof TASK_LABELS)[number] | 'exception'>;
  private readonly retriedTotal: Counter<(typeof TASK_LABELS)[number]>;
  private readonly rejectedTotal: Counter<(typeof TASK_LABELS)[number]>;
  private readonly revokedTotal: Counter<(typeof TASK_LABELS)[number]>;
  private readonly runtime: Histogram<(typeof TASK_LABELS)[number]>;
  private readonly wait: Histogram<(typeof TASK_LABELS)[number]>;
  private readonly reconnects: Counter<'hostname'>;

  constructor(nodeName: string, source: WorkerGaugeSource) {
    this.host = hostLabel(nodeName);
    const registers = [this.registry];
    const counter = (name: string, help: string) => new Counter({ name, help, labelNames: TASK_LABELS, registers });
    this.receivedTotal = counter('celery_task_received_total', 'Sent when the worker receives a task.');
    this.startedTotal = counter('celery_task_started_total', 'Sent just before the worker executes the task.');
    this.succeededTotal = counter('celery_task_succeeded_total', 'Sent if the task executed successfully.');
    this.failedTotal = new Counter({ name: 'celery_task_failed_total', help: 'Sent if the execution of the task failed.', labelNames: [...TASK_LABELS, 'exception'], registers });
    this.retriedTotal = counter('celery_task_retried_total', 'Sent if the task failed, but will be retried in the future.');
    this.rejectedTotal = counter('celery_task_rejected_total', 'The task was rejected by the worker, possibly to be re-queued or moved to a dead letter queue.');
    this.revokedTotal = counter('celery_task_revoked_total', 'Sent if the task has been revoked.');
    this.runtime = new Histogram({ name: 'celery_task_runtime', help: 'Histogram of task runtime measurements.', labelNames: TASK_LABELS, buckets: RUNTIME_BUCKETS, registers });
    this.wait = new Histogram({
      name: 'celery_task_wait_seconds',
      help: 'Seconds from when a task could run (its ETA, else its receipt by this worker) to its start.',
      labelNames: TASK_LABELS,
      buckets: WAIT_BUCKETS,
      registers,
    });
    this.reconnects = new Counter({ name: 'celery_worker_broker_reconnects_total', help: 'Broker connections restored after a loss.', labelNames: ['hostname'], registers });
    this.reconnects.labels(this.host).inc(0);
    const host = this.host;
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['hostname'],
        registers,
        collect() {
          this.labels(host).set(read());
        },
      });
    gauge('celery_worker_up', 'Indicates if a worker has recently sent a heartbeat.', () => (source.running ? 1 : 0));
    gauge('celery_worker_tasks_active', 'The number of tasks the worker is currently processing', () => source.activeCount);
    gauge('celery_worker_tasks_reserved', 'Tasks fetched and waiting for a free slot.', () => source.reservedCount);
    gauge('celery_worker_tasks_scheduled', 'Tasks held for their ETA / countdown.', () => source.scheduledCount);
    gauge('celery_worker_prefetch_count', 'The prefetch window now, with one extra per held ETA task (0 = unlimited).', () => source.prefetchWindow);
    gauge('celery_worker_concurrency', 'Tasks this worker runs at once.', () => source.concurrency);
    // process_resident_memory_bytes, nodejs_eventloop_lag_seconds, nodejs_heap_size_used_bytes…
    collectDefaultMetrics({ register: this.registry });
  }

  /** The exposition for a scrape. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  brokerReconnected(): void {
    this.reconnects.labels(this.host).inc();
  }

  received(req: Request): void {
    const name = req.displayName;
    const queue = req.delivery.info.queue;
    // As the exporter does: every counter of a new series starts at 0, so rate() sees its first increase.
    const key = `${name}\0${queue}`;
    if (!this.seen.has(key)) {
      this.seen.add(key);
      for (const c of [this.startedTotal, this.succeededTotal, this.retriedTotal, this.rejectedTotal, this.revokedTotal]) c.labels(name, this.host, queue).inc(0);
    }
    this.receivedTotal.labels(name, this.host, queue).inc();
  }

  started(req: Request, waitSeconds: number): void {
    this.startedTotal.labels(req.displayName, this.host, req.delivery.info.queue).inc();
    this.wait.labels(req.displayName, this.host, req.delivery.info.queue).observe(Math.max(0, waitSeconds));
  }

  succeeded(req: Request, runtimeSeconds: number): void {
    this.succeededTotal.labels(req.displayName, this.host, req.delivery.info.queue).inc();
    this.runtime.labels(req.displayName, this.host, req.delivery.info.queue).observe(runtimeSeconds);
  }

  failed(req: Request, excType: string): void {
    this.failedTotal.labels(req.displayName, this.host, req.delivery.info.queue, excType).inc();
  }

  retried(req: Request): void {
    this.retriedTotal.labels(req.displayName, this.host, req.delivery.info.queue).inc();
  }

  rejected(req: Request): void {
    this.rejectedTotal.labels(req.displayName, this.host, req.delivery.info.queue).inc();
  }

  revoked(req: Request): void {
    this.revokedTotal.labels(req.displayName, this.host, req.delivery.info.queue).inc();
  }
}
