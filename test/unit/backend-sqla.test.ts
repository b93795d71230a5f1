// Celery's SQLAlchemy result backend, the pure parts: the DDL against what SQLAlchemy 2.0 emits
// for Celery 5.7's models (test/fixtures/sqla/, captured by capture_ddl.py), the column codec
// (JSON bytes; pickles and compressed values refused, never unpickled), SQLite URLs and configuration.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { createBackend } from '../../src/backend/index.js';
import { decodeGroupTuple, decodeValue, encodeValue, rowToMeta, type TaskRow, taskColumns } from '../../src/backend/sqla/sqla-codec.js';
import { loadDriver } from '../../src/backend/sql/load-driver.js';
import { sqliteFile } from '../../src/backend/sql/sqlite-client.js';
import { addMissingColumns, createStatements, nextIdExpression, type SqlaServer, sqlaTables, TASK_COLUMNS } from '../../src/backend/sqla/sqla-schema.js';
import { loadConfig } from '../../src/config.js';
import { ConfigError, DecodeError } from '../../src/errors.js';
import { buildTaskMeta } from '../../src/protocol/result-meta.js';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/sqla');

/** A CREATE TABLE's name and its lines inside the parentheses. */
function tableBodies(sql: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of sql.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?"?`?(\w+)"?`? \(\n([\s\S]*?)\n\)/g)) {
    out.set(m[1]!, m[2]!.split('\n').map((l) => l.trim().replace(/,$/, '')));
  }
  return out;
}

for (const [server, fixture] of [
  ['postgres', 'postgresql'],
  ['mariadb', 'mariadb'],
  ['mysql', 'mysql'],
  ['sqlite', 'sqlite'],
] as [SqlaServer, string][]) {
  test(`${fixture}: our CREATE statements match what SQLAlchemy emits for Celery 5.7`, () => {
    const captured = readFileSync(resolve(FIXTURES, `create-all-${fixture}.sql`), 'utf8');
    const ours = createStatements(server, sqlaTables());
    const expected = tableBodies(captured);
    const actual = tableBodies(ours.join(';\n'));
    for (const [table, lines] of expected) {
      // MySQL has no CREATE INDEX IF NOT EXISTS: our index is declared inside the table.
      const index = `INDEX \`ix_${table}_date_done\` (date_done)`;
      assert.deepEqual(actual.get(table)?.filter((l) => l !== index), lines, table);
      if (server === 'mariadb' || server === 'mysql') assert.ok(actual.get(table)?.includes(index));
    }
    assert.deepEqual([...actual.keys()], [...expected.keys()]);
    const sequences = (text: string) => [...text.matchAll(/CREATE SEQUENCE (?:IF NOT EXISTS )?"?`?(\w+)/g)].map((m) => m[1]);
    assert.deepEqual(sequences(ours.join('\n')), sequences(captured));
    if (server === 'postgres' || server === 'sqlite') {
      const indexes = (text: string) => [...text.matchAll(/CREATE INDEX (?:IF NOT EXISTS )?"?(\w+)"? ON "?(\w+)"? \(date_done\)/g)].map((m) => `${m[1]}:${m[2]}`);
      assert.deepEqual(indexes(ours.join('\n')), indexes(captured));
    }
  });
}

test('database_table_names / database_table_schemas rename and qualify tables; sequences follow the schema', () => {
  const tables = sqlaTables({ tableNames: { task: 'Results', group: 'groups' }, tableSchemas: { task: 'celery' } });
  const pg = createStatements('postgres', tables);
  assert.ok(pg.includes('CREATE SEQUENCE IF NOT EXISTS "celery"."task_id_sequence"'));
  assert.ok(pg.some((s) => s.startsWith('CREATE TABLE IF NOT EXISTS "celery"."Results" (')));
  assert.ok(pg.includes('CREATE INDEX IF NOT EXISTS "ix_Results_date_done" ON "celery"."Results" (date_done)'));
  assert.ok(pg.some((s) => s.startsWith('CREATE TABLE IF NOT EXISTS "groups" (')));
  assert.equal(nextIdExpression('postgres', tables.task), `nextval('"celery"."task_id_sequence"')`);
  assert.equal(nextIdExpression('mariadb', tables.group), 'NEXT VALUE FOR `taskset_id_sequence`');
  assert.equal(nextIdExpression('mysql', tables.task), null);
  assert.equal(nextIdExpression('sqlite', tables.task), null);
  // SQLite: a schema is an attached database, named on the index rather than on its table.
  const lite = createStatements('sqlite', tables);
  assert.ok(lite.some((s) => s.startsWith('CREATE TABLE IF NOT EXISTS "celery"."Results" (\n\tid INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,')));
  assert.ok(lite.includes('CREATE INDEX IF NOT EXISTS "celery"."ix_Results_date_done" ON "Results" (date_done)'));
  assert.throws(() => sqlaTables({ tableNames: { task: 'x; DROP TABLE y' } }), (e: Error) => e instanceof ConfigError && /database_table_names\.task must be a plain SQL name/.test(e.message));
});

