// django-celery-results' tables as the result backend on both sides, on PostgreSQL and on
// MariaDB: Python's `result_backend = 'django-db'`, ours `result_backend: 'django-db'` +
// `database_url` (our worker takes them from RESULT_BACKEND / DATABASE_URL, as a user's config
// would). States we store are what Python's AsyncResult reads, exception type included; a Python
// worker's result is what our wait reads back; saved groups restore on the other side; chords
// whose header runs on our worker, on a Python worker or on both count on the same
// django_celery_results_chordcounter row and fire their callback once, or fail it with ChordError.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { DjangoBackend } from '../../src/backend/django/django-backend.js';
import { Celery, chord, createBackend, type ResultBackend, signature } from '../../src/index.js';
import { buildTaskMeta } from '../../src/protocol/result-meta.js';
import { runPython, startPythonWorker } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';
import { createTestDatabase, type SqlServer } from '../helpers/sql-database.js';
import { startTsWorker } from '../helpers/ts-worker.js';
import { configFromEnv } from './ts/env-config.js';

const redisClaim = claimRedis('django-results');
const { url: brokerUrl, token, prefix } = redisClaim;

after(async () => {
  await redisClaim.deleteKeys(prefix);
});

/** What Python's AsyncResult (backend django-db) sees for a task id. */
async function pythonReads(
  taskId: string,
  env: Record<string, string>,
): Promise<{ state: string; result: unknown; exc: string | null; traceback: string | null; name: string | null; args: unknown; date_done: string | null }> {
  const run = await runPython(
    `import json, django_app
r = django_app.app.AsyncResult(${JSON.stringify(taskId)})
res = r.result
exc = type(res).__name__ if isinstance(res, BaseException) else None
print(json.dumps({'state': r.state, 'result': str(res) if exc else res, 'exc': exc, 'traceback': r.traceback, 'name': r._get_task_meta().get('task_name'), 'args': r.args, 'date_done': r.date_done and r.date_done.isoformat()}))`,
    env,
  );
  return run.json as never;
}

