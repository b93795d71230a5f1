// AmqpTransport on the real RabbitMQ (127.0.0.1:5672, guest/guest): kombu's message mapping
// (body bytes, headers table with None → void), acks, rejects, restore, channel-global prefetch
// that grows live, fanout/topic subscriptions through named queues, purge and sizes, entities that
// another client declared with other attributes, and reconnection after the broker drops us.
// Every name carries this file's token; what is declared is deleted in `after`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import amqplib from 'amqplib';
import type { Message } from '../../src/protocol/message.js';
import { AmqpTransport } from '../../src/transport/amqp/amqp-transport.js';
import type { Delivery, TransportEvent } from '../../src/transport/transport.js';
import { pollUntil } from '../helpers/python.js';
import { uniqueToken } from '../helpers/redis.js';

const URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672//';
const token = uniqueToken();
const transports: AmqpTransport[] = [];
const queues = new Set<string>();
const exchanges = new Set<string>();

function transport(options: Record<string, unknown> = {}): AmqpTransport {
  const t = new AmqpTransport(URL, options);
  transports.push(t);
  return t;
}

let seq = 0;
const name = (what: string) => `${token}.${what}.${++seq}`;
const queue = (what: string) => {
  const q = name(what);
  queues.add(q);
  return q;
};

after(async () => {
  await Promise.allSettled(transports.map((t) => t.close()));
  const conn = await amqplib.connect(URL);
  for (const q of queues) {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    await ch.deleteQueue(q).catch(() => undefined);
    await ch.close().catch(() => undefined);
  }
  for (const e of exchanges) {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    await ch.deleteExchange(e).catch(() => undefined);
    await ch.close().catch(() => undefined);
  }
  await conn.close();
});

function msg(label: string, headers: Record<string, unknown> = {}): Message {
  return {
    body: Buffer.from(JSON.stringify([[label], {}, {}])),
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    headers: { id: label, task: 'amqp.t', ...headers },
    properties: { correlation_id: label, reply_to: 'replies', delivery_mode: 2, priority: 0 },
  };
}

function collect(t: AmqpTransport, names: string[], prefetch: number) {
  const got: Delivery[] = [];
  const consumer = t.consume(names, { prefetch }, (d) => got.push(d));
  const waitFor = (n: number) => pollUntil(`${n} deliveries`, () => got.length >= n && got, { timeoutMs: 20_000, intervalMs: 10 });
  return { consumer, got, waitFor };
}

const label = (d: Delivery) => String(d.message.headers.id);

test('publish and consume through a declared direct exchange: body bytes, headers table, properties', async () => {
  const t = transport();
  await t.connect();
  const q = queue('basic');
  exchanges.add(q);
  await t.declareQueue({ name: q });
  const headers = { eta: null, timelimit: [null, null], retries: 0, ratio: 0.5, nested: { a: [1, 'x', null] }, ignore: undefined };
  await t.publish(msg('a', headers), { exchange: q, routingKey: q });
  await pollUntil('one ready message', async () => (await t.queueSize(q)) === 1);
  const { consumer, waitFor } = collect(t, [q], 1);
  const [d] = await waitFor(1);
  assert.deepEqual(JSON.parse(d!.message.body.toString()), [['a'], {}, {}]);
  assert.equal(d!.message.contentType, 'application/json');
  assert.equal(d!.message.contentEncoding, 'utf-8');
  assert.deepEqual(d!.message.headers, { id: 'a', task: 'amqp.t', eta: null, timelimit: [null, null], retries: 0, ratio: 0.5, nested: { a: [1, 'x', null] } });
  assert.deepEqual(d!.message.properties, { correlation_id: 'a', reply_to: 'replies', delivery_mode: 2, priority: 0 });
  assert.deepEqual(d!.info, { exchange: q, routingKey: q, queue: q, redelivered: false, priority: 0 });
  await d!.ack();
  await d!.ack(); // settling twice is a no-op
  await consumer.cancel();
  assert.equal(await t.queueSize(q), 0);
});