test('a table made by an older Celery gets the columns it lacks (session.py _migrate_missing_columns)', () => {
  // Celery 5.3's celery_taskmeta: no children, no stamps.
  const celery53 = new Set(['id', 'task_id', 'status', 'result', 'date_done', 'traceback', 'name', 'args', 'kwargs', 'worker', 'retries', 'queue']);
  const { task } = sqlaTables();
  assert.deepEqual(addMissingColumns('postgres', task, TASK_COLUMNS, celery53), ['ALTER TABLE "celery_taskmeta" ADD COLUMN children BYTEA', 'ALTER TABLE "celery_taskmeta" ADD COLUMN stamps BYTEA']);
  assert.deepEqual(addMissingColumns('mariadb', task, TASK_COLUMNS, celery53), ['ALTER TABLE `celery_taskmeta` ADD COLUMN children BLOB', 'ALTER TABLE `celery_taskmeta` ADD COLUMN stamps BLOB']);
  assert.deepEqual(addMissingColumns('sqlite', task, TASK_COLUMNS, celery53), ['ALTER TABLE "celery_taskmeta" ADD COLUMN children BLOB', 'ALTER TABLE "celery_taskmeta" ADD COLUMN stamps BLOB']);
  assert.deepEqual(addMissingColumns('mysql', task, TASK_COLUMNS, new Set(['id', ...TASK_COLUMNS.map((c) => c.name)])), []);
});

test('values are the json serializer bytes; pickles and compressed values are refused, never unpickled', () => {
  assert.equal(encodeValue({ a: [1, 'x'] }).toString(), '{"a":[1,"x"]}');
  assert.deepEqual(decodeValue(Buffer.from('[1,2]'), 't.result'), [1, 2]);
  assert.equal(decodeValue(null, 't.result'), null);
  // pickle.dumps(5, protocol=4): what Celery <= 5.6's PickleType column holds.
  const pickle = Buffer.from('gASVBgAAAAAAAABLBS4=', 'base64');
  assert.throws(() => decodeValue(pickle, 'celery_taskmeta(task_id=x).result'), (e: Error) => e instanceof DecodeError && /holds a pickle .*never unpickles/.test(e.message) && !e.message.includes('\n'));
  assert.throws(() => decodeValue(Buffer.concat([Buffer.from('\x00celery-compressed\x00application/x-gzip\x00', 'latin1'), Buffer.from([1, 2])]), 't.result'), /compressed \(result_compression\)/);
  assert.throws(() => decodeValue(Buffer.from('\xa1\x02', 'latin1'), 't.result'), /is not JSON \(ts-celery reads result_serializer 'json'\)/);
  assert.throws(() => decodeGroupTuple(Buffer.from('{"result": 1}'), 'g.result'), /not a result tuple/);
});

