// The worker as remote control sees it (control/controlled-worker.ts): inspect reads its
// requests, queues and counters; control commands revoke, terminate, resize, re-route and stop it.
import type { ControlledWorker, ConsumerSpec, RegisteredTask, ScheduledRequest } from '../control/controlled-worker.js';
import { brokerInfo, poolInfo, queueInfo, requestInfo, type RequestInfo } from '../control/worker-info.js';
import { toExceptionInfo } from '../protocol/exceptions.js';
import { formatPythonIso } from '../protocol/iso-time.js';
import { buildTaskMeta } from '../protocol/result-meta.js';
import { REVOKED } from '../protocol/states.js';
import { TaskRevokedError } from '../errors.js';
import type { Request } from './request.js';
import type { Worker } from './worker.js';

/** States a `revoke` may overwrite with REVOKED (Celery ≥5.6.2 `_revoke_store_result`). */
const REVOCABLE = new Set(['PENDING', 'RECEIVED', 'RETRY', 'REJECTED']);

export function controlledWorker(worker: Worker, startedAt: number, now: () => number): ControlledWorker {
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
      broker: brokerInfo(app.brokerUrl, app.conf.broker_transport_options),
      prefetch_count: worker.prefetchCount,
    }),
    activeQueues: () => worker.queues.map((name) => queueInfo(app.router.queue(name))),
    conf: (withDefaults) => {
      const entries = Object.entries(app.conf).filter(([, v]) => typeof v !== 'function' && !(v instanceof RegExp));
      // Without defaults Celery lists only what was changed; we list what is set to a value.
      return Object.fromEntries(withDefaults ? entries : entries.filter(([, v]) => v !== null && v !== undefined));
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
    addConsumer: (spec: ConsumerSpec) => void worker.addQueue(spec.queue).catch(() => {}),
    cancelConsumer: (queue) => worker.removeQueue(queue),
    poolGrow: (n) => worker.resizePool(worker.concurrency + n),
    poolShrink: (n) => worker.resizePool(worker.concurrency - n),
    shutdown: () => void worker.stop(),
  };
}
