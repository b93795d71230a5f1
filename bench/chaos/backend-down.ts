// Scenario 2, result-backend half: the broker stays up while the result backend (a second private
// redis-server, append-only) is killed mid-drain and comes back. With result_backend_always_retry
// each write is retried with backoff and logged (celery/backends/base.py `_ensure_retryable`),
// and an acks_late message stays in kombu's `unacked` hash until its result is stored.
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Celery } from '../../src/app.js';
import { createLogger } from '../../src/log.js';
import { Worker } from '../../src/worker/worker.js';
import { startRedisServer } from '../../test/helpers/redis-server.js';
import { type ChaosRow, duplicatesIn, storedStates, waitUntil } from './common.js';

export interface BackendDownReport extends ChaosRow {
  /** "Failed operation _store_result" warnings logged during the outage. */
  retryWarnings: number;
  /** Messages still unacked on the broker while the backend was down (ran, result not stored). */
  unackedDuringOutage: number;
  /** Tasks that had finished running while the backend was down. */
  ranDuringOutage: number;
  leftInBroker: number;
}

export async function backendDown(opts: { n: number; outageMs?: number }): Promise<BackendDownReport> {
  const brokerServer = await startRedisServer();
  const backendServer = await startRedisServer(undefined, { aof: true });
  const app = new Celery({
    broker_url: brokerServer.url,
    result_backend: backendServer.url,
    task_default_queue: 'chaos-backend',
    task_acks_late: true,
    result_backend_always_retry: true,
    result_backend_max_sleep_between_retries_ms: 200,
  });
  const executions = new Map<string, number>();
  app.task('chaos.work', async function (this: { id: string }, i: number) {
    executions.set(this.id, (executions.get(this.id) ?? 0) + 1);
    await sleep(1);
    return i;
  });
  const lines: string[] = [];
  const worker = new Worker(app, { mingle: false, heartbeat: false, remoteControl: false, concurrency: 4, prefetchMultiplier: 2, logger: createLogger({ level: 'warning', write: (l) => lines.push(l) }) });
  const broker = new Redis(brokerServer.url);
  const results = new Redis(backendServer.url, { maxRetriesPerRequest: null });
  results.on('error', () => {});
  try {
    const ids = (await Promise.all(Array.from({ length: opts.n }, (_, i) => app.sendTask('chaos.work', [i])))).map((r) => r.id);
    await worker.start();
    process.env.CHAOS_DEBUG && console.error('worker started');
    await waitUntil('a third of the results', async () => (await results.dbsize()) >= opts.n / 3, 60_000, 5);
    process.env.CHAOS_DEBUG && console.error('kill backend');
    await backendServer.kill();
    const ranBefore = executions.size;
    await sleep(opts.outageMs ?? 1000);
    const unackedDuringOutage = await broker.hlen('unacked');
    const ranDuringOutage = executions.size - ranBefore;
    const retryWarnings = lines.filter((l) => l.includes('Failed operation _store_result')).length;
    process.env.CHAOS_DEBUG && console.error('restart backend', retryWarnings, unackedDuringOutage);
    // Timed from the restart itself: restart() resolves only once its probe's PING is answered,
    // and the worker (in this process) may have stored results — or all of them — by then.
    const back = Date.now();
    await backendServer.restart();
    const countBack = await results.dbsize();
    const stored = async () => (await results.dbsize()) > countBack || (await storedStates(results, ids)).size === opts.n;
    await waitUntil('a result stored after the restart', stored, 30_000, 5);
    const resumeMs = Date.now() - back;
    await waitUntil('every result to be stored', async () => (await storedStates(results, ids)).size === opts.n, 60_000, 100);
    const states = await storedStates(results, ids);
    await waitUntil('the broker to drain', async () => (await broker.hlen('unacked')) === 0, 10_000);
    return {
      scenario: 'Result backend Redis kill -9 + restart (broker up), acks_late, result_backend_always_retry',
      n: opts.n,
      lost: opts.n - [...states.values()].filter((s) => s === 'SUCCESS').length,
      duplicates: duplicatesIn(executions.values()),
      resumeMs,
      note: `${retryWarnings} retry warnings; ${unackedDuringOutage} unacked while down`,
      retryWarnings,
      unackedDuringOutage,
      ranDuringOutage,
      leftInBroker: (await broker.hlen('unacked')) + (await broker.llen('chaos-backend')),
    };
  } finally {
    await worker.stop().catch(() => {});
    await app.close().catch(() => {});
    broker.disconnect();
    results.disconnect();
    await brokerServer.destroy();
    await backendServer.destroy();
  }
}
