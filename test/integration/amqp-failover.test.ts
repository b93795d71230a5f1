// Failover across a broker URL list on the real RabbitMQ: with the first node unreachable the
// transport (and a worker) carries on with the next one; with none reachable the error names the
// list, passwords masked. (The unreachable node is a closed port; failover between live nodes of
// a cluster is amqp-cluster-failover.test.ts.)
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import amqplib from 'amqplib';
import { Celery } from '../../src/app.js';
import { createLogger } from '../../src/log.js';
import { AmqpTransport } from '../../src/transport/amqp/amqp-transport.js';
import { Worker } from '../../src/worker/worker.js';
import { uniqueToken } from '../helpers/redis.js';

const URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672//';
const DEAD = 'amqp://guest:secret@127.0.0.1:1//';
const token = uniqueToken();
const queue = `failover-${token}`;
const closers: (() => Promise<unknown>)[] = [];

after(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  const conn = await amqplib.connect(URL);
  const ch = await conn.createChannel();
  ch.on('error', () => undefined);
  await ch.deleteQueue(queue).catch(() => undefined);
  await ch.deleteExchange(queue).catch(() => undefined);
  await conn.close();
});

test('the first node unreachable: the transport connects to the next one', async () => {
  const transport = new AmqpTransport(`${DEAD};${URL}`);
  closers.push(() => transport.close());
  await transport.connect();
  assert.equal(transport.currentNode, '127.0.0.1:5672');
});

test('no node reachable: one error naming the list, passwords masked', async () => {
  const transport = new AmqpTransport(`${DEAD};amqp://guest:other@127.0.0.1:2//`, { connect_timeout: 1 });
  closers.push(() => transport.close());
  await assert.rejects(transport.connect(3000), (error: Error) => {
    assert.match(error.message, /Cannot connect to amqp:\/\/guest:\*\*@127\.0\.0\.1:1\/\/;amqp:\/\/guest:\*\*@127\.0\.0\.1:2\/\//);
    assert.doesNotMatch(error.message, /secret|other/);
    return true;
  });
});

test('a worker and a producer on a URL list whose first node is down run tasks', async () => {
  const app = new Celery({ broker_url: `${DEAD};${URL}`, broker_failover_strategy: 'round-robin', result_backend: 'memory://', task_default_queue: queue });
  closers.push(() => app.close());
  const add = app.task('failover.add', (a: number, b: number) => a + b);
  const worker = new Worker(app, { mingle: false, heartbeat: false, nodeName: `failover-${token}@localhost`, logger: createLogger({ level: 'error', write: () => undefined }) });
  await worker.start();
  closers.push(() => worker.stop());
  assert.equal(await (await add.delay(20, 22)).get({ timeout: 10 }), 42);
});
