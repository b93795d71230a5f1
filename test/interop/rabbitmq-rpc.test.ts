// The rpc:// result backend on RabbitMQ, both directions: results travel as messages to the
// caller's reply queue (its oid) with the task id as correlation_id, as celery/backends/rpc.py
// sends them. A Python rpc:// caller's get() returns our worker's values and re-raises its
// failures, and its AsyncResult.state/info show our worker's PROGRESS meta; our rpc:// caller gets a Python worker's values, failures and PROGRESS states.
// Reply queues are auto-delete; the task queues and exchanges are deleted in `after`.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import amqplib from 'amqplib';
import { Celery, TaskError } from '../../src/index.js';
import { type PythonWorker, runPython, startPythonWorker } from '../helpers/python.js';
import { uniqueToken } from '../helpers/redis.js';
import { startTsWorker, type TsWorker } from '../helpers/ts-worker.js';
import { configFromEnv } from './ts/env-config.js';

const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672//';
const token = uniqueToken();
const qTs = `rpc-ts-${token}`;
const qPy = `rpc-py-${token}`;
const qDefault = `rpc-default-${token}`;
const env = { BROKER_URL: AMQP_URL, RESULT_BACKEND: 'rpc://', DEFAULT_QUEUE: qDefault };
let ours: TsWorker;
let python: PythonWorker;
let app: Celery;

before(async () => {
  [ours, python] = await Promise.all([
    startTsWorker({ app: 'test/interop/ts/tasks.ts', queues: [qTs], nodeName: `rpc-ts-${token}@localhost`, env }),
    startPythonWorker({ app: 'interop_app', queues: [qPy], nodeName: `rpc-py-${token}@localhost`, env }),
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
});

test("a Python rpc:// caller's get() returns our worker's result, and re-raises its failure", async () => {
  const { json } = await runPython(
    `import json
from interop_app import app
ok = app.send_task('ts.add', args=[2, 3], queue='${qTs}').get(timeout=15)
r = app.send_task('ts.fail_range', args=['bad'], queue='${qTs}')
try:
    r.get(timeout=15)
    err = None
except Exception as exc:
    err = [type(exc).__name__, str(exc), r.state]
echo = app.send_task('ts.echo', args=[1, None], kwargs={'k': 'v'}, queue='${qTs}').get(timeout=15)
print(json.dumps({'ok': ok, 'err': err, 'echo': echo, 'backend': type(app.backend).__name__}))`,
    env,
    40_000,
  );
  assert.deepEqual(json, { ok: 5, err: ['ValueError', 'bad', 'FAILURE'], echo: { args: [1, null], kwargs: { k: 'v' } }, backend: 'RPCBackend' });
});

test('our rpc:// caller gets a Python worker\'s results, failures and PROGRESS states', async () => {
  const [a, b] = await Promise.all([app.sendTask('interop.add', [40, 2], {}, { queue: qPy }), app.sendTask('interop.add', [1, 2], {}, { queue: qPy })]);
  assert.deepEqual(await Promise.all([a.get({ timeout: 15 }), b.get({ timeout: 15 })]), [42, 3]);
  const failed = await app.sendTask('interop.fail', ['boom'], {}, { queue: qPy });
  await assert.rejects(failed.get({ timeout: 15 }), (error: unknown) => error instanceof TaskError && error.excType === 'ValueError' && error.excArgs[0] === 'boom');
  const progress = await app.sendTask('interop.progress', [3, 0.3], {}, { queue: qPy });
  const seen = await app.backend!.waitFor(progress.id, { timeoutMs: 15_000, until: (m) => m.status === 'PROGRESS' });
  assert.equal((seen.result as { total: number }).total, 3);
  assert.equal(await progress.get({ timeout: 15 }), 3);
});

test("a Python rpc:// caller reads our worker's PROGRESS state and meta, then the result", async () => {
  const { json } = await runPython(
    `import json, time
from interop_app import app
r = app.send_task('ts.progress_steps', args=[3, 0.4], queue='${qTs}')
deadline = time.time() + 15
while r.state != 'PROGRESS' and time.time() < deadline:
    time.sleep(0.05)
state, info = r.state, r.info
print(json.dumps({'state': state, 'total': info.get('total') if isinstance(info, dict) else repr(info), 'result': r.get(timeout=15), 'final': r.state}))`,
    env,
    40_000,
  );
  assert.deepEqual(json, { state: 'PROGRESS', total: 3, result: 3, final: 'SUCCESS' });
});
