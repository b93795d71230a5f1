// The worker against the real Redis: kombu bookkeeping left exactly as Python workers expect it
// (unacked hash/index), acks_late, ETA holding, warm shutdown giving messages back at the front,
// and surviving a dropped connection.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { Celery } from '../../src/app.js';
import { createLogger } from '../../src/log.js';
import { markRedelivered } from '../../src/protocol/envelope.js';
import { Worker } from '../../src/worker/worker.js';
import { claimRedis } from '../helpers/redis.js';

const redisClaim = claimRedis('worker-redis');
const { url, token, prefix } = redisClaim;
const redis = new Redis(url);
const opened: (Celery | Worker)[] = [];

after(async () => {
  for (const thing of opened.reverse()) await (thing instanceof Worker ? thing.stop() : thing.close());
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

function makeApp(queue: string, extra: Record<string, unknown> = {}): Celery {
  const app = new Celery({
    broker_url: url,
    result_backend: url,
    broker_transport_options: { global_keyprefix: prefix },
    result_backend_transport_options: { global_keyprefix: prefix },
    task_default_queue: queue,
    ...extra,
  });
  app.task('w.add', (a: number, b: number) => a + b);
  app.task('w.sleep', (ms: number) => new Promise((r) => setTimeout(() => r(ms), ms)));
  opened.push(app);
  return app;
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function startWorker(app: Celery, options: ConstructorParameters<typeof Worker>[1] = {}): Worker {
  const worker = new Worker(app, { mingle: false, concurrency: 2, logger: createLogger({ level: 'error' }), ...options });
  opened.push(worker);
  return worker;
}

test('every finished task leaves the unacked hash and index empty', async () => {
  const app = makeApp(`q1-${token}`);
  const worker = startWorker(app);
  await worker.start();
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => app.sendTask('w.add', [i, i])));
  const values = await Promise.all(results.map((r) => r.get({ timeout: 10 })));
  assert.deepEqual(values, Array.from({ length: 200 }, (_, i) => 2 * i));
  await until(async () => (await redis.hlen(`${prefix}unacked`)) === 0, 'unacked to drain');
  assert.equal(await redis.zcard(`${prefix}unacked_index`), 0);
  await worker.stop();
});

test('acks_late: the message stays in unacked while the task runs, gone after success', async () => {
  const queue = `q2-${token}`;
  const app = makeApp(queue, { task_acks_late: true });
  const worker = startWorker(app, { concurrency: 1 });
  await worker.start();
  const r = await app.sendTask('w.sleep', [400]);
  await until(async () => worker.activeRequests().length === 1, 'the task to start');
  const held = await redis.hgetall(`${prefix}unacked`);
  const entries = Object.values(held).map((v) => JSON.parse(v) as [Record<string, unknown>, string, string]);
  assert.equal(entries.length, 1);
  const [envelope, exchange, routingKey] = entries[0]!;
  assert.equal((envelope.headers as Record<string, unknown>).id, r.id);
  assert.equal(exchange, '');
  assert.equal(routingKey, queue);
  assert.equal(await r.get({ timeout: 20 }), 400);
  await until(async () => (await redis.hlen(`${prefix}unacked`)) === 0, 'the ack');
  await worker.stop();
});

test('an ETA task is held unacked, raises prefetch, and runs when due', async () => {
  const app = makeApp(`q3-${token}`);
  const worker = startWorker(app, { concurrency: 1, prefetchMultiplier: 1 });
  await worker.start();
  const held = await app.sendTask('w.add', [1, 1], {}, { countdown: 3 });
  await until(async () => worker.scheduledRequests().length === 1, 'the ETA task to be held');
  assert.equal(await redis.hlen(`${prefix}unacked`), 1);
  // prefetch is 1 × 1; the held message must not block a runnable one. Had it blocked the window,
  // the runnable one would be fetched only after the held one ran: the order of the two
  // date_done stamps tells, however slow the machine (no "still PENDING after N s" race).
  const now = await app.sendTask('w.add', [2, 2]);
  assert.equal(await now.get({ timeout: 20 }), 4);
  assert.equal(await held.get({ timeout: 20 }), 2);
  const [nowDone, heldDone] = [(await now.meta()).date_done, (await held.meta()).date_done];
  assert.ok(nowDone && heldDone && Date.parse(nowDone) < Date.parse(heldDone), `the runnable task finished at ${nowDone}, the held one at ${heldDone}`);
  await worker.stop();
});

test('warm shutdown gives reserved and ETA-held messages back at the front, lets running tasks finish', async () => {
  const queue = `q4-${token}`;
  const app = makeApp(queue, { task_acks_late: true });
  // prefetch = 1 × 2, +1 for the held ETA message: with acks_late the window is full once all
  // three are fetched, so the marker pushed afterwards stays in the list.
  const worker = startWorker(app, { concurrency: 1, prefetchMultiplier: 2 });
  await worker.start();
  const later = await app.sendTask('w.add', [6, 6], {}, { countdown: 60 });
  await until(async () => worker.scheduledRequests().length === 1, 'the ETA message to be held');
  const running = await app.sendTask('w.sleep', [500]);
  const waiting = await app.sendTask('w.add', [5, 5]);
  await until(async () => worker.activeRequests().length === 1 && worker.reservedRequests().length === 1, 'fetch');
  await redis.lpush(`${prefix}${queue}`, 'not-yet-fetched-marker');
  await worker.stop(); // closes the worker's app: read states through another one
  const reader = makeApp(queue);
  assert.equal(await reader.AsyncResult(running.id).state(), 'SUCCESS');
  assert.equal(await reader.AsyncResult(waiting.id).state(), 'PENDING');
  // RPUSH puts them at the consuming end: the next BRPOP takes them before the marker.
  const list = await redis.lrange(`${prefix}${queue}`, 0, -1);
  assert.equal(list.length, 3);
  assert.equal(list[0], 'not-yet-fetched-marker');
  const ids = list.slice(1).map((raw) => (JSON.parse(raw) as { headers: { id: string; redelivered?: boolean } }).headers);
  assert.deepEqual(ids.map((h) => h.id).sort(), [waiting.id, later.id].sort());
  assert.ok(ids.every((h) => h.redelivered === true));
  assert.equal(await redis.hlen(`${prefix}unacked`), 0);
  await redis.del(`${prefix}${queue}`);
});

test('cold shutdown cancels running tasks as Celery does: early-acked ones RETRY (cancelled by Celery), acks_late ones back in the queue, late outcomes dropped', async () => {
  const queue = `q6-${token}`;
  const app = makeApp(queue);
  // Each ends only after the cold shutdown aborted it, and then would succeed or fail: both dropped.
  app.task({ name: 'w.until_aborted' }, ({ ctx }) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve('finished after the abort'))));
  app.task({ name: 'w.until_aborted_late', acks_late: true }, ({ ctx }) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('failed after the abort')))));
  const worker = startWorker(app, { concurrency: 2 });
  await worker.start();
  const early = await app.sendTask('w.until_aborted');
  const late = await app.sendTask('w.until_aborted_late');
  await until(async () => worker.activeRequests().length === 2, 'both tasks to run');
  await worker.stop({ cold: true });
  const reader = makeApp(queue);
  const meta = await reader.backend!.getMeta(early.id);
  assert.deepEqual([meta.status, meta.result], ['RETRY', { exc_type: 'Retry', exc_message: ['cancelled by Celery'], exc_module: 'celery.exceptions' }]);
  assert.equal(await reader.AsyncResult(late.id).state(), 'PENDING');
  const list = await redis.lrange(`${prefix}${queue}`, 0, -1);
  assert.deepEqual(list.map((raw) => (JSON.parse(raw) as { headers: { id: string } }).headers.id), [late.id]);
  assert.equal(await redis.hlen(`${prefix}unacked`), 0);
  await redis.del(`${prefix}${queue}`);
});

