// Quorum queues on the real RabbitMQ: a queue that is quorum — found so on the broker (declared by
// a Python service) or declared so by our config — is consumed with per-consumer prefetch
// (RabbitMQ refuses global QoS there), and the window still holds: with prefetch 2 only 2 of 5
// messages are out until one is settled. A worker runs tasks from a Python-declared quorum
// queue and from one `task_default_queue_type = 'quorum'` declared. Every name carries this
// file's token; what is declared is deleted in `after`.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import amqplib from 'amqplib';
import { Celery } from '../../src/app.js';
import { createLogger } from '../../src/log.js';
import type { Message } from '../../src/protocol/message.js';
import { AmqpTransport } from '../../src/transport/amqp/amqp-transport.js';
import type { Delivery } from '../../src/transport/transport.js';
import { Worker } from '../../src/worker/worker.js';
import { pollUntil } from '../helpers/python.js';
import { uniqueToken } from '../helpers/redis.js';

const URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672//';
const token = uniqueToken();
const declared = new Set<string>();
const closers: (() => Promise<unknown>)[] = [];

const name = (what: string) => {
  const q = `${token}.${what}`;
  declared.add(q);
  return q;
};

/** Declare a queue as another client (a Python service) would, outside our transport. */
async function declareElsewhere(queue: string, args: Record<string, unknown>): Promise<void> {
  const conn = await amqplib.connect(URL);
  const ch = await conn.createChannel();
  await ch.assertQueue(queue, { durable: true, arguments: args });
  await conn.close();
}

/** Whether RabbitMQ holds the queue as quorum (re-declaring it as quorum succeeds only then). */
async function isQuorumOnBroker(queue: string): Promise<boolean> {
  const conn = await amqplib.connect(URL);
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    return true;
  } catch {
    return false;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

function message(i: number): Message {
  return { body: Buffer.from(JSON.stringify(i)), contentType: "application/json", contentEncoding: "utf-8", headers: {}, properties: {} };
}

after(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  const conn = await amqplib.connect(URL);
  for (const q of declared) {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    await ch.deleteQueue(q).catch(() => undefined);
    await ch.deleteExchange(q).catch(() => undefined);
    await ch.close().catch(() => undefined);
  }
  await conn.close();
});

test('a quorum queue another client declared is found quorum and consumed with a per-consumer window', async () => {
  const q = name('found');
  await declareElsewhere(q, { 'x-queue-type': 'quorum' });
  const transport = new AmqpTransport(URL);
  closers.push(() => transport.close());
  await transport.declareQueue({ name: q, exchange: '' });
  assert.equal(transport.isQuorum(q), true);
  for (let i = 0; i < 5; i++) await transport.publish(message(i), { exchange: '', routingKey: q });
  const got: Delivery[] = [];
  transport.consume([q], { prefetch: 2 }, (d) => got.push(d));
  await pollUntil('two deliveries', () => got.length === 2);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(got.length, 2, 'the prefetch window of 2 holds on a quorum queue');
  await got[0]!.ack();
  await pollUntil('a third after one ack', () => got.length === 3);
  for (const d of got) await d.ack();
  await pollUntil('all five', () => got.length === 5);
  for (const d of got.slice(3)) await d.ack();
  assert.deepEqual(got.map((d) => JSON.parse(d.message.body.toString())), [0, 1, 2, 3, 4]);
});

test("a raised prefetch on a quorum channel reaches consumers started afterwards only (Celery's static per-consumer window)", async () => {
  const q1 = name('grow-1');
  const q2 = name('grow-2');
  await declareElsewhere(q1, { 'x-queue-type': 'quorum' });
  await declareElsewhere(q2, { 'x-queue-type': 'quorum' });
  const transport = new AmqpTransport(URL);
  closers.push(() => transport.close());
  const lost: string[] = [];
  transport.onEvent((e) => e.type === 'connection-lost' && lost.push(e.error.message));
  await transport.declareQueue({ name: q1, exchange: '' });
  await transport.declareQueue({ name: q2, exchange: '' });
  for (let i = 0; i < 3; i++) await transport.publish(message(i), { exchange: '', routingKey: q1 });
  for (let i = 0; i < 3; i++) await transport.publish(message(i), { exchange: '', routingKey: q2 });
  const got: Delivery[] = [];
  const consumer = transport.consume([q1], { prefetch: 1 }, (d) => got.push(d));
  await pollUntil('one delivery', () => got.length === 1);
  consumer.setPrefetch(2); // a held ETA message: the worker raises the window by one
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(got.length, 1, 'the running consumer keeps its window of 1');
  consumer.addQueue(q2);
  await pollUntil('two from the consumer started after the raise', () => got.filter((d) => d.info.queue === q2).length === 2);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(got.filter((d) => d.info.queue === q2).length, 2);
  assert.deepEqual(lost, [], 'basic.qos stayed per consumer (a global one would close the connection)');
  for (const d of got) await d.ack();
});

