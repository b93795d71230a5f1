// `/metrics`, `/healthz` and `/readyz` of a real worker on a real Redis: the counters of a busy
// worker equal what was sent, the gauges follow its load, and the probes flip when the broker
// goes away and comes back (a private redis-server; the shared one is never touched).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Celery } from '../../src/app.js';
import { Reject } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { Worker } from '../../src/worker/worker.js';
import { scrape, probe, total } from '../helpers/prometheus.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { claimRedis } from '../helpers/redis.js';

const claim = claimRedis('worker-metrics');
const { url, token, prefix } = claim;
const opened: (Celery | Worker)[] = [];

after(async () => {
  for (const thing of opened.reverse()) await (thing instanceof Worker ? thing.stop() : thing.close()).catch(() => {});
  await claim.deleteKeys();
});

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a busy worker: /metrics counts what it received, ran, failed, retried, rejected and revoked', async () => {
  const queue = `metrics-${token}`;
  const app = new Celery({
    broker_url: url,
    result_backend: url,
    broker_transport_options: { global_keyprefix: prefix },
    result_backend_transport_options: { global_keyprefix: prefix },
    task_default_queue: queue,
    worker_metrics_port: 0,
  });
  opened.push(app);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  app.task('m.add', (a: number, b: number) => a + b);
  app.task('m.held', async () => gate);
  app.task('m.fail', () => {
    throw new TypeError('bad input');
  });
  app.task({ name: 'm.flaky', max_retries: 3 }, ({ ctx }) => {
    if (ctx.retries < 1) ctx.retry({ countdown: 0 });
    return ctx.retries;
  });
  app.task('m.refuse', () => {
    throw new Reject('not for us', false);
  });
  const worker = new Worker(app, { mingle: false, concurrency: 4, prefetchMultiplier: 2, logger: createLogger({ level: 'critical' }) });
  opened.push(worker);
  await worker.start();
  const port = worker.metricsPortInUse!;
  assert.equal(typeof port, 'number');
  assert.equal(await probe(port, '/healthz'), 200);
  assert.equal(await probe(port, '/readyz'), 200);

  // Under load: four held tasks fill the pool, more wait in the prefetch window.
  const held = await Promise.all(Array.from({ length: 6 }, () => app.sendTask('m.held', [])));
  await until(async () => total((await scrape(port)).samples, 'celery_worker_tasks_active') === 4, 'four active tasks');
  const busy = (await scrape(port)).samples;
  assert.equal(total(busy, 'celery_worker_tasks_reserved'), 2);
  assert.equal(total(busy, 'celery_worker_prefetch_count'), 8);
  assert.equal(total(busy, 'celery_worker_concurrency'), 4);
  release();
  await Promise.all(held.map((r) => r.get({ timeout: 10 })));

  const sends = [
    ...Array.from({ length: 150 }, (_, i) => app.sendTask('m.add', [i, 1])),
    ...Array.from({ length: 7 }, () => app.sendTask('m.fail', [])),
    ...Array.from({ length: 5 }, () => app.sendTask('m.flaky', [])),
    ...Array.from({ length: 3 }, () => app.sendTask('m.refuse', [])),
    ...Array.from({ length: 4 }, () => app.sendTask('m.add', [0, 0], {}, { expires: new Date(Date.now() - 60_000) })),
    ...Array.from({ length: 2 }, () => app.sendTask('m.add', [0, 0], {}, { countdown: 0.3 })),
  ];
  const results = await Promise.all(sends);
  // A rejected task stores no result: wait for every other one.
  const waited = results.filter((_, i) => i < 162 || i >= 165);
  await Promise.all(waited.map((r) => r.get({ timeout: 20, propagate: false })));
  await until(async () => total((await scrape(port)).samples, 'celery_task_rejected_total') === 3, 'the rejections');

  const { samples, contentType } = await scrape(port);
  assert.match(contentType, /^text\/plain; version=0\.0\.4/);
  const q = { queue_name: queue, hostname: worker.hostname.split('@')[1]! };
  const add = { ...q, name: 'm.add' };
  assert.equal(total(samples, 'celery_task_received_total', add), 156);
  assert.equal(total(samples, 'celery_task_started_total', add), 152);
  assert.equal(total(samples, 'celery_task_succeeded_total', add), 152);
  assert.equal(total(samples, 'celery_task_revoked_total', add), 4);
  assert.equal(total(samples, 'celery_task_runtime_count', add), 152);
  assert.equal(total(samples, 'celery_task_failed_total', { ...q, name: 'm.fail', exception: 'TypeError' }), 7);
  assert.equal(total(samples, 'celery_task_succeeded_total', { ...q, name: 'm.fail' }), 0);
  // A retry is a new message: received and started twice, retried once, succeeded once.
  const flaky = { ...q, name: 'm.flaky' };
  assert.equal(total(samples, 'celery_task_received_total', flaky), 10);
  assert.equal(total(samples, 'celery_task_retried_total', flaky), 5);
  assert.equal(total(samples, 'celery_task_succeeded_total', flaky), 5);
  assert.equal(total(samples, 'celery_task_failed_total', flaky), 0);
  assert.equal(total(samples, 'celery_task_rejected_total', { ...q, name: 'm.refuse' }), 3);
  assert.equal(total(samples, 'celery_task_started_total'), 6 + 152 + 7 + 10 + 3);
  assert.equal(total(samples, 'celery_task_wait_seconds_count'), total(samples, 'celery_task_started_total'));
  assert.equal(total(samples, 'celery_worker_tasks_active'), 0);
  assert.equal(total(samples, 'celery_worker_up', { hostname: q.hostname }), 1);
  assert.ok(total(samples, 'process_resident_memory_bytes') > 0);
  assert.ok(samples.some((s) => s.name === 'nodejs_eventloop_lag_seconds'));
  assert.equal(total(samples, 'celery_worker_broker_reconnects_total'), 0);
  await worker.stop();
  await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'the port closes with the worker');
});