test('worker_deduplicate_successful_tasks: a redelivered acks_late message whose task already stored SUCCESS is acked, not run; its callback is sent from the stored result', async () => {
  const queue = `q7-${token}`;
  const app = makeApp(queue, { task_acks_late: true, worker_deduplicate_successful_tasks: true });
  const runs = `${prefix}dedup-runs`;
  app.task('w.count', async (tag: string) => {
    await redis.rpush(runs, tag);
    return `ran ${tag}`;
  });
  // Before any worker: a task that already succeeded elsewhere (stored SUCCESS, no children: its
  // run stopped before sending its callback) and one that did not, both redelivered as kombu
  // restores them.
  const done = await app.sendTask('w.count', ['done'], {}, { link: { task: 'w.count', args: [], kwargs: {}, options: {}, subtask_type: null, immutable: false } });
  const fresh = await app.sendTask('w.count', ['fresh']);
  await app.backend!.storeResult({ task_id: done.id, status: 'SUCCESS', result: 'from the first run', traceback: null, children: [], date_done: new Date().toISOString() });
  const queued = await redis.lrange(`${prefix}${queue}`, 0, -1);
  await redis.del(`${prefix}${queue}`);
  await redis.rpush(`${prefix}${queue}`, ...queued.map(markRedelivered));
  const worker = startWorker(app);
  await worker.start();
  assert.equal(await fresh.get({ timeout: 10 }), 'ran fresh');
  await until(async () => (await redis.llen(runs)) === 2, 'the callback to run');
  // The callback got the stored result; the task itself did not run again.
  assert.deepEqual((await redis.lrange(runs, 0, -1)).sort(), ['fresh', 'from the first run']);
  assert.equal(await done.get({ timeout: 10 }), 'from the first run');
  await until(async () => (await redis.hlen(`${prefix}unacked`)) === 0, 'every message acked');
  assert.equal(await redis.llen(`${prefix}${queue}`), 0);
  await worker.stop();
});

test('a dropped broker connection is survived: later tasks still run', async () => {
  // The broker connections carry a name, so the kill hits this worker's connections only (never
  // another test file's on the same server).
  const clientName = `${token}-broker`;
  const app = makeApp(`q5-${token}`, { broker_transport_options: { global_keyprefix: prefix, client_name: clientName } });
  const worker = startWorker(app);
  await worker.start();
  assert.equal(await (await app.sendTask('w.add', [1, 2])).get({ timeout: 20 }), 3);
  const killed = await redisClaim.killClients(redis, clientName);
  assert.ok(killed >= 1, `killed ${killed} broker connections`);
  const r = await app.sendTask('w.add', [40, 2]);
  assert.equal(await r.get({ timeout: 15 }), 42);
  await worker.stop();
});