test('a classic queue beside a quorum one: both consumed on one per-consumer channel', async () => {
  const qq = name('mixed-q');
  const qc = name('mixed-c');
  await declareElsewhere(qq, { 'x-queue-type': 'quorum' });
  const transport = new AmqpTransport(URL);
  closers.push(() => transport.close());
  await transport.declareQueue({ name: qq, exchange: '' });
  await transport.declareQueue({ name: qc, exchange: '' });
  assert.equal(transport.isQuorum(qc), false);
  const got: string[] = [];
  transport.consume([qc, qq], { prefetch: 4 }, (d) => {
    got.push(d.info.queue);
    void d.ack();
  });
  await transport.publish(message(1), { exchange: '', routingKey: qc });
  await transport.publish(message(2), { exchange: '', routingKey: qq });
  await pollUntil('both delivered', () => got.length === 2);
  assert.deepEqual(got.sort(), [qc, qq].sort());
});

test("a quorum queue added to a running classic consumer (add_consumer) is consumed", async () => {
  const qc = name('add-c');
  const qq = name('add-q');
  await declareElsewhere(qq, { 'x-queue-type': 'quorum' });
  const transport = new AmqpTransport(URL);
  closers.push(() => transport.close());
  await transport.declareQueue({ name: qc, exchange: '' });
  const got: number[] = [];
  const consumer = transport.consume([qc], { prefetch: 4 }, (d) => {
    got.push(JSON.parse(d.message.body.toString()));
    void d.ack();
  });
  await transport.publish(message(1), { exchange: '', routingKey: qc });
  await pollUntil('classic delivery', () => got.length === 1);
  await transport.declareQueue({ name: qq, exchange: '' });
  consumer.addQueue(qq);
  await transport.publish(message(2), { exchange: '', routingKey: qq });
  await transport.publish(message(3), { exchange: '', routingKey: qc });
  await pollUntil('quorum and classic deliveries', () => got.length === 3);
  assert.deepEqual(got.sort(), [1, 2, 3]);
});

test('a quorum queue whose other arguments hide its type from the probe: RabbitMQ refuses global QoS, the consumer switches', async () => {
  const q = name('hidden');
  await declareElsewhere(q, { 'x-queue-type': 'quorum', 'x-max-length': 1000 });
  const transport = new AmqpTransport(URL);
  closers.push(() => transport.close());
  await transport.declareQueue({ name: q, exchange: '' });
  const got: number[] = [];
  transport.consume([q], { prefetch: 2 }, (d) => {
    got.push(JSON.parse(d.message.body.toString()));
    void d.ack();
  });
  // Published by another client, as a producer would: the consumer's own connection is the one
  // RabbitMQ closes for the global QoS, and a publish racing that close could go down with it.
  const producer = new AmqpTransport(URL);
  closers.push(() => producer.close());
  await producer.publish(message(7), { exchange: '', routingKey: q });
  await pollUntil('delivered', () => got.length === 1, { timeoutMs: 20_000 });
  assert.equal(transport.isQuorum(q), true);
});

test('with worker_detect_quorum_queues off a quorum queue is refused as RabbitMQ refuses it (Celery too)', async () => {
  const q = name('nodetect');
  await declareElsewhere(q, { 'x-queue-type': 'quorum' });
  const transport = new AmqpTransport(URL);
  closers.push(() => transport.close());
  const errors: string[] = [];
  transport.onEvent((e) => e.type === 'connection-lost' && errors.push(e.error.message));
  await transport.declareQueue({ name: q, exchange: '' });
  transport.consume([q], { prefetch: 1, detectQuorumQueues: false }, () => undefined);
  await pollUntil('the refusal', () => errors.length > 0);
  assert.match(errors[0]!, /does not support global qos/);
});

test("our worker on a Python-declared quorum queue and on a task_default_queue_type='quorum' queue runs tasks", async () => {
  const found = name('worker-found');
  const ours = name('worker-ours');
  await declareElsewhere(found, { 'x-queue-type': 'quorum' });
  const app = new Celery({ broker_url: URL, result_backend: 'memory://', task_default_queue: ours, task_default_queue_type: 'quorum' });
  closers.push(() => app.close());
  const add = app.task('quorum.add', (a: number, b: number) => a + b);
  const lines: string[] = [];
  const worker = new Worker(app, { queues: [ours, found], mingle: false, heartbeat: false, nodeName: `quorum-${token}@localhost`, logger: createLogger({ level: 'info', write: (l) => lines.push(l) }) });
  await worker.start();
  closers.push(() => worker.stop());
  assert.equal(await (await add.applyAsync([1, 2])).get({ timeout: 10 }), 3);
  assert.equal(await (await add.applyAsync([3, 4], {}, { queue: found })).get({ timeout: 10 }), 7);
  assert.equal(await isQuorumOnBroker(ours), true, 'task_default_queue_type declared it quorum');
  // A countdown is held by the worker (direct exchange: no native delayed delivery) and runs.
  const started = Date.now();
  assert.equal(await (await add.applyAsync([5, 6], {}, { countdown: 1 })).get({ timeout: 10 }), 11);
  assert.ok(Date.now() - started >= 900);
  assert.ok(!lines.some((l) => /global qos|Cannot connect/i.test(l)), lines.join('\n'));
});
