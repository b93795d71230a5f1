// Celery's SQLAlchemy result backend on both sides, on PostgreSQL and on MariaDB: Python's
// `result_backend = 'db+postgresql+psycopg://…'` / `'db+mysql+pymysql://…'` and ours the same
// URL. Per server two databases: one whose tables Python's Celery 5.7 created (SQLAlchemy's
// create_all) and a Python worker writes, read by our AsyncResult; one whose tables our worker
// created, where our worker's SUCCESS / FAILURE and our saved group are read by Python. Both
// table layouts (columns, indexes, sequences) are compared, so our DDL is proven equal to theirs.
// SQLite the same way on two files in a temp directory (`db+sqlite:////abs/path.db`, four slashes),
// plus a write that waits for another connection's lock instead of failing.
// Chords on PostgreSQL both ways: with no chord counter, Celery's `celery.chord_unlock` polls the
// header (celery/app/builtins.py `add_unlock_chord_task`) — run by our worker for a Python
// producer's chord, and by Python's worker for ours; a failed header gives the body ChordError.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { after, describe, test } from 'node:test';
import { Celery, chord, createBackend, DecodeError, type ResultBackend, signature, TaskError } from '../../src/index.js';
import { buildTaskMeta } from '../../src/protocol/result-meta.js';
import { runPython, startPythonWorker } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';
import { createTestDatabase, type SqlServer, type TestDatabase } from '../helpers/sql-database.js';
import { startTsWorker } from '../helpers/ts-worker.js';

/** Python lines: `ts.add(2, 3)` and a failing `ts.fail_range` sent to our worker, read back (`value`, `raised`). */
const sendAddAndFailure = (queue: string) => `ok = app.send_task('ts.add', (2, 3), queue=${JSON.stringify(queue)})
bad = app.send_task('ts.fail_range', ('out of range',), queue=${JSON.stringify(queue)})
value = ok.get(timeout=20)
try:
    bad.get(timeout=20)
    raised = None
except Exception as e:
    raised = [type(e).__name__, str(e)]
`;

/**
 * Our side of the saved-group check: an extended SUCCESS row for `a` (what `result_extended` adds)
 * and a group of `a` and a never-stored `b`, as Python reads it back.
 */
async function saveOurGroup(ours: ResultBackend, queue: string): Promise<{ groupId: string; a: string; b: string }> {
  const [groupId, a, b] = [randomUUID(), randomUUID(), randomUUID()];
  await ours.storeResult(buildTaskMeta({ taskId: a, status: 'SUCCESS', result: { n: 1 }, dateDone: new Date(), extended: { name: 'ts.echo', args: [1, 'x'], kwargs: { k: true }, worker: 'ts@h', retries: 0, queue } }));
  await ours.saveGroup(groupId, [[groupId, null], [[[a, null], null], [[b, null], null]]]);
  return { groupId, a, b };
}

const redisClaim = claimRedis('sqla-results');
const { url: brokerUrl, token, prefix } = redisClaim;
const databases: TestDatabase[] = [];
const closers: (() => Promise<unknown>)[] = [];

after(async () => {
  await Promise.all(closers.map((close) => close().catch(() => {})));
  await Promise.all(databases.map((db) => db.drop()));
  await redisClaim.deleteKeys(prefix);
});

/** The SQLAlchemy URL both sides are given (the `+driver` names Python's; ours ignores it). */
function backendUrl(server: SqlServer, db: TestDatabase): string {
  return server === 'postgres' ? `db+${db.url.replace('postgresql://', 'postgresql+psycopg://')}` : `db+${db.url.replace('mysql://', 'mysql+pymysql://')}`;
}

