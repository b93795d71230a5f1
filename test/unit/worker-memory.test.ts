// The worker pipeline on the in-memory transport and backend: what a caller observes for
// success, failures, unknown tasks, progress, ETA holding, expiry, acks and shutdown.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { z } from 'zod';
import { Celery } from '../../src/app.js';
import { chain } from '../../src/canvas/signatures.js';
import type { TaskContext } from '../../src/registry/task-definition.js';
import { Ignore, Reject, type TaskError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { Worker } from '../../src/worker/worker.js';

const lines: string[] = [];
const app = new Celery({ broker_url: 'memory://', result_backend: 'memory://', task_track_started: true });
const add = app.task('t.add', (a: number, b: number) => a + b);
const render = app.task(
  { name: 't.render', params: ['report_id', 'format'], kwargs: z.object({ report_id: z.number().int(), format: z.string().default('pdf') }) },
  async ({ kwargs, ctx }) => {
    await ctx.updateState('PROGRESS', { current: 1, total: 2 });
    await new Promise((r) => setTimeout(r, 100));
    return { ...kwargs, id: ctx.id };
  },
);
app.task('t.fail', (message: string) => {
  throw new RangeError(message);
});
app.task('t.reject', () => {
  throw new Reject('no thanks', false);
});
app.task('t.ignore', () => {
  throw new Ignore('skip');
});
app.task('t.nothing', () => undefined);
app.task('t.child', async function (this: { id: string }) {
  const child = await app.sendTask('t.add', [1, 1]);
  return child.id;
});

const worker = new Worker(app, { mingle: false, concurrency: 4, nodeName: 'unit@test', logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }) });
await worker.start();
after(() => worker.stop());

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('SUCCESS with the return value, logged in Celery format', async () => {
  const r = await add.delay(2, 3);
  assert.equal(await r.get({ timeout: 20 }), 5);
  assert.equal(await r.state(), 'SUCCESS');
  assert.ok(lines.some((l) => /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}: INFO\/MainProcess\] Task t\.add\[[0-9a-f-]{36}\] received$/.test(l)));
  assert.ok(lines.some((l) => new RegExp(`Task t\\.add\\[${r.id}\\] succeeded in [0-9.e-]+s: 5$`).test(l)));
});

test('undefined becomes None (null)', async () => {
  assert.equal(await (await app.sendTask('t.nothing')).get({ timeout: 20 }), null);
});

test('FAILURE carries the Python exception type, message and traceback', async () => {
  const r = await app.sendTask('t.fail', ['disk full']);
  await assert.rejects(r.get({ timeout: 20 }), (e: TaskError) => {
    assert.equal(e.excType, 'ValueError');
    assert.deepEqual(e.excArgs, ['disk full']);
    assert.match(e.remoteTraceback ?? '', /disk full/);
    return true;
  });
  assert.equal(await r.state(), 'FAILURE');
});

test('bad arguments fail with TypeError / ValueError instead of crashing the worker', async () => {
  await assert.rejects((await app.sendTask('t.render', [])).get({ timeout: 20 }), { excType: 'TypeError' });
  await assert.rejects((await app.sendTask('t.render', ['x'])).get({ timeout: 20 }), (e: TaskError) => {
    assert.equal(e.excType, 'ValueError');
    assert.match(String(e.excArgs[0]), /kwargs\.report_id/);
    return true;
  });
  const ok = await render.applyAsync([7], { format: 'csv' });
  assert.deepEqual(await ok.get({ timeout: 20 }), { report_id: 7, format: 'csv', id: ok.id });
});

test('an unknown task is FAILURE NotRegistered and the worker keeps going', async () => {
  const r = await app.sendTask('t.no_such_task', [1]);
  await assert.rejects(r.get({ timeout: 20 }), (e: TaskError) => e.excType === 'NotRegistered' && e.excArgs[0] === 't.no_such_task');
  assert.ok(lines.some((l) => l.includes("Received unregistered task of type 't.no_such_task'")));
  assert.equal(await (await add.delay(1, 1)).get({ timeout: 20 }), 2);
});

