// The worker as remote control sees it (control/controlled-worker.ts): inspect reads its
// requests, queues and counters; control commands revoke, terminate, resize, re-route and stop it.
import type { Celery } from '../app.js';
import { censorSettings, type Redactor } from '../censor.js';
import type { ControlledWorker, ConsumerSpec, RegisteredTask, ScheduledRequest } from '../control/controlled-worker.js';
import type { RevokedSet } from '../control/revoked-set.js';
import { brokerInfo, poolInfo, queueInfo, requestInfo, type RequestInfo } from '../control/worker-info.js';
import { toExceptionInfo } from '../protocol/exceptions.js';
import { formatPythonIso } from '../protocol/iso-time.js';
import { buildTaskMeta } from '../protocol/result-meta.js';
import { REVOKED } from '../protocol/states.js';
import { TaskRevokedError } from '../errors.js';
import type { ExchangeType } from '../transport/transport.js';
import type { Request } from './request.js';

/**
 * What remote control reads and drives of a worker (here and in remote-control.ts). The worker
 * (worker.ts, the composer) implements it and hands itself down; nothing here imports it back.
 */
export interface WorkerUnderControl {
  readonly app: Celery;
  readonly hostname: string;
  readonly queues: readonly string[];
  readonly revoked: RevokedSet;
  readonly stats: { readonly processed: Record<string, number> };
  readonly timeLimitOverrides: Map<string, { soft: number | null; hard: number | null }>;
  readonly concurrency: number;
  readonly prefetchCount: number;
  /** Masks the configured passwords in replies and events (null when none are configured). */
  readonly redact: Redactor | null;
  activeRequests(): Request[];
  reservedRequests(): Request[];
  scheduledRequests(): Request[];
  terminate(ids: readonly string[]): string[];
  setRateLimit(taskName: string, rate: string | null): void;
  addQueue(name: string, options?: { exchange?: string | null; exchangeType?: ExchangeType | null; routingKey?: string | null }): Promise<void>;
  removeQueue(name: string): void;
  resizePool(concurrency: number): void;
  stop(): Promise<void>;
}

/** States a `revoke` may overwrite with REVOKED (Celery ≥5.6.2 `_revoke_store_result`). */
const REVOCABLE = new Set(['PENDING', 'RECEIVED', 'RETRY', 'REJECTED']);

export function controlledWorker(worker: WorkerUnderControl, startedAt: number, now: () => number): ControlledWorker {
  const app = worker.app;
  const info = (req: Request): RequestInfo =>
    requestInfo({
      id: req.id,
      name: req.displayName,
      args: req.task.args,
      kwargs: req.task.kwargs,
      hostname: worker.hostname,
      startedAtMs: req.startedAt,
      acknowledged: req.acknowledged,
      exchange: req.delivery.info.exchange,
      routingKey: req.delivery.info.routingKey,
      priority: req.delivery.info.priority,
      redelivered: req.delivery.info.redelivered,
      workerPid: req.startedAt === null ? null : process.pid,
    });
  return {
    hostname: worker.hostname,
    revoked: worker.revoked,
    activeRequests: () => worker.activeRequests().map(info),
    reservedRequests: () => worker.reservedRequests().map(info),
    scheduledRequests: (): ScheduledRequest[] =>
      worker.scheduledRequests().map((req) => ({ eta: req.task.eta ? formatPythonIso(req.task.eta) : null, request: info(req) })),
    registeredTasks: (): RegisteredTask[] =>
      app.tasks.names().map((name) => {
        const options = app.tasks.get(name)!.options;
        return { name, attributes: { rate_limit: options.rate_limit ?? null, acks_late: options.acks_late ?? null, queue: options.queue ?? null } };
      }),
    stats: () => ({
      total: { ...worker.stats.processed },
      uptime: Math.floor((now() - startedAt) / 1000),
      pool: poolInfo({ implementation: 'ts-celery:async', maxConcurrency: worker.concurrency, processes: [process.pid], maxTasksPerChild: null }),
      broker: brokerInfo(app.brokerUrl, censorSettings(app.conf.broker_transport_options)),
      prefetch_count: worker.prefetchCount,
    }),
    activeQueues: () => worker.queues.map((name) => queueInfo(app.router.queue(name))),
    conf: (withDefaults) => {
      const entries = Object.entries({ ...app.conf, broker_url: app.brokerUrl }).filter(([, v]) => typeof v !== 'function' && !(v instanceof RegExp));
      // Without defaults Celery lists only what was changed; we list what is set to a value.
      // Censored as Celery's `Settings.table(censored=True)` does (and stricter: see censorSettings).
      return censorSettings(Object.fromEntries(withDefaults ? entries : entries.filter(([, v]) => v !== null && v !== undefined)));
    },
    markRevoked: async (ids) => {
      const backend = app.backend;
      if (!backend) return;
      const running = new Set(worker.activeRequests().map((r) => r.id));
      for (const id of ids) {
        if (running.has(id)) continue;
        const meta = await backend.getMeta(id);
        if (!REVOCABLE.has(meta.status)) continue;
        await backend.storeResult(
          // celery/worker/control.py _revoke: mark_as_revoked without a request, so children is None.
          buildTaskMeta({ taskId: id, status: REVOKED, result: toExceptionInfo(new TaskRevokedError('revoked')), children: null, dateDone: new Date(now()) }),
        );
      }
    },
    terminate: (ids) => worker.terminate(ids),
    setRateLimit: (taskName, rateLimit) => {
      if (!app.tasks.get(taskName)) return false;
      worker.setRateLimit(taskName, rateLimit);
      return true;
    },
    setTimeLimit: (taskName, limits) => {
      if (!app.tasks.get(taskName)) return false;
      worker.timeLimitOverrides.set(taskName, limits);
      return true;
    },
    addConsumer: (spec: ConsumerSpec) =>
      worker.addQueue(spec.queue, { exchange: spec.exchange, exchangeType: spec.exchangeType as ExchangeType, routingKey: spec.routingKey }),
    cancelConsumer: (queue) => worker.removeQueue(queue),
    poolGrow: (n) => worker.resizePool(worker.concurrency + n),
    poolShrink: (n) => worker.resizePool(worker.concurrency - n),
    shutdown: () => void worker.stop(),
  };
}