/** Columns, indexes and sequences of the result tables, comparable across two databases. */
async function layout(server: SqlServer, db: TestDatabase): Promise<unknown> {
  const p = server === 'postgres' ? (n: number) => `$${n}` : () => '?';
  const schema = server === 'postgres' ? 'public' : db.name;
  const columns = await db.query(
    `SELECT table_name AS t, column_name AS c, ordinal_position AS n, data_type AS type, character_maximum_length AS len, is_nullable AS nullable, column_default AS dflt
     FROM information_schema.columns WHERE table_schema = ${p(1)} AND table_name IN ('celery_taskmeta', 'celery_tasksetmeta') ORDER BY table_name, ordinal_position`,
    [schema],
  );
  const indexes =
    server === 'postgres'
      ? await db.query(`SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname`)
      : await db.query(`SELECT table_name AS t, index_name AS name, column_name AS c, non_unique AS nu FROM information_schema.statistics WHERE table_schema = ? ORDER BY table_name, index_name`, [schema]);
  const sequences =
    server === 'postgres'
      ? await db.query(`SELECT sequence_name AS name FROM information_schema.sequences ORDER BY sequence_name`)
      : await db.query(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'SEQUENCE' ORDER BY table_name`, [schema]);
  return { columns, indexes, sequences };
}

/** Both workers for a server, started once: the chord test shares PostgreSQL's. */
const setups = new Map<SqlServer, ReturnType<typeof startSetup>>();
function setup(server: SqlServer): ReturnType<typeof startSetup> {
  if (!setups.has(server)) setups.set(server, startSetup(server));
  return setups.get(server)!;
}

async function startSetup(server: SqlServer) {
  const [pyDb, tsDb] = await Promise.all([createTestDatabase(server, 'sqla_py'), createTestDatabase(server, 'sqla_ts')]);
  databases.push(pyDb, tsDb);
  const pyQueue = `q-${token}-${server}-py`;
  const tsQueue = `q-${token}-${server}-ts`;
  const pyEnv = { BROKER_URL: brokerUrl, KEYPREFIX: prefix, DEFAULT_QUEUE: pyQueue, RESULT_BACKEND: backendUrl(server, pyDb) };
  const tsEnv = { BROKER_URL: brokerUrl, KEYPREFIX: prefix, DEFAULT_QUEUE: tsQueue, RESULT_BACKEND: backendUrl(server, tsDb) };
  // Python's worker creates its tables on its first store; our worker creates ours at start-up.
  const [pyWorker, tsWorker] = await Promise.all([
    startPythonWorker({ app: 'interop_app', queues: [pyQueue], nodeName: `${token}-${server}-py@localhost`, env: pyEnv }),
    startTsWorker({ app: 'test/interop/ts/tasks.ts', queues: [tsQueue], nodeName: `${token}-${server}-ts@localhost`, env: tsEnv }),
  ]);
  closers.push(() => Promise.all([pyWorker.stop(), tsWorker.stop()]));
  return { pyDb, tsDb, pyQueue, tsQueue, pyEnv, tsEnv };
}

// The two servers run side by side (and PostgreSQL's chords beside them, on its workers): most
// of the time is Python and worker start-up.
describe('SQLAlchemy result backend', { concurrency: 3 }, () => {
  for (const server of ['postgres', 'mariadb'] as const) {
    test(`${server}: Python reads what our worker stores, we read what a Python worker stores; both DDLs equal`, async () => {
      const { pyDb, tsDb, pyQueue, tsQueue, pyEnv, tsEnv } = await setup(server);

      // Python sends to our worker and reads SUCCESS / FAILURE from the table our worker created
      // (a JavaScript RangeError is stored as Python's ValueError).
      const fromPython = await runPython(
        `import json
from interop_app import app
${sendAddAndFailure(tsQueue)}print(json.dumps({'value': value, 'state': ok.state, 'done': ok.date_done is not None, 'raised': raised, 'bad': bad.state, 'tb': 'out of range' in (bad.traceback or '')}))`,
        { ...pyEnv, RESULT_BACKEND: tsEnv.RESULT_BACKEND },
      );
      assert.deepEqual(fromPython.json, { value: 5, state: 'SUCCESS', done: true, raised: ['ValueError', 'out of range'], bad: 'FAILURE', tb: true });

      // Our AsyncResult reads a Python worker's results from the table Python created.
      const app = new Celery({ broker_url: brokerUrl, broker_transport_options: { global_keyprefix: prefix }, result_backend: pyEnv.RESULT_BACKEND });
      closers.push(() => app.close());
      const sum = await app.sendTask('interop.add', [20, 22], {}, { queue: pyQueue });
      assert.equal(await sum.get({ timeout: 20 }), 42);
      const failed = await app.sendTask('interop.fail', ['nope'], {}, { queue: pyQueue });
      await assert.rejects(failed.get({ timeout: 20 }), (e: unknown) => e instanceof TaskError && e.excType === 'ValueError' && e.message === 'ValueError: nope' && /ValueError: nope/.test(e.remoteTraceback ?? ''));
      const meta = await app.backend!.getMeta(sum.id);
      assert.match(meta.date_done ?? '', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$/);
      assert.ok(Math.abs(Date.parse(meta.date_done!) - Date.now()) < 60_000, `date_done ${meta.date_done} is UTC`);

      // The two databases' tables: created by Python's SQLAlchemy and by us, the same.
      const theirLayout = (await layout(server, pyDb)) as { columns: unknown[]; indexes: unknown[]; sequences: unknown[] };
      assert.equal(theirLayout.columns.length, 14 + 4);
      assert.equal(theirLayout.sequences.length, 2);
      assert.deepEqual(await layout(server, tsDb), theirLayout);

      // Saved groups both ways, and result_extended columns we write read by Python.
      const ours = createBackend(tsEnv.RESULT_BACKEND) as ResultBackend;
      const theirs = createBackend(pyEnv.RESULT_BACKEND) as ResultBackend;
      closers.push(() => ours.close(), () => theirs.close());
      const pickled = randomUUID();
      const { groupId, a, b } = await saveOurGroup(ours, tsQueue);
      const pyGroup = await runPython(
        `import json
from interop_app import app, make_app
app.conf.result_extended = True
g = app.GroupResult.restore(${JSON.stringify(groupId)})
r = app.AsyncResult(${JSON.stringify(a)})
py = make_app('py', result_backend=${JSON.stringify(pyEnv.RESULT_BACKEND)})
py.GroupResult('py-${token}', [py.AsyncResult(${JSON.stringify(a)})]).save()
make_app('pk', result_backend=${JSON.stringify(pyEnv.RESULT_BACKEND)}, result_serializer='pickle').backend.store_result(${JSON.stringify(pickled)}, 5, 'SUCCESS')
print(json.dumps({'ids': [x.id for x in g.results], 'states': [x.state for x in g.results], 'name': r.name, 'args': r.args, 'kwargs': r.kwargs, 'result': r.result}))`,
        { ...pyEnv, RESULT_BACKEND: tsEnv.RESULT_BACKEND },
      );
      assert.deepEqual(pyGroup.json, { ids: [a, b], states: ['SUCCESS', 'PENDING'], name: 'ts.echo', args: [1, 'x'], kwargs: { k: true }, result: { n: 1 } });
      assert.deepEqual(await theirs.restoreGroup(`py-${token}`), [[`py-${token}`, null], [[[a, null], null]]]);
      await theirs.deleteGroup(`py-${token}`);
      assert.equal(await theirs.restoreGroup(`py-${token}`), null);

      // A stored SUCCESS is kept; the row Python wrote with result_serializer 'pickle' is refused, not unpickled.
      assert.equal(await ours.storeResult(buildTaskMeta({ taskId: a, status: 'FAILURE', result: null, dateDone: new Date() })), false);
      await assert.rejects(theirs.getMeta(pickled), (e: unknown) => e instanceof DecodeError && /holds a pickle/.test((e as Error).message));

      // Concurrent stores of new rows, two states racing per task (no deadlock, no duplicate-key
      // error); whichever order they land in, SUCCESS is what stays.
      const racing = Array.from({ length: 12 }, () => randomUUID());
      await Promise.all(
        racing.flatMap((id) => [
          ours.storeResult(buildTaskMeta({ taskId: id, status: 'STARTED', result: null })),
          ours.storeResult(buildTaskMeta({ taskId: id, status: 'SUCCESS', result: id, dateDone: new Date() })),
        ]),
      );
      for (const id of racing) assert.deepEqual([(await ours.getMeta(id)).status, (await ours.getMeta(id)).result], ['SUCCESS', id]);

      // cleanup (what celery.backend_cleanup runs): the task and group rows older than
      // result_expires (1 day) go, the rest stay.
      const [p1, p2] = server === 'postgres' ? ['$1', '$2'] : ['?', '?'];
      const twoDays = server === 'postgres' ? "INTERVAL '2 days'" : 'INTERVAL 2 DAY';
      await tsDb.query(`UPDATE celery_taskmeta SET date_done = date_done - ${twoDays} WHERE task_id IN (${p1}, ${p2})`, [a, racing[0]]);
      await tsDb.query(`UPDATE celery_tasksetmeta SET date_done = date_done - ${twoDays} WHERE taskset_id = ${p1}`, [groupId]);
      await ours.cleanup!();
      assert.deepEqual([(await ours.getMeta(a)).status, (await ours.getMeta(racing[0]!)).status, (await ours.getMeta(racing[1]!)).status], ['PENDING', 'PENDING', 'SUCCESS']);
      assert.equal(await ours.restoreGroup(groupId), null);
    });
  }


  test('postgres: chords through celery.chord_unlock — a Python producer\'s on our worker, ours on a Python worker, a failed header as ChordError', async () => {
    const { pyQueue, tsQueue, pyEnv, tsEnv } = await setup('postgres');

    // Python sends two chords to our worker's queue (only our worker consumes it): the header
    // tasks, Celery's chord_unlock and the body all run on our worker. A header task lasting
    // 1.5 s makes the unlock poll again; the failing chord's body errback gets the body's id.
    const fromPython = await runPython(
      `import json, uuid
from celery import chord
from interop_app import app
s = app.signature
ok = chord([s('ts.add', (1, 2)), s('ts.progress_steps', (2, 0.75)), s('ts.add', (3, 4))], s('ts.echo', ('total',)))()
eb = str(uuid.uuid4())
bad = chord([s('ts.add', (1, 1)), s('ts.fail_range', ('broken header',))], s('ts.echo', link_error=s('ts.echo', ('errback',), task_id=eb)))()
value = ok.get(timeout=30)
try:
    # By id (bad.get() would re-raise the failed header task first: AsyncResult._maybe_reraise_parent_error).
    app.AsyncResult(bad.id).get(timeout=30)
    raised = None
except Exception as e:
    raised = [type(e).__module__, type(e).__name__, str(e)]
print(json.dumps({'value': value, 'raised': raised, 'state': bad.state, 'culprit': bad.parent.results[1].id, 'body': bad.id, 'errback': app.AsyncResult(eb).get(timeout=20)}))`,
      { ...pyEnv, DEFAULT_QUEUE: tsQueue, RESULT_BACKEND: tsEnv.RESULT_BACKEND },
    );
    const py = fromPython.json as { culprit: string; body: string };
    assert.deepEqual(fromPython.json, {
      value: { args: [[3, 2, 7], 'total'], kwargs: {} },
      raised: ['celery.exceptions', 'ChordError', `Dependency ${py.culprit} raised ValueError('broken header')`],
      state: 'FAILURE',
      culprit: py.culprit,
      body: py.body,
      errback: { args: [py.body, 'errback'], kwargs: {} },
    });

    // Our chord, header and body on Python's worker: Python's chord_unlock joins it from the
    // tuples we send.
    const app = new Celery({ broker_url: brokerUrl, broker_transport_options: { global_keyprefix: prefix }, result_backend: pyEnv.RESULT_BACKEND, task_default_queue: pyQueue });
    closers.push(() => app.close());
    const ours = await app.applyAsync(chord([signature('interop.add', [1, 2]), signature('interop.add', [3, 4])], signature('interop.echo', ['total'])));
    assert.deepEqual(await ours.get({ timeout: 30 }), { args: [[3, 7], 'total'], kwargs: {} });
  });
});

/** Tables (with sqlite_sequence, made by AUTOINCREMENT), columns and indexes of a SQLite file. */
function sqliteLayout(path: string): unknown {
  const db = new Sqlite(path, { readonly: true });
  try {
    return {
      tables: db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all(),
      columns: db.prepare(`SELECT m.name AS t, c.cid, c.name, c.type, c."notnull", c.dflt_value, c.pk FROM sqlite_master m JOIN pragma_table_info(m.name) c WHERE m.type = 'table' ORDER BY m.name, c.cid`).all(),
      indexes: db.prepare(`SELECT m.name AS t, i.name, i."unique", i.origin FROM sqlite_master m JOIN pragma_index_list(m.name) i WHERE m.type = 'table' ORDER BY m.name, i.name`).all(),
      autoincrement: db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%AUTOINCREMENT%' ORDER BY name`).all(),
    };
  } finally {
    db.close();
  }
}

