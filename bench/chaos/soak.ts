// Soak (bench only): N no-op tasks through one `ts-celery worker` process, results on with a short
// result_expires, on a private redis-server. A producer keeps a bounded backlog queued while the
// worker drains; the worker's resident set is sampled every `sampleEvery` tasks. Afterwards the
// server must hold nothing but result keys and kombu's binding sets: no queue, `unacked` or
// `unacked_index` entry left behind by a million fetches and acks.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Celery } from '../../src/app.js';
import { startRedisServer } from '../../test/helpers/redis-server.js';
import { startTsWorker } from '../../test/helpers/ts-worker.js';
import { rssMiB, waitUntil } from './common.js';

export interface SoakOptions {
  n: number;
  /** Sample the worker's RSS every this many tasks done (default n / 10). */
  sampleEvery?: number;
  /** Most messages kept queued ahead of the worker (default 50,000). */
  backlog?: number;
  /** result_expires of the worker, in seconds (default 10). */
  resultExpiresS?: number;
}

export interface RssSample {
  /** Tasks acknowledged when the sample was taken. */
  done: number;
  rssMiB: number;
  /** Seconds since the worker started. */
  atS: number;
}

export interface SoakReport {
  n: number;
  drainS: number;
  /** Tasks per second over the whole run (producer and worker share the machine). */
  rate: number;
  samples: RssSample[];
  /** Last sample minus the first, MiB. */
  growthMiB: number;
  resultKeys: number;
  /** kombu's `_kombu.binding.*` / `_kombu.binding_permanent.*` sets: the exchanges' routing tables, kept by design. */
  bindingKeys: number;
  /** Any other key left in the server (a queue, `unacked`, `unacked_index`, …). */
  leftover: string[];
}

const RESULT_KEY = /^celery-task-meta-/;
const BINDING_KEY = /^_kombu\.binding(_permanent)?\./;

export async function soak(opts: SoakOptions): Promise<SoakReport> {
  const sampleEvery = opts.sampleEvery ?? Math.max(1, Math.floor(opts.n / 10));
  const backlog = opts.backlog ?? 50_000;
  const server = await startRedisServer();
  const queue = `soak-${randomBytes(4).toString('hex')}`;
  const app = new Celery({ broker_url: server.url, task_default_queue: queue });
  const redis = new Redis(server.url);
  const worker = await startTsWorker({
    app: 'bench/chaos/worker-tasks.ts',
    queues: [queue],
    nodeName: `${queue}@localhost`,
    env: { CHAOS_REDIS_URL: server.url, CHAOS_QUEUE: queue, CHAOS_RESULT_EXPIRES: String(opts.resultExpiresS ?? 10) },
    extraArgs: ['-l', 'warning', '--without-heartbeat'],
    // At warning level the banner is what the worker prints as it comes up.
    readyText: '[tasks]',
  });
  try {
    const started = Date.now();
    let sent = 0;
    const produce = async () => {
      while (sent < opts.n) {
        if ((await redis.llen(queue)) > backlog) {
          await sleep(20);
          continue;
        }
        const batch = Math.min(5000, opts.n - sent);
        for (let i = 0; i < batch; i += 1000) {
          await Promise.all(Array.from({ length: Math.min(1000, batch - i) }, () => app.sendTask('chaos.noop', [])));
        }
        sent += batch;
      }
    };
    const producing = produce();
    let failed: unknown;
    producing.catch((error: unknown) => (failed = error));
    const samples: RssSample[] = [];
    const done = async () => sent - (await redis.llen(queue)) - (await redis.hlen('unacked'));
    for (let mark = sampleEvery; mark <= opts.n; mark += sampleEvery) {
      await waitUntil(`${mark} tasks done`, async () => {
        if (failed) throw failed;
        if (!worker.running) throw new Error(`the worker exited:\n${worker.logs().slice(-3000)}`);
        return (await done()) >= mark;
      }, 600_000, 10);
      samples.push({ done: mark, rssMiB: Math.round(await rssMiB(worker.pid)), atS: (Date.now() - started) / 1000 });
      console.log(`  ${mark.toLocaleString('en-US')} done: worker RSS ${samples.at(-1)!.rssMiB} MiB (${samples.at(-1)!.atS.toFixed(0)} s)`);
    }
    await producing;
    await waitUntil('the queue and unacked to empty', async () => (await redis.llen(queue)) + (await redis.hlen('unacked')) === 0, 60_000, 50);
    const drainS = (Date.now() - started) / 1000;
    // The last results are written just after their (early) acks.
    await sleep(500);
    const keys: string[] = [];
    for (let cursor = '0'; ; ) {
      const [next, found] = await redis.scan(cursor, 'COUNT', 10_000);
      keys.push(...found);
      cursor = next;
      if (cursor === '0') break;
    }
    return {
      n: opts.n,
      drainS,
      rate: opts.n / drainS,
      samples,
      growthMiB: samples.length ? samples.at(-1)!.rssMiB - samples[0]!.rssMiB : 0,
      resultKeys: keys.filter((k) => RESULT_KEY.test(k)).length,
      bindingKeys: keys.filter((k) => BINDING_KEY.test(k)).length,
      leftover: keys.filter((k) => !RESULT_KEY.test(k) && !BINDING_KEY.test(k)),
    };
  } finally {
    await worker.stop().catch(() => worker.kill());
    await app.close().catch(() => {});
    redis.disconnect();
    await server.destroy();
  }
}
