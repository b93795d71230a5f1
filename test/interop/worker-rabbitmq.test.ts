// RabbitMQ as the broker (amqp://, results on Redis), the set-up most Celery teams run: a Python
// producer reaches our worker and a Python worker reaches ours the other way, and remote control
// crosses over the AMQP pidbox in both directions — all on queues and exchanges both languages
// declare, so neither side's declaration clashes with the other's.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import amqplib from 'amqplib';
import { Celery } from '../../src/index.js';
import { type PythonWorker, runPython, startPythonWorker } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';
import { startTsWorker, type TsWorker } from '../helpers/ts-worker.js';
import { configFromEnv } from './ts/env-config.js';

const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672//';
const redisClaim = claimRedis('worker-rabbitmq');
const { url: redisUrl, token, prefix } = redisClaim;
const qTs = `rmq-ts-${token}`;
const qPy = `rmq-py-${token}`;
const tsNode = `rmq-ts-${token}@localhost`;
const pyNode = `rmq-py-${token}@localhost`;
const env = { BROKER_URL: AMQP_URL, RESULT_BACKEND: redisUrl, KEYPREFIX: prefix, DEFAULT_QUEUE: qTs };
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
  for (const name of [qTs, qPy]) {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    await ch.deleteQueue(name).catch(() => undefined);
    await ch.deleteExchange(name).catch(() => undefined);
    await ch.close().catch(() => undefined);
  }
  await conn.close();
  await redisClaim.deleteKeys();
});

const python_ = (code: string) => runPython(`import json\nfrom interop_app import app\n${code}`, env, 40_000);

test('a Python producer on RabbitMQ reaches our worker: values, errors and state as Python reads them', async () => {
  const { json } = await python_(`
ok = app.send_task('ts.add', args=[2, 3]).get(timeout=15)
r = app.send_task('ts.fail_range', args=['bad'])
try:
    r.get(timeout=15)
    err = None
except Exception as exc:
    err = [type(exc).__name__, str(exc), r.state]
echo = app.send_task('ts.echo', args=[1, None, [2.5, 'x']], kwargs={'k': {'n': None}}).get(timeout=15)
print(json.dumps({'ok': ok, 'err': err, 'echo': echo}))`);
  assert.deepEqual(json, { ok: 5, err: ['ValueError', 'bad', 'FAILURE'], echo: { args: [1, null, [2.5, 'x']], kwargs: { k: { n: null } } } });
  assert.match(ours.logs(), /transport: +amqp:\/\/guest:\*\*@127\.0\.0\.1:5672\/\//);
});

test('our producer on RabbitMQ reaches a Python worker', async () => {
  const r = await app.sendTask('interop.add', [40, 2], {}, { queue: qPy, countdown: 1 });
  assert.equal(await r.get({ timeout: 15 }), 42);
});

test('remote control over the AMQP pidbox: Python pings our worker, we ping the Python worker', async () => {
  const { json } = await python_(`print(json.dumps(app.control.inspect(destination=['${tsNode}'], timeout=5).ping()))`);
  assert.deepEqual(json, { [tsNode]: { ok: 'pong' } });
  const replies = await app.control.ping({ destination: [pyNode], timeout: 5 });
  assert.deepEqual(replies, [{ [pyNode]: { ok: 'pong' } }]);
});

test("a Python event receiver on RabbitMQ's celeryev topic exchange sees our worker's heartbeats", async () => {
  const { json } = await python_(`
import socket
seen = []
with app.connection_for_read() as conn:
    def on_event(event):
        if event.get('hostname') == '${tsNode}':
            seen.append(event['type'])
            recv.should_stop = True
    recv = app.events.Receiver(conn, handlers={'*': on_event})
    try:
        recv.capture(limit=None, timeout=10)
    except socket.timeout:
        pass
print(json.dumps(seen[:1]))`);
  assert.deepEqual(json, ['worker-heartbeat']);
});