test('sqlite: Python reads what our worker stores, we read what a Python worker stores; both DDLs equal; a locked file is waited for', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ts-celery-sqla-'));
  closers.push(async () => rmSync(dir, { recursive: true, force: true }));
  // Four slashes: an absolute path, for Python's SQLAlchemy and for us.
  const [pyFile, tsFile] = [join(dir, 'py.db'), join(dir, 'ts.db')];
  const pyQueue = `q-${token}-sqlite-py`;
  const tsQueue = `q-${token}-sqlite-ts`;
  const pyEnv = { BROKER_URL: brokerUrl, KEYPREFIX: prefix, DEFAULT_QUEUE: pyQueue, RESULT_BACKEND: `db+sqlite:///${pyFile}` };
  const tsEnv = { BROKER_URL: brokerUrl, KEYPREFIX: prefix, DEFAULT_QUEUE: tsQueue, RESULT_BACKEND: `db+sqlite:///${tsFile}` };
  const [pyWorker, tsWorker] = await Promise.all([
    startPythonWorker({ app: 'interop_app', queues: [pyQueue], nodeName: `${token}-sqlite-py@localhost`, env: pyEnv }),
    startTsWorker({ app: 'test/interop/ts/tasks.ts', queues: [tsQueue], nodeName: `${token}-sqlite-ts@localhost`, env: tsEnv }),
  ]);
  closers.push(() => Promise.all([pyWorker.stop(), tsWorker.stop()]));

  // Our worker created ts.db's tables at start-up; a saved group and an extended row of ours in it.
  const ours = createBackend(tsEnv.RESULT_BACKEND) as ResultBackend;
  closers.push(() => ours.close());
  const { groupId, a, b } = await saveOurGroup(ours, tsQueue);

  // One Python run: our worker's SUCCESS / FAILURE and our group read from ts.db; then, with py.db
  // (whose tables Python makes: nothing of ours has opened it), a Python worker's result and a
  // group saved by Python.
  const fromPython = await runPython(
    `import json
from interop_app import app, make_app
app.conf.result_extended = True
${sendAddAndFailure(tsQueue)}g = app.GroupResult.restore(${JSON.stringify(groupId)})
r = app.AsyncResult(${JSON.stringify(a)})
py = make_app('py', result_backend=${JSON.stringify(pyEnv.RESULT_BACKEND)})
s = py.send_task('interop.add', (20, 22), queue=${JSON.stringify(pyQueue)})
s.get(timeout=20)
py.GroupResult('py-${token}', [s]).save()
print(json.dumps({'value': value, 'state': ok.state, 'done': ok.date_done is not None, 'raised': raised, 'bad': bad.state, 'tb': 'out of range' in (bad.traceback or ''),
  'ids': [x.id for x in g.results], 'states': [x.state for x in g.results], 'name': r.name, 'args': r.args, 'kwargs': r.kwargs, 'result': r.result, 'sum': s.id}))`,
    { ...pyEnv, RESULT_BACKEND: tsEnv.RESULT_BACKEND },
  );
  const py = fromPython.json as { sum: string };
  assert.deepEqual(py, {
    value: 5, state: 'SUCCESS', done: true, raised: ['ValueError', 'out of range'], bad: 'FAILURE', tb: true,
    ids: [a, b], states: ['SUCCESS', 'PENDING'], name: 'ts.echo', args: [1, 'x'], kwargs: { k: true }, result: { n: 1 }, sum: py.sum,
  });

  // The tables Python's SQLAlchemy made and ours: the same.
  const theirLayout = sqliteLayout(pyFile) as { columns: unknown[]; autoincrement: unknown[] };
  assert.equal(theirLayout.columns.length, 14 + 4 + 2);
  assert.equal(theirLayout.autoincrement.length, 2);
  assert.deepEqual(sqliteLayout(tsFile), theirLayout);

  // Our AsyncResult reads the Python worker's rows and Python's saved group from py.db.
  const app = new Celery({ broker_url: brokerUrl, broker_transport_options: { global_keyprefix: prefix }, result_backend: pyEnv.RESULT_BACKEND });
  closers.push(() => app.close());
  assert.equal(await app.AsyncResult(py.sum).get({ timeout: 20 }), 42);
  const meta = await app.backend!.getMeta(py.sum);
  assert.match(meta.date_done ?? '', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/);
  assert.ok(Math.abs(Date.parse(meta.date_done!) - Date.now()) < 60_000, `date_done ${meta.date_done} is UTC`);
  const failed = await app.sendTask('interop.fail', ['nope'], {}, { queue: pyQueue });
  await assert.rejects(failed.get({ timeout: 20 }), (e: unknown) => e instanceof TaskError && e.excType === 'ValueError' && e.message === 'ValueError: nope');
  assert.deepEqual(await app.backend!.restoreGroup(`py-${token}`), [[`py-${token}`, null], [[[py.sum, null], null]]]);

  // Another connection holds the write lock (as a Python worker mid-commit does): our store waits
  // on a timer — this process keeps running, and releases the lock — and then succeeds.
  const holder = new Sqlite(tsFile);
  closers.push(async () => holder.close());
  holder.exec('BEGIN EXCLUSIVE');
  const started = Date.now();
  setTimeout(() => holder.exec('COMMIT'), 800);
  const locked = randomUUID();
  assert.equal(await ours.storeResult(buildTaskMeta({ taskId: locked, status: 'SUCCESS', result: 7, dateDone: new Date() })), true);
  assert.ok(Date.now() - started >= 750, `the store waited for the lock (${Date.now() - started} ms)`);
  assert.equal((await ours.getMeta(locked)).result, 7);

  // celery.backend_cleanup as Python's beat sends it every day at 04:00 (celery/beat.py
  // `install_default_entries`), run by our worker: ts.db's rows older than result_expires (1 day)
  // — a task row and a saved group — are deleted, the rest kept.
  const aging = new Sqlite(tsFile);
  closers.push(async () => aging.close());
  aging.prepare(`UPDATE celery_taskmeta SET date_done = '2000-01-01 00:00:00.000000' WHERE task_id = ?`).run(a);
  aging.prepare(`UPDATE celery_tasksetmeta SET date_done = '2000-01-01 00:00:00.000000' WHERE taskset_id = ?`).run(groupId);
  const cleaned = await runPython(
    `import json
from interop_app import app
r = app.send_task('celery.backend_cleanup', queue=${JSON.stringify(tsQueue)}, expires=12 * 3600)
print(json.dumps([r.get(timeout=20), r.state]))`,
    { ...pyEnv, RESULT_BACKEND: tsEnv.RESULT_BACKEND },
  );
  assert.deepEqual(cleaned.json, [null, 'SUCCESS']);
  assert.equal((await ours.getMeta(a)).status, 'PENDING');
  assert.equal(await ours.restoreGroup(groupId), null);
  assert.equal((await ours.getMeta(locked)).result, 7);
});
