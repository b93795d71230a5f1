// Scenario 1: the Redis broker is killed (kill -9) mid-drain and comes back with its append-only
// file (`appendfsync always`). One worker of ours; results in db 1 of the same server, written
// with result_backend_always_retry (they cannot land while the server is away).
// acks_late: every task stays in kombu's `unacked` hash until its result is stored, so nothing is
// lost. Early acks (Celery's default): kombu's Redis transport also keeps a fetched message in
// `unacked` until the ack — which then comes before the task runs — so a broker restart loses
// nothing either; what early acks lose is a worker crash's running tasks (scenario 4).
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Celery } from '../../src/app.js';
import { createLogger } from '../../src/log.js';
import { Worker } from '../../src/worker/worker.js';
import { startRedisServer } from '../../test/helpers/redis-server.js';
import { type ChaosRow, duplicatesIn, storedStates, waitUntil } from './common.js';

export interface BrokerRestartOptions {
  n: number;
  acksLate: boolean;
  /** How long the server stays away (ms). */
  outageMs?: number;
  resumeTimeoutMs?: number;
  logLevel?: "info" | "warning" | "debug";
  log?: (line: string) => void;
}

export interface BrokerRestartReport extends ChaosRow {
  /** Log lines of the worker (warnings and errors). */
  lines: string[];
  /** Keys left in the broker's db (queue, unacked) at the end. */
  leftInBroker: number;
}

export async function brokerRestart(opts: BrokerRestartOptions): Promise<BrokerRestartReport> {
  const server = await startRedisServer(undefined, { aof: true });
  const brokerUrl = `redis://127.0.0.1:${server.port}/0`;
  const backendUrl = `redis://127.0.0.1:${server.port}/1`;
  const app = new Celery({
    broker_url: brokerUrl,
    result_backend: backendUrl,
    task_default_queue: 'chaos-restart',
    task_acks_late: opts.acksLate,
    // A fetch whose reply the kill cut off leaves its message only in `unacked`: a short
    // visibility_timeout and restore sweep bring it back within seconds (default: 1 h).
    broker_transport_options: { visibility_timeout: 3, unacked_restore_interval: 1, unacked_restore_throttle: 1 },
    result_backend_always_retry: true,
    result_backend_max_sleep_between_retries_ms: 500,
  });
  const executions = new Map<string, number>();
  const startedAt: number[] = [];
  app.task('chaos.work', async function (this: { id: string }, i: number) {
    executions.set(this.id, (executions.get(this.id) ?? 0) + 1);
    startedAt.push(Date.now());
    await sleep(1);
    return i;
  });
  const lines: string[] = [];
  const worker = new Worker(app, {
    mingle: false,
    heartbeat: false,
    remoteControl: false,
    concurrency: 8,
    prefetchMultiplier: 4,
    logger: createLogger({ level: opts.logLevel ?? "warning", write: (l) => lines.push(l) }),
  });
  const results = new Redis(backendUrl, { maxRetriesPerRequest: null });
  const broker = new Redis(brokerUrl, { maxRetriesPerRequest: null });
  results.on('error', () => {});
  broker.on('error', () => {});
  try {
    const ids: string[] = [];
    for (let i = 0; i < opts.n; i += 500) {
      const batch = await Promise.all(Array.from({ length: Math.min(500, opts.n - i) }, (_, j) => app.sendTask('chaos.work', [i + j])));
      ids.push(...batch.map((r) => r.id));
    }
    await worker.start();
    await waitUntil('a third of the tasks to run', () => executions.size >= opts.n / 3, 60_000, 5);
    const atKill = executions.size;
    await server.kill();
    opts.log?.(`broker killed after ${executions.size} tasks started`);
    await sleep(opts.outageMs ?? 1000);
    // Timed from the restart itself: restart() resolves only once its probe's PING is answered,
    // and the worker (in this process) may reconnect and drain everything before that.
    const back = Date.now();
    await server.restart();
    try {
      await waitUntil('every result to be stored', async () => (await storedStates(results, ids)).size === opts.n, opts.resumeTimeoutMs ?? 60_000, 100);
    } catch (error) {
      const stored = (await storedStates(results, ids)).size;
      throw new Error(`${(error as Error).message}: ${executions.size} ran, ${stored} stored, queue ${await broker.llen('chaos-restart')}, unacked ${await broker.hlen('unacked')}\n${lines.slice(-20).join('\n')}`);
    }
    const states = await storedStates(results, ids);
    const firstAfter = startedAt.find((t) => t >= back);
    await waitUntil('the broker to drain', async () => (await broker.dbsize()) === 0 || ((await broker.exists('unacked')) === 0 && (await broker.llen('chaos-restart')) === 0), 10_000, 50);
    const leftInBroker = (await broker.hlen('unacked')) + (await broker.llen('chaos-restart'));
    return {
      scenario: `Redis broker kill -9 + restart (AOF always), ${opts.acksLate ? 'acks_late' : 'early ack'}`,
      n: opts.n,
      lost: opts.n - [...states.values()].filter((s) => s === 'SUCCESS').length,
      duplicates: duplicatesIn(executions.values()),
      resumeMs: firstAfter === undefined ? null : firstAfter - back,
      note: `outage ${opts.outageMs ?? 1000} ms at ${Math.round((atKill / opts.n) * 100)}%`,
      lines,
      leftInBroker,
    };
  } finally {
    await worker.stop().catch(() => {});
    await app.close().catch(() => {});
    results.disconnect();
    broker.disconnect();
    await server.destroy();
  }
}
