// Interop, mixed fleet: OUR worker (started through our CLI) and a real Python Celery worker
// consume the SAME queue, both registering `fleet.whoami`. Tasks sent by a Python producer and
// by our client are split between them without loss or duplication, and kombu's bookkeeping
// (unacked hash and index) is empty at the end.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { Celery } from '../../src/index.js';
import { pollUntil, runPython, startPythonWorker, type PythonWorker } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';
import { startTsWorker, type TsWorker } from '../helpers/ts-worker.js';
import { configFromEnv } from './ts/env-config.js';

const N_TS = 100;
const N_PY = 100;
const { url, token, prefix } = claimRedis('worker-mixed-fleet');
const queue = `wmf-${token}`;
const runsKey = `${prefix}runs`;
const env = { BROKER_URL: url, RESULT_BACKEND: url, KEYPREFIX: prefix, DEFAULT_QUEUE: queue };

const redis = new Redis(url);
let app: Celery;
let ours: TsWorker | undefined;
let python: PythonWorker | undefined;

before(async () => {
  app = new Celery(configFromEnv(env));
  [ours, python] = await Promise.all([
    startTsWorker({
      app: 'test/interop/ts/tasks.ts',
      queues: [queue],
      nodeName: `wmf-ts-${token}@localhost`,
      env,
      concurrency: 2,
      extraArgs: ['--prefetch-multiplier', '1'],
    }),
    startPythonWorker({ app: 'worker_tasks', queues: [queue], nodeName: `wmf-py-${token}@localhost`, env }),
  ]);
});

after(async () => {
  try {
    await app?.close();
    const status = await ours?.stop();
    if (status) assert.deepEqual(status, { code: 0, signal: null }, `our worker's exit status; log:\n${ours!.logs().slice(-3000)}`);
  } finally {
    ours?.kill();
    python?.kill();
    await python?.exited();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
});

interface Run {
  id: string;
  lang: 'python' | 'typescript';
  node: string;
}

test(`${N_TS + N_PY} tasks from a Python and a TypeScript producer: each runs exactly once, on one of the two workers`, async () => {
  // Half from our client, half from Python's send_task; Python then waits for all of them.
  const tsIds: string[] = [];
  for (let i = 0; i < N_TS; i++) tsIds.push((await app.sendTask('fleet.whoami', [runsKey, 10])).id);
  const run = await runPython(
    `
import json, os
from interop_app import app
ts_ids = json.loads(os.environ['TS_IDS'])
py_ids = [app.send_task('fleet.whoami', args=[os.environ['RUNS_KEY'], 10]).id for _ in range(${N_PY})]
out = {}
for task_id in ts_ids + py_ids:
    r = app.AsyncResult(task_id)
    value = r.get(timeout=30)
    out[task_id] = {'state': r.state, 'lang': value['lang'], 'node': value['node']}
print(json.dumps({'py_ids': py_ids, 'results': out}))
`,
    { ...env, TS_IDS: JSON.stringify(tsIds), RUNS_KEY: runsKey },
    90_000,
  );
  const { py_ids: pyIds, results } = run.json as {
    py_ids: string[];
    results: Record<string, { state: string; lang: string; node: string }>;
  };
  const allIds = [...tsIds, ...pyIds];
  assert.equal(new Set(allIds).size, N_TS + N_PY);

  // Python's view: every id is SUCCESS.
  assert.deepEqual(Object.keys(results).sort(), [...allIds].sort());
  for (const id of allIds) assert.equal(results[id]!.state, 'SUCCESS', id);

  // Every execution recorded itself: exactly one run per id, none for unknown ids.
  const runs = (await redis.lrange(runsKey, 0, -1)).map((r) => JSON.parse(r) as Run);
  const perId = new Map<string, Run[]>();
  for (const r of runs) perId.set(r.id, [...(perId.get(r.id) ?? []), r]);
  const duplicated = [...perId].filter(([, rs]) => rs.length > 1).map(([id, rs]) => `${id}: ${rs.map((r) => r.lang).join('+')}`);
  assert.deepEqual(duplicated, [], 'no task ran twice');
  assert.deepEqual([...perId.keys()].sort(), [...allIds].sort(), 'every task ran (none lost)');
  assert.equal(runs.length, N_TS + N_PY);

  // The stored result names the worker that actually ran it.
  for (const id of allIds) assert.equal(results[id]!.lang, perId.get(id)![0]!.lang, id);

  // Both workers took part.
  const byLang = { python: 0, typescript: 0 };
  for (const r of runs) byLang[r.lang]++;
  assert.ok(byLang.python > 0, `the Python worker ran none of them: ${JSON.stringify(byLang)}`);
  assert.ok(byLang.typescript > 0, `our worker ran none of them: ${JSON.stringify(byLang)}`);
  for (const r of runs) assert.equal(r.node, r.lang === 'python' ? `wmf-py-${token}@localhost` : `wmf-ts-${token}@localhost`);

  // kombu's ack bookkeeping is clean and nothing is left in the queue.
  await pollUntil('the unacked hash to drain', async () => (await redis.hlen(`${prefix}unacked`)) === 0, { timeoutMs: 5000 });
  assert.equal(await redis.zcard(`${prefix}unacked_index`), 0);
  assert.equal(await app.transport.queueSize(queue), 0);
  assert.ok(ours!.running, 'our worker is still running');
  assert.doesNotMatch(ours!.logs(), /ERROR|WARNING/, 'our worker logged no errors');
  assert.doesNotMatch(python!.logs(), /ERROR|Traceback/, 'the Python worker logged no errors');
});