test('reject drops or requeues (redelivered); restore gives it back; close requeues what was not settled', async () => {
  const t = transport();
  const q = queue('settle');
  await t.declareQueue({ name: q, exchange: '' });
  for (const l of ['a', 'b', 'c']) await t.publish(msg(l), { exchange: '', routingKey: q });
  const { got, waitFor } = collect(t, [q], 1);
  await waitFor(1);
  await got[0]!.reject({ requeue: false });
  await waitFor(2);
  assert.equal(label(got[1]!), 'b');
  await got[1]!.reject({ requeue: true });
  await waitFor(3);
  assert.deepEqual([label(got[2]!), got[2]!.info.redelivered], ['b', true]);
  await got[2]!.restore();
  await waitFor(4);
  assert.deepEqual([label(got[3]!), got[3]!.info.redelivered], ['b', true]);
  await t.close(); // 'b' unsettled → back on the queue, with 'c'
  const other = transport();
  await pollUntil('two messages back', async () => (await other.queueSize(q)) === 2);
  assert.equal(await other.purge(q), 2);
});

/** What RabbitMQ says about the channel consuming `queueName`: its global prefetch and unacked count. */
async function brokerChannel(queueName: string): Promise<{ globalPrefetch: number; unacked: number } | undefined> {
  const run = promisify(execFile);
  const rows = async (args: string[]) => (await run('rabbitmqctl', ['-q', ...args])).stdout.split('\n').map((l) => l.split('\t'));
  const pid = (await rows(['list_consumers', 'queue_name', 'channel_pid'])).find((r) => r[0] === queueName)?.[1];
  const channel = pid && (await rows(['list_channels', 'pid', 'global_prefetch_count', 'messages_unacknowledged'])).find((r) => r[0] === pid);
  return channel ? { globalPrefetch: Number(channel[1]), unacked: Number(channel[2]) } : undefined;
}

test('prefetch is channel-global and grows live (held ETA tasks raise it)', async () => {
  const t = transport();
  const [qa, qb] = [queue('pf-a'), queue('pf-b')];
  for (const q of [qa, qb]) await t.declareQueue({ name: q, exchange: '' });
  for (let i = 0; i < 4; i++) for (const q of [qa, qb]) await t.publish(msg(`${q}-${i}`), { exchange: '', routingKey: q });
  const { consumer, got, waitFor } = collect(t, [qa, qb], 2);
  await waitFor(2);
  // The broker's own account, not a pause: one window of 2 for the channel, 2 messages out on it
  // (RabbitMQ counts a delivery as unacked when it sends it, so we can never get a third).
  assert.deepEqual(await brokerChannel(qa), { globalPrefetch: 2, unacked: 2 }, 'two queues share one window of 2');
  assert.equal(got.length, 2);
  consumer.setPrefetch(5);
  await pollUntil('the new window at the broker', async () => (await brokerChannel(qa))?.globalPrefetch === 5, { timeoutMs: 30_000, intervalMs: 200 });
  await waitFor(5);
  assert.deepEqual(await brokerChannel(qb), { globalPrefetch: 5, unacked: 5 });
  assert.equal(got.length, 5);
  await consumer.cancel();
});

test('fanout and topic subscriptions through a named queue, with kombu attributes on the exchange', async () => {
  const t = transport();
  const fanout = name('pidbox');
  const topic = name('ev');
  exchanges.add(fanout).add(topic);
  const nodeQueue = queue('node');
  const fanGot: string[] = [];
  const spec = {
    name: nodeQueue,
    exchange: fanout,
    exchangeType: 'fanout' as const,
    routingKey: '',
    exchangeDeclaration: { type: 'fanout' as const, durable: false },
    attributes: { durable: false, autoDelete: true, exclusive: true, arguments: { 'x-message-ttl': 300_000, 'x-expires': 10_000 } },
  };
  await t.declareQueue(spec);
  const sub = await t.subscribeFanout(fanout, '', (m) => fanGot.push(String(m.headers.id)), { exchangeDeclaration: spec.exchangeDeclaration, queue: spec });
  const topicGot: string[] = [];
  const topicSub = await t.subscribeFanout(topic, 'worker.*', (m, rk) => topicGot.push(`${rk}:${m.headers.id}`), { exchangeDeclaration: { type: 'topic', durable: true } });
  await t.publish(msg('ping'), { exchange: fanout, routingKey: '', exchangeType: 'fanout', exchangeDeclaration: spec.exchangeDeclaration });
  for (const rk of ['worker.heartbeat', 'task.succeeded']) await t.publish(msg(rk), { exchange: topic, routingKey: rk, exchangeDeclaration: { type: 'topic', durable: true } });
  await pollUntil('fanout and topic messages', () => fanGot.length === 1 && topicGot.length === 1);
  assert.deepEqual(fanGot, ['ping']);
  assert.deepEqual(topicGot, ['worker.heartbeat:worker.heartbeat']);
  await sub.close();
  await topicSub.close();
});

