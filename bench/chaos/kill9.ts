// Scenario 4: a worker is killed (kill -9) mid-drain with acks_late, and a replacement — ours, or
// Python Celery's — started once the visibility timeout has passed finishes the work.
// A private redis-server (broker and results); N `chaos.record` tasks (bench/chaos/worker-tasks.ts,
// bench/python/chaos_tasks.py), each appending its id to a list so every execution is counted.
// Our worker, a real `ts-celery worker` process, drains them and is SIGKILLed at a third. Nothing
// it held was acked: the messages stay in kombu's `unacked` hash until a worker's sweep finds
// them older than `visibility_timeout` and puts them back (kombu/transport/redis.py
// `QoS.restore_visible`, run by a Python worker as it starts consuming; ours likewise). A task
// that had run but whose result and ack had not landed runs again, so duplicates are bounded by
// the window the dead worker held: concurrency × prefetch multiplier.
// On RabbitMQ (`broker: 'rabbitmq'`, a queue of its own on the local node, results still in the
// private redis-server) the held deliveries go back to the queue the moment the dead worker's
// channel closes, so the replacement is started at once.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import amqplib from 'amqplib';
import { Redis } from 'ioredis';
import { Celery } from '../../src/app.js';
import type { ManagedProcess } from '../../test/helpers/child-process.js';
import { REPO_ROOT, startPythonWorker } from '../../test/helpers/python.js';
import { startRedisServer } from '../../test/helpers/redis-server.js';
import { startTsWorker, type TsWorker } from '../../test/helpers/ts-worker.js';
import { type ChaosRow, duplicatesIn, storedStates, waitUntil } from './common.js';

export type Replacement = 'typescript' | 'python';

/** The local RabbitMQ node the `rabbitmq` variant uses (one queue of its own, deleted after). */
export const CHAOS_AMQP_URL = process.env.CHAOS_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672//';

export interface WorkerKill9Options {
  n: number;
  replacement: Replacement;
  /** Redis (default: the private redis-server) or the local RabbitMQ. */
  broker?: 'redis' | 'rabbitmq';
  /** The killed worker's -c and --prefetch-multiplier (its window is their product). */
  concurrency?: number;
  prefetchMultiplier?: number;
  /** broker_transport_options.visibility_timeout on both workers, in seconds. */
  visibilityTimeoutS?: number;
  /** For the whole run after the kill (ms). */
  timeoutMs?: number;
}

export interface WorkerKill9Report extends ChaosRow {
  /** concurrency × prefetch multiplier of the killed worker. */
  window: number;
  /** Messages the killed worker held (in `unacked`) when it died; null on RabbitMQ (the broker keeps that count). */
  held: number | null;
  /** Executions recorded before the kill. */
  ranBeforeKill: number;
  /** From the kill until every held message had run again (null on RabbitMQ). */
  heldRerunMs: number | null;
  /** Keys left in the queue and `unacked` at the end. */
  leftInBroker: number;
}

const TASK = 'chaos.record';
const RUNS_KEY = 'chaos:runs';

interface Run {
  id: string;
  pid: number;
  at: number;
}

function parseRun(line: string): Run {
  const [id = '', pid = '', at = ''] = line.split(' ');
  return { id, pid: Number(pid), at: Number(at) };
}

