// Issue 11 §4 on the real Redis: worker_eta_task_limit bounds the ETA messages a worker holds;
// a flood of far-future tasks stays on the broker, and other tasks keep running meanwhile.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { Celery } from '../../src/app.js';
import { Worker } from '../../src/worker/worker.js';
import { claimRedis } from '../helpers/redis.js';

const claim = claimRedis('worker-eta-limit');
const { url, token, prefix } = claim;
const queue = `eta-${token}`;
const redis = new Redis(url);
const app = new Celery({
  broker_url: url,
  result_backend: url,
  broker_transport_options: { global_keyprefix: prefix },
  result_backend_transport_options: { global_keyprefix: prefix },
  task_default_queue: queue,
  worker_eta_task_limit: 5,
  worker_prefetch_multiplier: 2,
});
app.task('eta.add', (a: number, b: number) => a + b);
const worker = new Worker(app, { mingle: false, concurrency: 1, heartbeat: false, remoteControl: false });

after(async () => {
  await worker.stop();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

test('a flood of far-future tasks: at most worker_eta_task_limit held, the rest stay on the broker, others run', async () => {
  const flood = 40;
  for (let i = 0; i < flood; i++) await app.sendTask('eta.add', [i, 0], {}, { countdown: 3600 + i });
  await worker.start();
  const now = await Promise.all(Array.from({ length: 20 }, (_, i) => app.sendTask('eta.add', [i, 100])));
  assert.deepEqual(await Promise.all(now.map((r) => r.get({ timeout: 30 }))), Array.from({ length: 20 }, (_, i) => i + 100));
  // Held: 5 (the limit) plus at most the base window (2) waiting to go back.
  const scheduled = worker.scheduledRequests().length;
  assert.ok(scheduled >= 5 && scheduled <= 5 + 2, `scheduled ${scheduled}`);
  // A message given back is pushed to the queue before it leaves the unacked hash (two commands,
  // as kombu restores it), so a read can catch it in both for a moment: wait for a settled count.
  let onBroker = 0;
  let unacked = 0;
  const deadline = Date.now() + 10_000;
  do {
    [[, onBroker], [, unacked]] = (await redis.multi().llen(`${prefix}${queue}`).hlen(`${prefix}unacked`).exec()) as [[null, number], [null, number]];
    if (onBroker + unacked === flood) break;
    await new Promise((r) => setTimeout(r, 50));
  } while (Date.now() < deadline);
  assert.equal(onBroker + unacked, flood, `queue ${onBroker} + unacked ${unacked}`);
  assert.ok(onBroker >= flood - 7, `only ${onBroker} left on the broker`);
});
