// django-celery-results' table as the result backend on both sides: Python's `result_backend =
// 'django-db'`, ours `result_backend: 'django-db'` + `database_url`. States we store (SUCCESS, a
// FAILURE, a custom PROGRESS with its meta) are what Python's AsyncResult reads, exception type
// included; a Python worker's result is what our AsyncResult-side wait reads back.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { createBackend, type ResultBackend } from '../../src/index.js';
import { buildTaskMeta } from '../../src/protocol/result-meta.js';
import { runPython, startPythonWorker } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';
import { createTestDatabase, type TestDatabase } from '../helpers/sql-database.js';

const redisClaim = claimRedis('django-results');
const { url: brokerUrl, token, prefix } = redisClaim;
const queue = `q-djres-${token}`;
let db: TestDatabase;
let env: Record<string, string>;
let backend: ResultBackend;

before(async () => {
  db = await createTestDatabase('postgres', 'django_results');
  env = { BROKER_URL: brokerUrl, KEYPREFIX: prefix, DEFAULT_QUEUE: queue, DJANGO_DB_URL: db.url };
  await runPython(`import django_app\nfrom django.core.management import call_command\ncall_command('migrate', 'django_celery_results', verbosity=0)\nprint('{}')`, env);
  backend = createBackend('django-db', { databaseUrl: db.url })!;
  await backend.connect();
});

after(async () => {
  await backend?.close();
  await db?.drop();
  await redisClaim.deleteKeys(prefix);
});

/** What Python's AsyncResult (backend django-db) sees for a task id. */
async function pythonReads(taskId: string): Promise<{ state: string; result: unknown; exc: string | null; traceback: string | null; name: string | null; args: unknown }> {
  const run = await runPython(
    `import json, django_app
r = django_app.app.AsyncResult(${JSON.stringify(taskId)})
res = r.result
exc = type(res).__name__ if isinstance(res, BaseException) else None
print(json.dumps({'state': r.state, 'result': str(res) if exc else res, 'exc': exc, 'traceback': r.traceback, 'name': r._get_task_meta().get('task_name'), 'args': r.args}))`,
    env,
  );
  return run.json as never;
}

test('states we store are read by Python AsyncResult; a Python worker result is read by ours', async () => {
  const ok = randomUUID();
  const extended = { name: 'ts.add', args: [2, 3], kwargs: {}, worker: 'ts@localhost', retries: 0, queue };
  await backend.storeResult(buildTaskMeta({ taskId: ok, status: 'STARTED', result: { pid: 1 }, extended }));
  await backend.storeResult(buildTaskMeta({ taskId: ok, status: 'SUCCESS', result: 5, dateDone: new Date(), extended }));
  assert.deepEqual(await pythonReads(ok), { state: 'SUCCESS', result: 5, exc: null, traceback: null, name: 'ts.add', args: [2, 3] });

  const failed = randomUUID();
  const error = { exc_type: 'ValueError', exc_message: ['bad input'], exc_module: 'builtins' };
  await backend.storeResult(buildTaskMeta({ taskId: failed, status: 'FAILURE', result: error, traceback: 'Traceback…\nValueError: bad input', dateDone: new Date() }));
  const f = await pythonReads(failed);
  assert.deepEqual([f.state, f.exc, f.result, f.traceback], ['FAILURE', 'ValueError', 'bad input', 'Traceback…\nValueError: bad input']);

  const progress = randomUUID();
  await backend.storeResult(buildTaskMeta({ taskId: progress, status: 'PROGRESS', result: { done: 3, total: 10 } }));
  assert.deepEqual(await pythonReads(progress), { state: 'PROGRESS', result: { done: 3, total: 10 }, exc: null, traceback: null, name: null, args: null });

  await backend.forget(ok);
  assert.equal((await backend.getMeta(ok)).status, 'PENDING');
  assert.equal((await pythonReads(ok)).state, 'PENDING');

  // A Python worker (result_backend='django-db', result_extended) runs what Python sends; we wait on the row.
  const worker = await startPythonWorker({ app: 'django_app', queues: [queue], nodeName: `djres-${token}@localhost`, env });
  try {
    const sent = await runPython(
      `import json, django_app
a = django_app.django_add.apply_async((20, 22), queue=${JSON.stringify(queue)})
b = django_app.django_fail.apply_async(('nope',), queue=${JSON.stringify(queue)})
print(json.dumps([a.id, b.id]))`,
      env,
    );
    const [addId, failId] = sent.json as [string, string];
    const added = await backend.waitFor(addId, { timeoutMs: 20_000 });
    assert.equal(added.status, 'SUCCESS');
    assert.equal(added.result, 42);
    assert.equal(added.name, 'interop.django_add');
    assert.match(added.date_done ?? '', /^\d{4}-\d{2}-\d{2}T.*\+00:00$/);
    assert.deepEqual(added.children, []);
    const boom = await backend.waitFor(failId, { timeoutMs: 20_000 });
    assert.equal(boom.status, 'FAILURE');
    assert.deepEqual(boom.result, { exc_type: 'ValueError', exc_message: ['nope'], exc_module: 'builtins' });
    assert.match(boom.traceback ?? '', /ValueError: nope/);
  } finally {
    await worker.stop();
  }
});