test('the probes flip when the broker goes away and comes back; reconnects are counted', async () => {
  const redis = await startRedisServer();
  try {
    const queue = `probes-${token}`;
    const app = new Celery({ broker_url: redis.url, result_backend: redis.url, task_default_queue: queue });
    opened.push(app);
    app.task('p.add', (a: number, b: number) => a + b);
    const worker = new Worker(app, { mingle: false, concurrency: 2, metricsPort: 0, logger: createLogger({ level: 'critical' }) });
    opened.push(worker);
    assert.equal(worker.metricsPortInUse, undefined);
    await worker.start();
    const port = worker.metricsPortInUse!;
    assert.equal(await probe(port, '/readyz'), 200);
    assert.equal(await (await app.sendTask('p.add', [1, 2])).get({ timeout: 10 }), 3);

    await redis.kill();
    await until(async () => (await probe(port, '/readyz')) === 503, '/readyz to fail');
    assert.equal(await probe(port, '/healthz'), 200, 'still alive: the process and its loop answer');

    await redis.restart();
    await until(async () => (await probe(port, '/readyz')) === 200, '/readyz to recover');
    assert.equal(await (await app.sendTask('p.add', [2, 3])).get({ timeout: 10 }), 5);
    const { samples } = await scrape(port);
    assert.equal(total(samples, 'celery_worker_broker_reconnects_total'), 1);
    assert.equal(total(samples, 'celery_task_succeeded_total', { name: 'p.add' }), 2);
    await worker.stop();
  } finally {
    await redis.kill();
  }
});

test('metrics are off by default: no port, nothing listening', async () => {
  const app = new Celery({ broker_url: url, broker_transport_options: { global_keyprefix: prefix }, task_default_queue: `off-${token}` });
  opened.push(app);
  const worker = new Worker(app, { mingle: false, concurrency: 1 });
  opened.push(worker);
  await worker.start();
  assert.equal(worker.metricsPortInUse, undefined);
  await worker.stop();
});