export async function workerKill9(opts: WorkerKill9Options): Promise<WorkerKill9Report> {
  const concurrency = opts.concurrency ?? 4;
  const prefetchMultiplier = opts.prefetchMultiplier ?? 2;
  const visibilityTimeoutS = opts.visibilityTimeoutS ?? 3;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const onRabbit = opts.broker === 'rabbitmq';
  const server = await startRedisServer();
  const token = `kill9-${randomBytes(4).toString('hex')}`;
  const queue = `${token}.q`;
  const brokerUrl = onRabbit ? CHAOS_AMQP_URL : server.url;
  const env = {
    CHAOS_REDIS_URL: server.url,
    CHAOS_BROKER_URL: brokerUrl,
    CHAOS_QUEUE: queue,
    ...(onRabbit ? {} : { CHAOS_VISIBILITY_TIMEOUT: String(visibilityTimeoutS) }),
    CHAOS_RUNS_KEY: RUNS_KEY,
  };
  const app = new Celery({ broker_url: brokerUrl, result_backend: server.url, task_default_queue: queue });
  const redis = new Redis(server.url);
  const workers: ManagedProcess[] = [];
  const leftInBroker = () => brokerCount(redis, queue, onRabbit);
  try {
    const ids: string[] = [];
    for (let i = 0; i < opts.n; i += 1000) {
      const batch = await Promise.all(Array.from({ length: Math.min(1000, opts.n - i) }, () => app.sendTask(TASK, [])));
      ids.push(...batch.map((r) => r.id));
    }
    const ownClients = await clientIds(redis);
    const first: TsWorker = await startTsWorker({
      app: 'bench/chaos/worker-tasks.ts',
      queues: [queue],
      nodeName: `${token}-first@localhost`,
      env,
      concurrency,
      extraArgs: ['--prefetch-multiplier', String(prefetchMultiplier), '--without-heartbeat'],
    });
    workers.push(first);
    await waitUntil('a third of the tasks to run', async () => (await redis.llen(RUNS_KEY)) >= opts.n / 3, timeoutMs, 2).catch((error: Error) => {
      throw new Error(`${error.message}\n${first.logs().slice(-3000)}`);
    });
    first.kill('SIGKILL');
    const killedAt = Date.now();
    await first.exited();
    // Commands the dead worker had already written still reach the server before its sockets
    // close; read what it left only once they have.
    await waitUntil("the dead worker's connections to close", async () => [...(await clientIds(redis))].every((id) => ownClients.has(id)), 10_000, 10);
    const ranBeforeKill = await redis.llen(RUNS_KEY);

    // What the dead worker held: fetched, registered in `unacked`, never acked (Redis only).
    const heldIds = onRabbit ? [] : Object.values(await redis.hgetall('unacked')).map((raw) => (JSON.parse(raw) as [{ headers: { id: string } }])[0].headers.id);
    if (!onRabbit) {
      const scores = (await redis.zrange('unacked_index', 0, -1, 'WITHSCORES')).filter((_, i) => i % 2 === 1).map(Number);
      const due = (Math.max(killedAt / 1000, ...scores) + visibilityTimeoutS) * 1000 + 100;
      await waitUntil('the visibility timeout to pass', () => Date.now() > due, (visibilityTimeoutS + 5) * 1000, 20);
    }

    const spawnedAt = Date.now();
    const nodeName = `${token}-second@localhost`;
    const second =
      opts.replacement === 'typescript'
        ? await startTsWorker({ app: 'bench/chaos/worker-tasks.ts', queues: [queue], nodeName, env, extraArgs: ['--without-heartbeat'] })
        : await startPythonWorker({ app: 'chaos_tasks', dir: resolve(REPO_ROOT, 'bench/python'), queues: [queue], nodeName, env, pool: 'threads', concurrency: 8 });
    workers.push(second);
    try {
      await waitUntil('every result to be stored', async () => (await storedStates(redis, ids)).size === opts.n, timeoutMs, 200);
      await waitUntil('the broker to drain', async () => (await leftInBroker()) === 0, 10_000, 50);
    } catch (error) {
      const stored = (await storedStates(redis, ids)).size;
      throw new Error(`${(error as Error).message}: ${stored}/${opts.n} stored, ${await leftInBroker()} left on the broker\n${second.logs().slice(-3000)}`);
    }
    const states = await storedStates(redis, ids);
    const runs = (await redis.lrange(RUNS_KEY, 0, -1)).map(parseRun);
    const counts = new Map<string, number>();
    for (const r of runs) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
    const byReplacement = runs.filter((r) => r.pid === second.pid);
    const firstAfter = Math.min(...byReplacement.map((r) => r.at));
    const held = new Set(heldIds);
    const heldRerunMs = Math.max(...byReplacement.filter((r) => held.has(r.id)).map((r) => r.at)) - killedAt;
    const left = await leftInBroker();
    await second.stop();
    const by = opts.replacement === 'typescript' ? 'a TypeScript' : 'a Python Celery';
    const window = concurrency * prefetchMultiplier;
    return {
      scenario: onRabbit
        ? `RabbitMQ (one node): worker kill -9 mid-drain, acks_late, ${by} worker started at once`
        : `worker kill -9 mid-drain, acks_late, ${by} worker started after visibility_timeout (${visibilityTimeoutS} s)`,
      n: opts.n,
      lost: opts.n - [...states.values()].filter((s) => s === 'SUCCESS').length,
      duplicates: duplicatesIn(counts.values()),
      resumeMs: firstAfter - spawnedAt,
      note: onRabbit
        ? `killed at ${ranBeforeKill}/${opts.n} (window ${window}); resume = replacement start → its first task`
        : `killed at ${ranBeforeKill}/${opts.n} holding ${heldIds.length} (window ${window}); held tasks all re-ran ${(heldRerunMs / 1000).toFixed(1)} s after the kill; resume = replacement start → its first task`,
      window,
      held: onRabbit ? null : heldIds.length,
      ranBeforeKill,
      heldRerunMs: onRabbit ? null : heldRerunMs,
      leftInBroker: left,
    };
  } finally {
    for (const w of workers) w.kill();
    await Promise.all(workers.map((w) => w.exited()));
    await app.close().catch(() => {});
    if (onRabbit) await deleteQueue(queue);
    redis.disconnect();
    await server.destroy();
  }
}

/** CLIENT LIST ids of the server's connections. */
async function clientIds(redis: Redis): Promise<Set<string>> {
  return new Set([...String(await redis.client('LIST')).matchAll(/\bid=(\d+)/g)].map((m) => m[1]!));
}

/** Messages still on the broker: ready in the queue (RabbitMQ), or in the queue and kombu's `unacked` hash (Redis). */
async function brokerCount(redis: Redis, queue: string, onRabbit: boolean): Promise<number> {
  if (!onRabbit) return (await redis.hlen('unacked')) + (await redis.llen(queue));
  const conn = await amqplib.connect(CHAOS_AMQP_URL);
  try {
    const ch = await conn.createChannel();
    const { messageCount } = await ch.checkQueue(queue);
    return messageCount;
  } finally {
    await conn.close();
  }
}

async function deleteQueue(queue: string): Promise<void> {
  const conn = await amqplib.connect(CHAOS_AMQP_URL);
  try {
    const ch = await conn.createChannel();
    await ch.deleteQueue(queue);
  } finally {
    await conn.close();
  }
}