test('an existing queue declared by another client with other arguments is used, not re-declared', async () => {
  const q = queue('prio');
  const conn = await amqplib.connect(URL);
  const ch = await conn.createChannel();
  await ch.assertQueue(q, { durable: true, arguments: { 'x-max-priority': 10 } });
  await conn.close();
  const t = transport();
  await t.declareQueue({ name: q, exchange: '' }); // would be PRECONDITION_FAILED if re-declared without the argument
  await t.publish(msg('x'), { exchange: '', routingKey: q });
  await pollUntil('the message', async () => (await t.queueSize(q)) === 1);
});

test('the broker closing our connection: connection-lost, reconnected, and the consumer resumes', async () => {
  const connectionName = `${token}-reconnect`;
  const t = transport({ client_properties: { connection_name: connectionName } });
  const q = queue('reconnect');
  await t.declareQueue({ name: q, exchange: '' });
  const events: TransportEvent['type'][] = [];
  t.onEvent((e) => events.push(e.type));
  const { got, waitFor } = collect(t, [q], 1);
  await t.publish(msg('before'), { exchange: '', routingKey: q });
  await waitFor(1);
  await got[0]!.ack();
  // Close this transport's connection from the server side (only ours: other files run in parallel).
  const run = promisify(execFile);
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_connections', 'pid', 'client_properties']);
  const ours = stdout.split('\n').filter((line) => line.includes(connectionName)).map((line) => line.split('\t')[0]!);
  assert.ok(ours.length > 0, stdout);
  for (const pid of ours) await run('rabbitmqctl', ['close_connection', pid, 'test: broker went away']).catch(() => undefined);
  await pollUntil('reconnected', () => events.includes('reconnected'), { timeoutMs: 15_000 });
  assert.deepEqual(events.slice(0, 2), ['connection-lost', 'reconnected']);
  await t.publish(msg('after'), { exchange: '', routingKey: q });
  await waitFor(2);
  assert.equal(label(got[1]!), 'after');
  await got[1]!.ack();
});

test('bad URLs and options: one clear reason', () => {
  assert.throws(() => new AmqpTransport('amqp://h/?frame_max=1'), /unknown query parameter 'frame_max'/);
  assert.throws(() => new AmqpTransport(URL, { confirm_publsh: true }), /unknown option 'confirm_publsh' for RabbitMQ \(did you mean 'confirm_publish'\?\)/);
  // A Redis deployment's options, the broker switched to RabbitMQ: ignored, as kombu ignores them.
  assert.doesNotThrow(() => new AmqpTransport(URL, { global_keyprefix: 'app:', visibility_timeout: 7200 }));
});

test('task_queue_max_priority: queues get x-max-priority and RabbitMQ serves higher priorities first', async () => {
  const { Router } = await import('../../src/routing.js');
  const { loadConfig } = await import('../../src/config.js');
  const q = queue('maxprio');
  exchanges.add(q);
  const spec = new Router(loadConfig({ task_queue_max_priority: 10 }, {})).queue(q);
  assert.deepEqual(spec.attributes, { arguments: { 'x-max-priority': 10 } });
  const t = transport();
  await t.declareQueue(spec);
  for (const p of [1, 9, 5]) await t.publish({ ...msg(`p${p}`), properties: { delivery_mode: 2, priority: p } }, { exchange: q, routingKey: q });
  await pollUntil('three messages', async () => (await t.queueSize(q)) === 3);
  const { consumer, got, waitFor } = collect(t, [q], 0);
  await waitFor(3);
  assert.deepEqual(got.map(label), ['p9', 'p5', 'p1']);
  await Promise.all(got.map((d) => d.ack()));
  await consumer.cancel();
});

test('3,000 concurrent publishes to a queue nobody declared yet, then close: one declaration, nothing lost', async () => {
  const { Celery } = await import('../../src/app.js');
  const q = queue('burst');
  exchanges.add(q);
  const app = new Celery({ broker_url: URL, result_backend: 'memory://' });
  await Promise.all(Array.from({ length: 3000 }, (_, i) => app.sendTask('amqp.burst', [i], {}, { queue: q })));
  await app.close(); // right away: buffered messages must still reach the broker
  const t = transport();
  await pollUntil('all 3,000 queued', async () => (await t.queueSize(q)) === 3000, { timeoutMs: 10_000 });
});
