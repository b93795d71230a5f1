// Redis Sentinel: broker and result backend given as sentinel:// URLs with master_name, as a
// Python team runs them in production. A real sentinel (redis-server --sentinel) monitors the
// test Redis; a Python producer reaches our worker, and our producer a Python worker, through it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Celery } from '../../src/index.js';
import { type PythonWorker, runPython, startPythonWorker } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';
import { type Sentinel, startSentinel } from '../helpers/sentinel.js';
import { startTsWorker, type TsWorker } from '../helpers/ts-worker.js';
import { configFromEnv } from './ts/env-config.js';

const redisClaim = claimRedis('core-sentinel');
const { db: DB, token, prefix } = redisClaim;
const qTs = `sent-ts-${token}`;
const qPy = `sent-py-${token}`;
let sentinel: Sentinel;
let ours: TsWorker;
let python: PythonWorker;
let env: Record<string, string>;
let app: Celery;

before(async () => {
  sentinel = await startSentinel(`ts-celery-${token}`);
  const url = `${sentinel.url}/${DB}`;
  env = { BROKER_URL: url, RESULT_BACKEND: url, MASTER_NAME: sentinel.masterName, KEYPREFIX: prefix, DEFAULT_QUEUE: qTs };
  [ours, python] = await Promise.all([
    startTsWorker({ app: 'test/interop/ts/tasks.ts', queues: [qTs], nodeName: `sent-ts-${token}@localhost`, env }),
    startPythonWorker({ app: 'interop_app', queues: [qPy], nodeName: `sent-py-${token}@localhost`, env }),
  ]);
  app = new Celery(configFromEnv(env));
});

after(async () => {
  await app?.close();
  await Promise.allSettled([ours?.stop(), python?.stop()]);
  await sentinel?.stop();
  await redisClaim.deleteKeys();
});

test('a Python producer on sentinel:// reaches our worker, which stores the result through the sentinel', async () => {
  const out = await runPython(`import json\nfrom interop_app import app\nprint(json.dumps(app.send_task('ts.add', args=[2, 3]).get(timeout=15)))`, env);
  assert.equal(out.json, 5);
  assert.match(ours.logs(), new RegExp(`transport: +sentinel://127\\.0\\.0\\.1:${sentinel.port}/${DB}`));
});

test('our producer on sentinel:// reaches a Python worker and reads its result', async () => {
  const result = await app.sendTask('interop.add', [4, 5], {}, { queue: qPy });
  assert.equal(await result.get({ timeout: 15 }), 9);
});
