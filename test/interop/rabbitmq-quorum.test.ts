// A RabbitMQ fleet on quorum queues with Celery 5.5+ native delayed delivery, both directions:
// the queues are quorum with topic exchanges (kombu's delayed delivery cannot reach a queue
// behind a direct exchange), declared by both sides' task_queues. A Python producer's
// countdown=2 reaches a queue only our worker serves, through kombu's `celery_delayed_*` levels,
// and runs after 2 s; our countdown reaches a Python worker the same way. Results on Redis.
// The celery_delayed_* topology is shared by every Celery on the broker and stays; our queues
// and exchanges (and with them their bindings to it) are deleted in `after`.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import amqplib from 'amqplib';
import { Celery } from '../../src/index.js';
import { calculateRoutingKey, delayedTopology } from '../../src/transport/amqp/native-delayed-delivery.js';
import { type PythonWorker, runPython, startPythonWorker } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';
import { startTsWorker, type TsWorker } from '../helpers/ts-worker.js';
import { configFromEnv } from './ts/env-config.js';

const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672//';
const claim = claimRedis('rabbitmq-quorum');
const { url: redisUrl, token, prefix } = claim;
const qTs = `rq-ts-${token}`;
const qPy = `rq-py-${token}`;
const qDefault = `rq-default-${token}`;
const rkTs = `rq.ts.${token}`;
const rkPy = `rq.py.${token}`;
const tsNode = `rq-ts-${token}@localhost`;
const pyNode = `rq-py-${token}@localhost`;
const quorum = { 'x-queue-type': 'quorum' };
const taskQueues = [
  { name: qTs, exchange: qTs, exchange_type: 'topic', routing_key: rkTs, queue_arguments: quorum },
  { name: qPy, exchange: qPy, exchange_type: 'topic', routing_key: rkPy, queue_arguments: quorum },
];
const env = { BROKER_URL: AMQP_URL, RESULT_BACKEND: redisUrl, KEYPREFIX: prefix, DEFAULT_QUEUE: qDefault, TASK_QUEUES: JSON.stringify(taskQueues) };
let ours: TsWorker;
let python: PythonWorker;
let app: Celery;

before(async () => {
  [ours, python] = await Promise.all([
    startTsWorker({ app: 'test/interop/ts/tasks.ts', queues: [qTs], nodeName: tsNode, env }),
    startPythonWorker({ app: 'interop_app', queues: [qPy], nodeName: pyNode, env }),
  ]);
  app = new Celery(configFromEnv(env));
});

after(async () => {
  await app?.close();
  await Promise.allSettled([ours?.stop(), python?.stop()]);
  const conn = await amqplib.connect(AMQP_URL);
  for (const name of [qTs, qPy, qDefault]) {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    await ch.deleteQueue(name).catch(() => undefined);
    await ch.deleteExchange(name).catch(() => undefined);
    await ch.close().catch(() => undefined);
  }
  await conn.close();
  await claim.deleteKeys();
});

const python_ = (code: string) => runPython(`import json, time\nfrom interop_app import app\n${code}`, env, 40_000);

test("kombu's delayed-delivery routing keys and topology are ours", async () => {
  const countdowns = [1, 2, 3, 1000, 86_400, 2 ** 28 - 1];
  const { json } = await python_(`
from kombu.transport import native_delayed_delivery as ndd
print(json.dumps({'keys': [ndd.calculate_routing_key(n, 'a.b') for n in ${JSON.stringify(countdowns)}],
                  'names': [ndd.level_name(l) for l in range(27, -1, -1)]}))`);
  const plan = delayedTopology('quorum');
  assert.deepEqual(json, { keys: countdowns.map((n) => calculateRoutingKey(n, 'a.b')), names: plan.levels.map((l) => l.name) });
});

test('a Python producer reaches our worker on a Python-declared quorum queue (no global-QoS loop)', async () => {
  const { json } = await python_(`print(json.dumps(app.send_task('ts.add', args=[2, 3], queue='${qTs}').get(timeout=15)))`);
  assert.equal(json, 5);
  assert.doesNotMatch(ours.logs(), /global qos|Cannot connect/i);
});

test('a Python producer sends countdown=2 to a quorum queue only our worker serves: native delayed delivery, runs after 2 s', async () => {
  const { json } = await python_(`
t0 = time.time()
r = app.send_task('ts.info', args=['late'], countdown=2, queue='${qTs}')
info = r.get(timeout=30)
print(json.dumps({'t0': t0, 'info': info}))`);
  const { t0, info } = json as { t0: number; info: { ran_at: number; routing_key: string; hostname: string } };
  assert.equal(info.hostname, tsNode);
  // The binary-delay routing key shows it came through celery_delayed_* rather than being held.
  assert.equal(info.routing_key, calculateRoutingKey(2, rkTs));
  assert.ok(info.ran_at - t0 >= 2, `ran ${(info.ran_at - t0).toFixed(2)} s after sending`);
});

test('our countdown=2 to a quorum queue a Python worker serves goes through native delayed delivery and runs after 2 s', async () => {
  const sent = Date.now();
  const r = await app.sendTask<{ delivery_info: { routing_key: string }; now: string }>('interop.request_info', [], {}, { queue: qPy, countdown: 2 });
  const info = await r.get({ timeout: 30 });
  assert.equal(info.delivery_info.routing_key, calculateRoutingKey(2, rkPy));
  assert.ok(Date.parse(info.now) - sent >= 2000, `ran ${Date.parse(info.now) - sent} ms after sending`);
});