test('progress is readable while the task runs, then SUCCESS replaces it', async () => {
  const r = await render.applyAsync([42]);
  const deadline = Date.now() + 20_000;
  while ((await r.state()) !== 'PROGRESS' && Date.now() < deadline) await new Promise((res) => setTimeout(res, 5));
  assert.equal(await r.state(), 'PROGRESS');
  assert.deepEqual(await r.info(), { current: 1, total: 2 });
  assert.deepEqual(await r.get({ timeout: 20 }), { report_id: 42, format: 'pdf', id: r.id });
});

test('countdown holds the message until due; expires in the past is REVOKED without running', async () => {
  const sent = Date.now();
  const r = await add.applyAsync([1, 2], undefined, { countdown: 0.3 });
  assert.equal(await r.get({ timeout: 20 }), 3);
  assert.ok(Date.now() - sent >= 290, 'ran before its eta');
  const expired = await add.applyAsync([1, 2], undefined, { expires: new Date(Date.now() - 1000) });
  await assert.rejects(expired.get({ timeout: 20 }), { excType: 'TaskRevokedError' });
});

test('Reject without requeue stores FAILURE Reject(reason, False) as Celery 5.7 does; Ignore stores nothing', async () => {
  const rejected = await app.sendTask('t.reject');
  const ignored = await app.sendTask('t.ignore');
  const deadline = Date.now() + 20_000;
  while (!lines.some((l) => l.includes(`[${ignored.id}] ignored`)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  while (!lines.some((l) => l.includes(`[${rejected.id}] rejected`)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  // celery/worker/request.py on_failure: the rejected message never runs again, so FAILURE.
  assert.equal(await rejected.state(), 'FAILURE');
  // Only the STARTED written before the handler ran (task_track_started); no outcome is stored.
  assert.equal(await ignored.state(), 'STARTED');
});

test('a task sent from inside a task is its child (parent_id, root_id)', async () => {
  const parent = await app.sendTask('t.child');
  const childId = (await parent.get({ timeout: 20 })) as string;
  assert.equal(await app.AsyncResult(childId).get({ timeout: 20 }), 2);
});

test('a worker whose config carries Celery settings we do not implement starts and names them once', async () => {
  const logged: string[] = [];
  const shared = new Celery({ broker_url: 'memory://', task_always_eager: false, worker_hijack_root_logger: false });
  const w = new Worker(shared, { mingle: false, nodeName: 'shared@test', logger: createLogger({ level: 'info', write: (l) => logged.push(l) }) });
  await w.start();
  await w.stop();
  assert.deepEqual(
    logged.filter((l) => l.includes('Ignoring Celery settings')).map((l) => l.replace(/^.*\] /, '')),
    ['Ignoring Celery settings ts-celery does not implement: task_always_eager, worker_hijack_root_logger'],
  );
});

test('AsyncResult.revoke(): a task held for its ETA is never run and reads REVOKED', async () => {
  const r = await add.applyAsync([1, 2], {}, { countdown: 30 });
  await until(() => worker.scheduledRequests().some((req) => req.id === r.id), 'the message fetched and held');
  await r.revoke();
  await assert.rejects(r.get({ timeout: 20 }), (e: TaskError) => e.excType === 'TaskRevokedError');
  assert.equal(await r.state(), 'REVOKED');
});

// ctx.replace (Python's `return self.replace(sig)`) on the in-memory broker; group replacements
// need chords, so the Redis backend: test/interop/worker-canvas.test.ts.
const nesting = app.task('t.nesting', function (this: TaskContext) {
  return this.headers.replaced_task_nesting;
});
const replacer = app.task('t.replacer', function (this: TaskContext, how: string) {
  if (how === 'task') return this.replace(add.s([20, 22]));
  if (how === 'chain') return this.replace(chain([add.s([1, 1]), add.s([3])]));
  return this.replace(nesting.s());
});

test('ctx.replace: the replacement finishes under the replaced task id; the rest of its chain follows', async () => {
  assert.equal(await (await replacer.delay('task')).get({ timeout: 20 }), 42);
  assert.equal(await (await replacer.delay('chain')).get({ timeout: 20 }), 5);
  assert.equal(await (await replacer.delay('nesting')).get({ timeout: 20 }), 1, 'replaced_task_nesting header');
  const chained = await app.applyAsync(chain([replacer.s(['task']), add.s([8])]));
  assert.equal(await chained.get({ timeout: 20 }), 50);
  assert.ok(lines.some((l) => /Task t\.replacer\[[0-9a-f-]{36}\] replaced by t\.add$/.test(l)));
});
