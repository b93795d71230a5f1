// A drain through broker faults, shared by the failover test (small, in `npm test`) and the chaos
// run (full scale, `npm run chaos:rabbitmq`): N tasks published with publisher confirms to a
// durable queue (classic or quorum) on private RabbitMQ nodes; a worker with acks_late, its
// broker URL a `;`-list of the nodes, drains them into the Redis result backend; faults fire
// when a given share of the results is in. Every execution is counted per task id inside the
// worker, so the outcome says how many tasks were lost (no result), how many ran twice, and how
// long the worker took to run tasks again after each fault.
import { Redis } from 'ioredis';
import { Celery } from '../../src/app.js';
import { createLogger } from '../../src/log.js';
import type { TaskContext } from '../../src/registry/task-definition.js';
import { Worker } from '../../src/worker/worker.js';
import type { RabbitNode } from './rabbitmq-node.js';
import type { RedisClaim } from './redis.js';

export interface Fault {
  /** Fire once this share (0..1) of the tasks has a result. */
  readonly at: number;
  readonly label: string;
  /** Do it; may resolve to the moment the fault hit (default: when run() was called). */
  run(): Promise<void | number>;
}

export interface DrainOptions {
  /** The worker's URL list, in order (it starts on the first). */
  readonly workerNodes: readonly RabbitNode[];
  /** Where the producer declares the queue and publishes (a quorum queue's first leader). */
  readonly producerNode: RabbitNode;
  readonly queueType: 'classic' | 'quorum';
  readonly n: number;
  readonly concurrency: number;
  readonly prefetchMultiplier: number;
  /** Milliseconds each task takes (a timer, so a drain outlasts the faults). */
  readonly taskMs: number;
  readonly faults: readonly Fault[];
  /** The result backend's db and key prefix (a test file's claim, or the chaos run's own). */
  readonly redis: Pick<RedisClaim, 'url' | 'prefix' | 'token' | 'deleteKeys'>;
  /** Give up after this long (default 90 s). */
  readonly timeoutMs?: number;
}

export interface FaultOutcome {
  readonly label: string;
  /** Results in when the fault fired. */
  readonly firedAt: number;
  /** From the fault's start until the worker started a task again. */
  readonly resumeMs: number;
}

export interface DrainOutcome {
  readonly n: number;
  /** Tasks with no stored result. */
  readonly lost: number;
  /** Executions beyond the first, over all tasks. */
  readonly duplicates: number;
  /** The most executions of one task. */
  readonly maxRuns: number;
  /** The prefetch window (concurrency × multiplier): what one lost channel can hold unacked. */
  readonly window: number;
  readonly faults: readonly FaultOutcome[];
  readonly drainMs: number;
  /** The node (host:port) the worker ended on. */
  readonly finalNode: string;
}

export async function drainThroughFaults(o: DrainOptions): Promise<DrainOutcome> {
  const queue = `${o.redis.token}.drain`;
  const conf = {
    result_backend: o.redis.url,
    result_backend_transport_options: { global_keyprefix: o.redis.prefix },
    task_default_queue: queue,
    task_default_queue_type: o.queueType,
    task_acks_late: true,
    worker_detect_quorum_queues: true,
  };
  const producer = new Celery({ ...conf, broker_url: o.producerNode.url, broker_transport_options: { confirm_publish: true } });
  const runs = new Map<string, number>();
  let started = 0;
  let lastStart = Date.now();
  const defineTask = (app: Celery) =>
    app.task('chaos.work', async function (this: TaskContext, i: number) {
      runs.set(this.id, (runs.get(this.id) ?? 0) + 1);
      started++;
      lastStart = Date.now();
      await new Promise((r) => setTimeout(r, o.taskMs));
      return i;
    });
  const work = defineTask(producer) as { delay(i: number): Promise<{ id: string }> };
  const ids: string[] = [];
  const admin = new Redis(o.redis.url);
  let worker: Worker | undefined;
  const app = new Celery({ ...conf, broker_url: o.workerNodes.map((n) => n.url).join(';') });
  try {
    for (let i = 0; i < o.n; i++) ids.push((await work.delay(i)).id);
    await producer.close();
    defineTask(app);
    worker = new Worker(app, {
      concurrency: o.concurrency,
      prefetchMultiplier: o.prefetchMultiplier,
      mingle: false,
      heartbeat: false,
      remoteControl: false,
      nodeName: `${o.redis.token}@localhost`,
      logger: createLogger({ level: 'critical', write: () => undefined }),
    });
    const keys = ids.map((id) => `${o.redis.prefix}celery-task-meta-${id}`);
    const stored = async () => (await admin.exists(...keys));
    const began = Date.now();
    await worker.start();
    const faults: FaultOutcome[] = [];
    const deadline = began + (o.timeoutMs ?? 90_000);
    for (const fault of o.faults) {
      for (;;) {
        const done = await stored();
        if (done >= fault.at * o.n) break;
        if (Date.now() > deadline) throw new Error(`drain stuck before "${fault.label}": ${done}/${o.n} results`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const firedAt = await stored();
      const called = Date.now();
      const startedBefore = started;
      const t0 = (await fault.run()) ?? called;
      // Resumed: a task started after the fault hit (or the drain is over).
      while (started === startedBefore || lastStart < t0) {
        if ((await stored()) === o.n) break;
        if (Date.now() > deadline) throw new Error(`no task ran after "${fault.label}" (${await stored()}/${o.n} results)`);
        await new Promise((r) => setTimeout(r, 10));
      }
      faults.push({ label: fault.label, firedAt, resumeMs: Math.max(0, lastStart - t0) });
    }
    for (;;) {
      const done = await stored();
      if (done === o.n) break;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const drainMs = Date.now() - began;
    const lost = o.n - (await stored());
    let duplicates = 0;
    let maxRuns = 0;
    for (const id of ids) {
      const r = runs.get(id) ?? 0;
      duplicates += Math.max(0, r - 1);
      maxRuns = Math.max(maxRuns, r);
    }
    const finalNode = (app.transport as { currentNode?: string }).currentNode ?? '?';
    return { n: o.n, lost, duplicates, maxRuns, window: o.concurrency * o.prefetchMultiplier, faults, drainMs, finalNode };
  } finally {
    await worker?.stop().catch(() => undefined);
    await app.close().catch(() => undefined);
    await producer.close().catch(() => undefined);
    await o.redis.deleteKeys().catch(() => undefined);
    admin.disconnect();
  }
}