test('a stored meta as columns (as _update_result sets them) and a row read back', () => {
  const plain = taskColumns(buildTaskMeta({ taskId: 't', status: 'SUCCESS', result: 5, dateDone: new Date('2026-01-02T03:04:05.678Z') }));
  assert.equal((plain.result as Buffer).toString(), '5');
  // SQLAlchemy's text form on SQLite (microseconds), which the others' DATETIME columns take too.
  assert.equal(plain.date_done, '2026-01-02 03:04:05.678000');
  assert.deepEqual([plain.children, plain.name, plain.args, plain.kwargs, plain.worker, plain.retries, plain.queue], [null, null, null, null, null, null, null]);
  assert.equal(plain.stamps, undefined, 'stamps are left as they are');
  const extended = { name: 'ts.add', args: [2, 3], kwargs: { k: 1 }, worker: 'w@h', retries: 1, queue: 'q' };
  const started = taskColumns(buildTaskMeta({ taskId: 't', status: 'STARTED', result: { pid: 7 }, children: [[['c', null], null]], extended }));
  assert.equal(started.date_done, null);
  assert.equal((started.args as Buffer).toString(), '[2,3]');
  assert.equal((started.kwargs as Buffer).toString(), '{"k":1}');
  assert.equal((started.children as Buffer).toString(), '[[["c",null],null]]');

  const row: TaskRow = {
    task_id: 't',
    status: 'SUCCESS',
    result: Buffer.from('42'),
    date_done: '2026-01-02 03:04:05.678901',
    traceback: null,
    children: null,
    name: 'py.add',
    args: Buffer.from('[40,2]'),
    kwargs: Buffer.from('{}'),
    worker: 'celery@h',
    retries: 0,
    queue: 'celery',
    stamps: Buffer.from('{"stamped_headers":["s"],"stamps":{"s":"v"}}'),
  };
  assert.deepEqual(rowToMeta(row, 'celery_taskmeta'), {
    status: 'SUCCESS', result: 42, traceback: null, children: null, date_done: '2026-01-02T03:04:05.678000+00:00', task_id: 't',
    name: 'py.add', args: [40, 2], kwargs: {}, worker: 'celery@h', retries: 0, queue: 'celery', stamped_headers: ['s'], s: 'v',
  });
});

test('SQLite URLs as SQLAlchemy reads them: three slashes relative, four absolute; in-memory refused', async () => {
  assert.deepEqual(sqliteFile('sqlite:///results.db'), { path: 'results.db', busyTimeoutMs: 5000 });
  assert.deepEqual(sqliteFile('sqlite+pysqlite:////var/lib/celery/results.db?timeout=30'), { path: '/var/lib/celery/results.db', busyTimeoutMs: 30_000 });
  assert.deepEqual(sqliteFile('sqlite:///dir%20x/r.db'), { path: 'dir x/r.db', busyTimeoutMs: 5000 });
  const oneLine = (pattern: RegExp) => (e: Error) => e instanceof ConfigError && pattern.test(e.message) && !e.message.includes('\n');
  for (const memory of ['sqlite://', 'sqlite:///', 'sqlite:///:memory:']) assert.throws(() => sqliteFile(memory), oneLine(/in-memory SQLite database, which other processes cannot see/));
  assert.throws(() => sqliteFile('sqlite://host/r.db'), oneLine(/SQLite URLs have no host/));
  assert.throws(() => sqliteFile('sqlite:///r.db?mode=ro'), oneLine(/query parameter 'mode' is not supported for SQLite/));
  assert.throws(() => sqliteFile('sqlite:///r.db?timeout=soon'), oneLine(/timeout must be a number of seconds/));
  // Creating the backend opens nothing (no file appears until first use); in-memory is refused at once.
  assert.equal(createBackend('db+sqlite:///never-created.db')?.constructor.name, 'SqlaBackend');
  assert.equal(existsSync('never-created.db'), false);
  assert.throws(() => createBackend('db+sqlite://'), oneLine(/in-memory SQLite/));
  // A missing driver is named with its install command (better-sqlite3 is an optional peer).
  await assert.rejects(loadDriver('better-sqlite3-not-installed', 'sqlite'), oneLine(/^a SQLite database URL needs the 'better-sqlite3-not-installed' package: npm install better-sqlite3-not-installed$/));
  // SQLite serves the db+ backend only: django-db keeps to PostgreSQL / MySQL.
  assert.throws(() => createBackend('django-db', { databaseUrl: 'sqlite:///db.sqlite3' }), /expected postgresql:\/\/, postgres:\/\/ or mysql:\/\//);
});

test('configuration: db+ URLs, the db / database aliases, table settings validated', () => {
  assert.throws(() => createBackend('database'), /result_backend 'database' needs the database: set database_url/);
  assert.throws(() => createBackend('db+oracle://u@h/x'), /expected postgresql:\/\/, postgres:\/\/ or mysql:\/\//);
  assert.equal(createBackend('db+postgresql+psycopg2://u@127.0.0.1/x')?.constructor.name, 'SqlaBackend');
  assert.equal(createBackend('db', { databaseUrl: 'mysql://u@127.0.0.1/x' })?.constructor.name, 'SqlaBackend');
  const conf = loadConfig({ database_table_names: { task: 'my_tasks' }, database_table_schemas: { group: 'celery' } }, {});
  assert.deepEqual([conf.database_table_names, conf.database_table_schemas], [{ task: 'my_tasks' }, { group: 'celery' }]);
  assert.throws(() => loadConfig({ database_table_names: { tasks: 'x' } }, {}), ConfigError);
});
