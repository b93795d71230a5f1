// Interop, execution semantics: Python producers see our worker's retries (RETRY, then the final
// state; backoff countdowns within Celery's jitter bounds) and soft time limits
// (SoftTimeLimitExceeded, after the handler's cleanup); a retry published by one language's
// worker is continued by the other's, with the retry count carried on.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { pollUntil, runPython, startPythonWorker } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';
import { startTsWorker } from '../helpers/ts-worker.js';
import { resultKeyprefix } from './ts/env-config.js';

const { url, token, prefix } = claimRedis('worker-execution');
const queue = `wx-${token}`;
const env = { BROKER_URL: url, RESULT_BACKEND: url, KEYPREFIX: prefix, DEFAULT_QUEUE: queue };
const redis = new Redis(url);

after(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const python = (code: string, timeoutMs = 30_000) => runPython(`import json\nfrom interop_app import app\n${code}`, env, timeoutMs);

test('autoretry with backoff: Python sees RETRY, then SUCCESS; countdowns within the jitter bounds', async () => {
  const worker = await startTsWorker({ app: 'test/interop/ts/execution-tasks.ts', queues: [queue], nodeName: `wx-a-${token}@localhost`, env });
  try {
    // on_message receives every state the Redis backend publishes (Celery subscribes when the task
    // is sent), so a RETRY that lasts only milliseconds (a 0 s jittered countdown) is still seen.
    const { json } = await python(`
r = app.send_task('exec.flaky')
states = []
result = r.get(timeout=20, on_message=lambda meta: states.append(meta['status']))
print(json.dumps({'id': r.id, 'states': states, 'result': result}))`);
    const out = json as { id: string; states: string[]; result: { retries: number } };
    assert.ok(out.states.includes('RETRY'), `states seen: ${out.states.join(',')}`);
    assert.deepEqual(out.result, { retries: 2 });
    const runs = (await redis.lrange(`${prefix}runs:${out.id}`, 0, -1)).map(Number);
    assert.equal(runs.length, 3);
    // retries 0 and 1: countdown = random integer in [0, 2^retries] (full jitter), in seconds, as
    // the worker logs it ("Retry in Ns"); each retry runs no earlier than its countdown. The
    // countdowns are read, not timed, so a loaded machine's extra seconds cannot fail this.
    await worker.waitForLog(new RegExp(`exec\\.flaky\\[${out.id}\\] succeeded`));
    const countdowns = [...worker.logs().matchAll(new RegExp(`exec\\.flaky\\[${out.id}\\] retry: Retry in ([\\d.]+)s`, 'g'))].map((m) => Number(m[1]));
    assert.equal(countdowns.length, 2, worker.logs());
    runs.slice(1).forEach((t, i) => {
      const gap = (t - runs[i]!) / 1000;
      assert.ok(countdowns[i]! >= 0 && countdowns[i]! <= 2 ** i, `retry ${i}: countdown ${countdowns[i]} s (bound ${2 ** i} s)`);
      assert.ok(gap >= countdowns[i]! - 0.05, `retry ${i} came after ${gap} s, before its ${countdowns[i]} s countdown`);
    });
  } finally {
    await worker.stop();
  }
});

test("apply_async(soft_time_limit=1) from Python, or the worker's task_annotations → SoftTimeLimitExceeded, after the handler's cleanup", async () => {
  // Our worker's config annotates another task (exec.slow_annotated, the same handler) with the limit.
  const annotations = JSON.stringify({ 'exec.slow_annotated': { soft_time_limit: 1 } });
  const worker = await startTsWorker({ app: 'test/interop/ts/execution-tasks.ts', queues: [queue], nodeName: `wx-b-${token}@localhost`, env: { ...env, TASK_ANNOTATIONS: annotations } });
  try {
    const { json } = await python(`
from celery.exceptions import SoftTimeLimitExceeded
outs = []
for r in [app.send_task('exec.slow_cleanup', soft_time_limit=1), app.send_task('exec.slow_annotated')]:
    try:
        r.get(timeout=15)
        out = {'raised': None}
    except SoftTimeLimitExceeded as exc:
        out = {'raised': 'SoftTimeLimitExceeded', 'state': r.state}
    except Exception as exc:
        out = {'raised': type(exc).__name__, 'repr': repr(exc)}
    out['id'] = r.id
    outs.append(out)
print(json.dumps(outs))`);
    for (const out of json as { raised: string; state: string; id: string }[]) {
      assert.equal(out.raised, 'SoftTimeLimitExceeded');
      assert.equal(out.state, 'FAILURE');
      assert.equal(await redis.get(`${prefix}cleanup:${out.id}`), 'SoftTimeLimitExceeded');
    }
  } finally {
    await worker.stop();
  }
});

test('a retry our worker published is continued by a Python worker, and the reverse', async () => {
  // Ours runs retries=0, publishes the retry (eta +3 s) and holds it; a warm shutdown gives it back.
  const ours = await startTsWorker({ app: 'test/interop/ts/execution-tasks.ts', queues: [queue], nodeName: `wx-c-${token}@localhost`, env });
  const { json: sent } = await python(`print(json.dumps(app.send_task('exec.handoff').id))`);
  const id = sent as string;
  await pollUntil('RETRY stored by our worker', async () => (await redis.get(`${resultKeyprefix(prefix)}celery-task-meta-${id}`))?.includes('"RETRY"') || undefined, { timeoutMs: 10_000 });
  assert.equal((await ours.stop()).code, 0);
  const py = await startPythonWorker({ app: 'exec_tasks', queues: [queue], nodeName: `wx-py-${token}@localhost`, env });
  try {
    const { json } = await python(`print(json.dumps(app.AsyncResult(${JSON.stringify(id)}).get(timeout=15)))`);
    assert.deepEqual(json, ['py', 1]);
  } finally {
    await py.stop();
  }
  // Python runs retries=0 and retries; its warm shutdown restores the held retry; ours continues it.
  const py2 = await startPythonWorker({ app: 'exec_tasks', queues: [queue], nodeName: `wx-py2-${token}@localhost`, env });
  const { json: sent2 } = await python(`print(json.dumps(app.send_task('exec.handoff').id))`);
  const id2 = sent2 as string;
  try {
    await pollUntil('RETRY stored by Python', async () => (await redis.get(`${resultKeyprefix(prefix)}celery-task-meta-${id2}`))?.includes('"RETRY"') || undefined, { timeoutMs: 10_000 });
  } finally {
    await py2.stop();
  }
  const ours2 = await startTsWorker({ app: 'test/interop/ts/execution-tasks.ts', queues: [queue], nodeName: `wx-d-${token}@localhost`, env });
  try {
    const { json } = await python(`print(json.dumps(app.AsyncResult(${JSON.stringify(id2)}).get(timeout=15)))`);
    assert.deepEqual(json, ['ts', 1]);
  } finally {
    await ours2.stop();
  }
});
