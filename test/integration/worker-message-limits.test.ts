// Issue 11 §2 against the real Redis and RabbitMQ: a decompression bomb and a 100 MB message are
// each rejected once (one log line, FAILURE MessageTooLarge under their id, nothing left in the
// queue or the unacked bookkeeping, so never redelivered — also with acks_late) while the worker
// keeps serving.
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, test } from 'node:test';
import { constants, createBrotliCompress } from 'node:zlib';
import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import { Redis } from 'ioredis';
import { Celery } from '../../src/app.js';
import { TaskError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { buildTaskMessage } from '../../src/protocol/task-message.js';
import { Worker } from '../../src/worker/worker.js';
import { claimRedis } from '../helpers/redis.js';

const claim = claimRedis('worker-message-limits');
const { url, token, prefix } = claim;
const queue = `lim-${token}`;
const redis = new Redis(url);
const opened: (Celery | Worker)[] = [];
const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672//';
const amqpQueue = `lim-amqp-${token}`;

after(async () => {
  for (const thing of opened.reverse()) await (thing instanceof Worker ? thing.stop() : thing.close());
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  const conn = await amqplib.connect(AMQP_URL);
  const ch = await conn.createChannel();
  await ch.deleteQueue(amqpQueue).catch(() => undefined);
  await ch.deleteExchange(amqpQueue).catch(() => undefined);
  await conn.close();
});

/** A protocol-2 body `[["aaaa…"], {}, {…}]` of `size` bytes, brotli-compressed by streaming (never held whole). */
async function brotliBomb(size: number): Promise<Buffer> {
  const enc = createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: 5 } });
  const chunks: Buffer[] = [];
  enc.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise((r) => enc.on('end', r));
  const write = async (b: Buffer) => {
    if (!enc.write(b)) await new Promise((r) => enc.once('drain', r));
  };
  await write(Buffer.from('[["'));
  const block = Buffer.alloc(1 << 20, 'a');
  for (let n = 0; n < size; n += block.length) await write(block);
  await write(Buffer.from('"], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]'));
  enc.end();
  await ended;
  return Buffer.concat(chunks);
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a brotli bomb and a 100 MB message are rejected once while other tasks run', async (t) => {
  const app = new Celery({
    broker_url: url,
    result_backend: url,
    broker_transport_options: { global_keyprefix: prefix },
    result_backend_transport_options: { global_keyprefix: prefix },
    task_default_queue: queue,
    task_acks_late: true, // a rejected message must not come back through the unacked restore
  });
  opened.push(app);
  app.task('lim.add', (a: number, b: number) => a + b);
  const lines: string[] = [];
  const worker = new Worker(app, { mingle: false, concurrency: 2, logger: createLogger({ level: 'info', write: (l) => lines.push(l) }) });
  opened.push(worker);
  await worker.start();
  assert.equal(app.conf.worker_max_message_size, 16 * 1024 * 1024);

  // 1 GiB of JSON in about 2 KB of brotli.
  const bombId = randomUUID();
  const bomb = buildTaskMessage({ task: 'lim.add', id: bombId, args: [1, 2], kwargs: {}, origin: 'test', replyTo: '' });
  bomb.body = await brotliBomb(1 << 30);
  bomb.headers.compression = 'application/x-brotli';
  t.diagnostic(`bomb: ${bomb.body.length} compressed bytes → 1 GiB`);

  // 100 MB of argument: rejected by the transport before it is decoded.
  const bigId = randomUUID();
  const big = buildTaskMessage({ task: 'lim.add', id: bigId, args: ['x'.repeat(100 * 1024 * 1024), 1], kwargs: {}, origin: 'test', replyTo: '' });

  const before = await Promise.all(Array.from({ length: 50 }, (_, i) => app.sendTask('lim.add', [i, 1])));
  await app.transport.publish(bomb, { exchange: '', routingKey: queue });
  await app.transport.publish(big, { exchange: '', routingKey: queue });
  // From here on the worker receives them (publishing 100 MB stalled this process by itself).
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const afterwards = await Promise.all(Array.from({ length: 50 }, (_, i) => app.sendTask('lim.add', [i, 2])));

  assert.deepEqual(await Promise.all(before.map((r) => r.get({ timeout: 30 }))), Array.from({ length: 50 }, (_, i) => i + 1));
  assert.deepEqual(await Promise.all(afterwards.map((r) => r.get({ timeout: 30 }))), Array.from({ length: 50 }, (_, i) => i + 2));
  for (const id of [bombId, bigId]) {
    await assert.rejects(app.AsyncResult(id).get({ timeout: 30 }), (e: unknown) => e instanceof TaskError && e.excType === 'MessageTooLarge', id);
  }
  delay.disable();
  t.diagnostic(`longest event-loop stall while the worker rejected them and ran 100 tasks: ${(delay.max / 1e6).toFixed(0)} ms`);

  // Nothing left to redeliver: the queue and kombu's unacked bookkeeping are empty.
  await until(async () => (await redis.hlen(`${prefix}unacked`)) === 0 && (await redis.llen(`${prefix}${queue}`)) === 0, 'empty queue and unacked');
  assert.equal((await redis.zcard(`${prefix}unacked_index`)), 0);
  for (const id of [bombId, bigId]) {
    const rejected = lines.filter((l) => l.includes(`Rejected message ${id}`));
    assert.equal(rejected.length, 1, lines.filter((l) => /ERROR/.test(l)).join('\n'));
    assert.match(rejected[0]!, /worker_max_message_size = 16777216/);
  }
  assert.equal(lines.filter((l) => /ERROR/.test(l)).length, 2, lines.filter((l) => /ERROR/.test(l)).join('\n'));
  t.diagnostic(lines.filter((l) => /Rejected/.test(l)).join('\n'));
  // Still serving.
  assert.equal(await (await app.sendTask('lim.add', [20, 22])).get({ timeout: 10 }), 42);
});