for (const server of ['postgres', 'mariadb'] as SqlServer[]) {
  test(`django-db on ${server}: results, saved groups and chords between our worker, Python Celery and Django`, async () => {
    const db = await createTestDatabase(server, `django_results_${server}`);
    const qTs = `djres-ts-${server}-${token}`;
    const qPy = `djres-py-${server}-${token}`;
    const env = { BROKER_URL: brokerUrl, KEYPREFIX: prefix, DEFAULT_QUEUE: qPy, DJANGO_DB_URL: db.url, RESULT_BACKEND: 'django-db', DATABASE_URL: db.url };
    let backend: ResultBackend | undefined;
    let app: Celery | undefined;
    const workers: { stop(): Promise<unknown> }[] = [];
    let started: Promise<unknown> = Promise.resolve();
    try {
      await runPython(`import django_app\nfrom django.core.management import call_command\ncall_command('migrate', 'django_celery_results', verbosity=0)\nprint('{}')`, env);
      started = Promise.all([
        startTsWorker({ app: 'test/interop/ts/canvas-tasks.ts', queues: [qTs], nodeName: `djres-ts-${server}-${token}@localhost`, env, concurrency: 2 }),
        startPythonWorker({ app: 'django_app', queues: [qPy], nodeName: `djres-py-${server}-${token}@localhost`, env }),
      ]).then((up) => workers.push(...up));
      backend = createBackend('django-db', { databaseUrl: db.url })!;
      await backend.connect();

      // States we store, read by Python.
      const ok = randomUUID();
      const extended = { name: 'ts.add', args: [2, 3], kwargs: {}, worker: 'ts@localhost', retries: 0, queue: qTs };
      await backend.storeResult(buildTaskMeta({ taskId: ok, status: 'STARTED', result: { pid: 1 }, extended }));
      await backend.storeResult(buildTaskMeta({ taskId: ok, status: 'SUCCESS', result: 5, dateDone: new Date(), extended }));
      const read = await pythonReads(ok, env);
      assert.deepEqual({ ...read, date_done: undefined }, { state: 'SUCCESS', result: 5, exc: null, traceback: null, name: 'ts.add', args: [2, 3], date_done: undefined });
      // The DATETIME columns hold UTC both ways (Django's USE_TZ), whatever the process's zone.
      assert.ok(Math.abs(Date.parse(read.date_done!) - Date.now()) < 60_000, `date_done as Python reads it: ${read.date_done}`);
      const failed = randomUUID();
      const error = { exc_type: 'ValueError', exc_message: ['bad input'], exc_module: 'builtins' };
      await backend.storeResult(buildTaskMeta({ taskId: failed, status: 'FAILURE', result: error, traceback: 'Traceback…\nValueError: bad input', dateDone: new Date() }));
      const f = await pythonReads(failed, env);
      assert.deepEqual([f.state, f.exc, f.result, f.traceback], ['FAILURE', 'ValueError', 'bad input', 'Traceback…\nValueError: bad input']);
      const progress = randomUUID();
      // Text outside the BMP too: the connection and Django's tables are utf8mb4 on MariaDB.
      const note = 'café ☕ 🎉';
      await backend.storeResult(buildTaskMeta({ taskId: progress, status: 'PROGRESS', result: { done: 3, total: 10, note } }));
      assert.deepEqual({ ...(await pythonReads(progress, env)), date_done: null }, { state: 'PROGRESS', result: { done: 3, total: 10, note }, exc: null, traceback: null, name: null, args: null, date_done: null });

      // A group we save is what Python's GroupResult.restore reads (and a Python-saved one ours).
      const ourGroup = randomUUID();
      await backend.saveGroup(ourGroup, [[ourGroup, null], [[[ok, null], null], [[failed, null], null]]]);
      const restored = await runPython(
        `import json, django_app
from celery.result import GroupResult
g = GroupResult.restore(${JSON.stringify(ourGroup)}, app=django_app.app)
saved = django_app.app.GroupResult('py-group-${token}', [django_app.app.AsyncResult('${progress}'), django_app.app.AsyncResult('${ok}')])
saved.save()
print(json.dumps({'ids': [r.id for r in g.results], 'values': g.join(propagate=False)[:1], 'failed': g.failed()}))`,
        env,
      );
      assert.deepEqual(restored.json, { ids: [ok, failed], values: [5], failed: true });
      assert.deepEqual(await backend.restoreGroup(`py-group-${token}`), [[`py-group-${token}`, null], [[[progress, null], null], [[ok, null], null]]]);
      await backend.deleteGroup(ourGroup);
      assert.equal(await backend.restoreGroup(ourGroup), null);

      // Header tasks finishing at once (one pooled connection each) count under the row lock:
      // exactly one of them completes the chord, with every result in header order.
      const counter = (backend as DjangoBackend).chordCounter();
      const parts = Array.from({ length: 4 }, () => randomUUID());
      for (const [i, id] of parts.entries()) await backend.storeResult(buildTaskMeta({ taskId: id, status: 'SUCCESS', result: i * 10, dateDone: new Date() }));
      const racing = randomUUID();
      await counter.applyChord(racing, parts.map((id) => [[id, null], null]));
      const outcomes = await Promise.all(parts.map((id, i) => counter.onChordPartReturn({ groupId: racing, groupIndex: i, taskId: id, state: 'SUCCESS', result: i * 10 })));
      const completed = outcomes.filter((o) => o.complete);
      assert.equal(completed.length, 1);
      assert.deepEqual(completed[0]!.complete && completed[0]!.results.map((e) => e.result), [0, 10, 20, 30]);

      await started;
      // Python sends: a task to our worker; a chord whose header runs on both workers (each
      // decrements the counter row; Python's part, a second late, most likely completes it and
      // joins our results) and whose body runs on ours; one whose header runs on ours
      // only (our worker sends the body, to Python's); one a header task of ours fails.
      const sent = runPython(
        `import json, django_app
from celery import chord, signature
a = django_app.app.signature
ts = lambda name, *args: a(name, args=args, queue=${JSON.stringify(qTs)})
one = ts('canvas.add', 20, 22).delay()
mixed = chord([ts('canvas.add', 1, 1), django_app.django_add.s(2, 2).set(countdown=1), ts('canvas.add', 3, 3)], ts('canvas.tsum'))()
on_ours = chord([ts('canvas.add', 4, 4), ts('canvas.add', 5, 50)], django_app.django_sum.s())()
broken = chord([ts('canvas.add', 1, 1), ts('canvas.fail', 'boom')], ts('canvas.tsum'))()
fail_id = broken.parent.results[1].id
out = {'one': one.get(timeout=20), 'mixed': mixed.get(timeout=20), 'on_ours': on_ours.get(timeout=20)}
res = broken.get(timeout=20, propagate=False)
out['broken'] = [broken.state, type(res).__name__, str(res), fail_id]
print(json.dumps(out))`,
        env,
        40_000,
      );
      // We send a chord whose header runs on the Python worker: it counts on the row we created.
      app = new Celery(configFromEnv(env));
      const ours = await app.applyAsync(
        chord([signature('interop.django_add', [5, 5], {}, { queue: qPy }), signature('interop.django_add', [1, 2], {}, { queue: qPy })], signature('canvas.tsum', [], {}, { queue: qTs })),
      );
      assert.equal(await ours.get({ timeout: 20 }), 13);
      const { one, mixed, on_ours, broken } = (await sent).json as { one: number; mixed: number; on_ours: number; broken: [string, string, string, string] };
      assert.equal(one, 42);
      assert.equal(mixed, 12);
      assert.equal(on_ours, 63);
      const [state, excType, message, failId] = broken;
      assert.deepEqual([state, excType], ['FAILURE', 'ChordError']);
      // database.py `trigger_callback`'s reason; our RangeError is stored as Python's ValueError.
      assert.equal(message, `Dependency ${failId} raised ValueError('boom')`);
      assert.deepEqual(await db.query(`SELECT group_id FROM django_celery_results_chordcounter`), [], 'every counter row is gone');
      // A header task of a chord nobody applied (or that already fired) is reported, not counted.
      await assert.rejects(
        (backend as DjangoBackend).chordCounter().onChordPartReturn({ groupId: `gone-${token}`, groupIndex: 0, taskId: ok, state: 'SUCCESS', result: 1 }),
        /^Error: no chord counter django_celery_results_chordcounter\(group_id=gone-[^)]+\): the chord was not applied through django-db, or it already completed$/,
      );

      // A Python worker's results, read by our wait.
      const [addId, failId2] = (
        await runPython(
          `import json, django_app
print(json.dumps([django_app.django_add.delay(20, 22).id, django_app.django_fail.delay('nope').id]))`,
          env,
        )
      ).json as [string, string];
      const added = await backend.waitFor(addId, { timeoutMs: 20_000 });
      assert.deepEqual([added.status, added.result, added.name, added.children], ['SUCCESS', 42, 'interop.django_add', []]);
      assert.match(added.date_done ?? '', /^\d{4}-\d{2}-\d{2}T.*\+00:00$/);
      assert.ok(Math.abs(Date.parse(added.date_done!) - Date.now()) < 60_000, `date_done as we read it: ${added.date_done}`);
      const boom = await backend.waitFor(failId2, { timeoutMs: 20_000 });
      assert.equal(boom.status, 'FAILURE');
      assert.deepEqual(boom.result, { exc_type: 'ValueError', exc_message: ['nope'], exc_module: 'builtins' });
      assert.match(boom.traceback ?? '', /ValueError: nope/);

      // celery.backend_cleanup as Python's beat sends it daily, run by our worker: the task and
      // group rows older than result_expires (1 day) are deleted, the rest kept.
      const twoDaysAgo = server === 'postgres' ? "now() - INTERVAL '2 days'" : 'NOW() - INTERVAL 2 DAY';
      const p1 = server === 'postgres' ? '$1' : '?';
      await db.query(`UPDATE django_celery_results_taskresult SET date_done = ${twoDaysAgo} WHERE task_id = ${p1}`, [failed]);
      await db.query(`UPDATE django_celery_results_groupresult SET date_done = ${twoDaysAgo} WHERE group_id = ${p1}`, [`py-group-${token}`]);
      const cleaned = await runPython(
        `import json, django_app
r = django_app.app.send_task('celery.backend_cleanup', queue=${JSON.stringify(qTs)}, expires=12 * 3600)
print(json.dumps([r.get(timeout=20), r.state]))`,
        env,
      );
      assert.deepEqual(cleaned.json, [null, 'SUCCESS']);
      assert.equal((await backend.getMeta(failed)).status, 'PENDING');
      assert.equal(await backend.restoreGroup(`py-group-${token}`), null);
      assert.equal((await backend.getMeta(progress)).status, 'PROGRESS');

      await backend.forget(ok);
      assert.equal((await backend.getMeta(ok)).status, 'PENDING');
      assert.equal((await pythonReads(ok, env)).state, 'PENDING');
    } finally {
      await app?.close();
      await backend?.close();
      await started.catch(() => {});
      await Promise.allSettled(workers.map((w) => w.stop()));
      await db.drop();
    }
  });
}
