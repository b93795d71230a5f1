// Interop, canvas across languages: Python and TypeScript build chains, groups and chords whose
// steps run on our worker and on a Python worker (routed by queue); both sides keep Celery 5.7's
// chord bookkeeping, so exactly one body is sent, with the header results in order.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { Celery, chain, chord, group, signature } from '../../src/index.js';
import { type PythonWorker, runPython, startPythonWorker } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';
import { startTsWorker, type TsWorker } from '../helpers/ts-worker.js';
import { configFromEnv } from './ts/env-config.js';

const { url, token, prefix } = claimRedis('worker-canvas');
const qTs = `cv-ts-${token}`;
const qPy = `cv-py-${token}`;
const env = { BROKER_URL: url, RESULT_BACKEND: url, KEYPREFIX: prefix, DEFAULT_QUEUE: qTs };
let ours: TsWorker;
let python: PythonWorker;

before(async () => {
  [ours, python] = await Promise.all([
    startTsWorker({ app: 'test/interop/ts/canvas-tasks.ts', queues: [qTs], nodeName: `cv-ts-${token}@localhost`, env, concurrency: 4 }),
    startPythonWorker({ app: 'canvas_tasks', queues: [qPy], nodeName: `cv-py-${token}@localhost`, env }),
  ]);
});

const app = new Celery(configFromEnv(env));

after(async () => {
  await app.close();
  await Promise.allSettled([ours?.stop(), python?.stop()]);
  const redis = new Redis(url);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const py = async (code: string) =>
  (await runPython(`import json\nfrom celery import chain, chord, group\nfrom canvas_tasks import add, tsum, fail\n${code}`, env, 40_000)).json;

test('a chain hops TypeScript → Python → TypeScript and Python reads the final result', async () => {
  const out = await py(`
r = chain(add.s(1, 1).set(queue='${qTs}'), add.s(2).set(queue='${qPy}'), add.s(3).set(queue='${qTs}')).apply_async()
print(json.dumps([r.get(timeout=20), r.parent.get(timeout=5), r.parent.parent.get(timeout=5)]))`);
  assert.deepEqual(out, [7, 4, 2]);
});

test('a chord whose header runs on both workers sends its body once, with the results in order', async () => {
  const out = await py(`
header = [add.s(i, i).set(queue='${qTs}' if i % 2 else '${qPy}') for i in range(6)]
r = chord(header, tsum.s().set(queue='${qPy}')).apply_async()
print(json.dumps({'sum': r.get(timeout=20), 'header': [h.get(timeout=5) for h in r.parent.results]}))`);
  assert.deepEqual(out, { sum: 30, header: [0, 2, 4, 6, 8, 10] });
});

test('a chord body run by our worker, and a failing header member fails the body with ChordError', async () => {
  const ok = await py(`print(json.dumps(chord([add.s(i, 1).set(queue='${qPy}') for i in range(3)], tsum.s().set(queue='${qTs}')).apply_async().get(timeout=20)))`);
  assert.equal(ok, 6);
  const failed = (await py(`
r = chord([add.s(1, 1).set(queue='${qTs}'), fail.s('no').set(queue='${qTs}')], tsum.s().set(queue='${qPy}')).apply_async()
r.get(timeout=20, propagate=False)  # (with propagate, get() re-raises the failed parent's ValueError first)
print(json.dumps([r.state, type(r.result).__name__, str(r.result)]))`)) as [string, string, string];
  assert.deepEqual(failed.slice(0, 2), ['FAILURE', 'ChordError']);
  assert.match(failed[2], /^Dependency [0-9a-f-]{36} raised ValueError\('no'\)$/);
});

// Signatures on either worker, by queue.
const add = (a: number[], queue: string) => signature('canvas.add', a, {}, { queue });
const tsum = (queue: string) => signature('canvas.tsum', [], {}, { queue });

test('a Python chain whose group step becomes a chord: our worker applies the chord from embed.chain', async () => {
  const out = await py(`
r = chain(add.s(1, 1).set(queue='${qTs}'), group(add.s(10).set(queue='${qPy}'), add.s(20).set(queue='${qTs}')), tsum.s().set(queue='${qPy}')).apply_async()
print(json.dumps(r.get(timeout=20)))`);
  assert.equal(out, 34);
});

test('TypeScript builds a chord with header tasks on both workers; Python reads the body result', async () => {
  const header = [0, 1, 2, 3, 4, 5].map((i) => add([i, i], i % 2 ? qTs : qPy));
  const result = await app.applyAsync(chord(header, tsum(qPy)));
  assert.equal(await result.get({ timeout: 20 }), 30);
  assert.equal(await py(`from celery.result import AsyncResult\nprint(json.dumps(AsyncResult('${result.id}').get(timeout=5)))`), 30);
});

test('TypeScript chains across languages (a group step becomes a chord) and groups give a GroupResult', async () => {
  const chained = await app.applyAsync(chain([add([1, 1], qPy), group([add([10], qTs), add([20], qPy)]), tsum(qTs), add([100], qPy)]));
  assert.equal(await chained.get({ timeout: 20 }), 134);
  const grouped = await app.applyAsync(group([add([1, 2], qTs), add([3, 4], qPy)]));
  assert.deepEqual(await grouped.get({ timeout: 20 }), [3, 7]);
  assert.equal(grouped.results.length, 2);
  const empty = await app.applyAsync(chord([], tsum(qPy)));
  assert.equal(await empty.get({ timeout: 20 }), 0, 'a chord with an empty header runs its body with []');
});
test('a TypeScript task replaced by a group of Python tasks: Python reads the list under the original id', async () => {
  const out = await py(`
from canvas_tasks import app
r = app.send_task('canvas.fan_out', args=[4, '${qPy}'], queue='${qTs}')
print(json.dumps([r.get(timeout=20), r.state]))`);
  assert.deepEqual(out, [[0, 2, 4, 6], 'SUCCESS']);
});

test('saved groups cross over: Python restores a group TypeScript saved, and the other way round', async () => {
  const ours = await app.applyAsync(group([add([1, 1], qPy), add([2, 2], qTs)]));
  await ours.save();
  assert.deepEqual(await py(`from celery.result import GroupResult\nprint(json.dumps(GroupResult.restore('${ours.id}').get(timeout=20)))`), [2, 4]);
  const pythonGroupId = (await py(`
r = group(add.s(3, 3).set(queue='${qTs}'), add.s(4, 4).set(queue='${qPy}')).apply_async()
r.save()
print(json.dumps(r.id))`)) as string;
  const restored = await app.restoreGroup<number>(pythonGroupId);
  assert.deepEqual(await restored?.get({ timeout: 20 }), [6, 8]);
  assert.equal(await app.restoreGroup('no-such-group'), null);
});