test('RabbitMQ: the same bomb and 100 MB message are rejected once with acks_late', async () => {
  const app = new Celery({
    broker_url: AMQP_URL,
    result_backend: url,
    result_backend_transport_options: { global_keyprefix: prefix },
    task_default_queue: amqpQueue,
    task_acks_late: true,
  });
  opened.push(app);
  app.task('lim.add', (a: number, b: number) => a + b);
  const lines: string[] = [];
  const worker = new Worker(app, { mingle: false, heartbeat: false, concurrency: 2, logger: createLogger({ level: 'info', write: (l) => lines.push(l) }) });
  opened.push(worker);
  await worker.start();
  const bombId = randomUUID();
  const bomb = buildTaskMessage({ task: 'lim.add', id: bombId, args: [1, 2], kwargs: {}, origin: 'test', replyTo: '' });
  bomb.body = await brotliBomb(1 << 30);
  bomb.headers.compression = 'application/x-brotli';
  const bigId = randomUUID();
  const big = buildTaskMessage({ task: 'lim.add', id: bigId, args: ['x'.repeat(100 * 1024 * 1024), 1], kwargs: {}, origin: 'test', replyTo: '' });
  await app.transport.publish(bomb, { exchange: '', routingKey: amqpQueue });
  await app.transport.publish(big, { exchange: '', routingKey: amqpQueue });
  // RabbitMQ requeues to the front: had either come back, it would be seen again before these.
  const later = await Promise.all(Array.from({ length: 50 }, (_, i) => app.sendTask('lim.add', [i, 3])));
  assert.deepEqual(await Promise.all(later.map((r) => r.get({ timeout: 30 }))), Array.from({ length: 50 }, (_, i) => i + 3));
  for (const id of [bombId, bigId]) {
    await assert.rejects(app.AsyncResult(id).get({ timeout: 30 }), (e: unknown) => e instanceof TaskError && e.excType === 'MessageTooLarge', id);
    assert.equal(lines.filter((l) => l.includes(`Rejected message ${id}`)).length, 1, lines.join('\n'));
  }
  assert.equal(lines.filter((l) => /ERROR/.test(l)).length, 2, lines.join('\n'));
  const conn = await amqplib.connect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    assert.equal((await ch.checkQueue(amqpQueue)).messageCount, 0);
  } finally {
    await conn.close();
  }
  assert.equal(worker.reservedRequests().length + worker.activeRequests().length, 0);
});
