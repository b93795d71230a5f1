// The result backend's pure parts, without a server: key names and the global_keyprefix rule,
// reading stored metas (Python's and broken ones), and which URL picks which backend.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBackend, MemoryBackend, RedisBackend } from '../../src/backend/index.js';
import { decodeGroup, decodeMeta } from '../../src/backend/meta-codec.js';
import { ResultKeys } from '../../src/backend/redis/keys.js';
import { ConfigError, DecodeError, ProtocolError } from '../../src/errors.js';
import { loadFixture } from '../helpers/fixtures.js';

test('key names, and global_keyprefix gets "_" unless it ends in : _ - . (base.py)', () => {
  const plain = new ResultKeys();
  assert.equal(plain.task('abc'), 'celery-task-meta-abc');
  assert.equal(plain.group('g'), 'celery-taskset-meta-g');
  assert.equal(plain.chordJoin('g'), 'celery-taskset-meta-g.j');
  assert.equal(plain.chordSize('g'), 'celery-taskset-meta-g.s');
  assert.equal(plain.chordAdjust('g'), 'celery-taskset-meta-g.t');
  assert.equal(plain.chordUnlock('g'), 'chord-unlock-g');
  const applied = (p: string) => new ResultKeys(p).task('x');
  assert.equal(applied('app'), 'app_celery-task-meta-x');
  for (const p of ['app:', 'app_', 'app-', 'app.']) assert.equal(applied(p), `${p}celery-task-meta-x`);
  assert.equal(new ResultKeys('app').chordJoin('g'), 'app_celery-taskset-meta-g.j');
  assert.equal(new ResultKeys('app').chordUnlock('g'), 'app_chord-unlock-g');
  assert.throws(() => plain.task(''), ProtocolError);
});

test('every meta Python 5.2 stored decodes to the same document', () => {
  const raws = [
    loadFixture('celery-5.2', 'result-success').data.result,
    loadFixture('celery-5.2', 'result-failure').data.result,
    loadFixture('celery-5.2', 'result-retry').data.result,
    ...Object.values(loadFixture('celery-5.2', 'result-group-members').data.members),
  ] as { raw: string; value: { task_id: string } }[];
  for (const { raw, value } of raws) assert.deepEqual(decodeMeta(raw, 'k', value.task_id), value);
  const saved = loadFixture('celery-5.2', 'result-group-members').data.taskset_meta;
  const [k, entry] = Object.entries(saved as Record<string, { value: string }>)[0]!;
  assert.deepEqual(decodeGroup(entry.value, k), JSON.parse(entry.value).result);
});

test('absent or empty is PENDING; missing fields get defaults; junk names the key', () => {
  assert.equal(decodeMeta(null, 'k', 'id').status, 'PENDING');
  assert.equal(decodeMeta('', 'k', 'id').status, 'PENDING');
  assert.deepEqual(decodeMeta('{"status": "SUCCESS", "result": 1}', 'k', 'id'), {
    status: 'SUCCESS', result: 1, traceback: null, children: [], date_done: null, task_id: 'id',
  });
  // What is stored wins, null included; fields Celery adds (extended results) pass through.
  assert.deepEqual(decodeMeta('{"status": "FAILURE", "children": null, "task_id": "other", "name": "t.add"}', 'k', 'id'), {
    status: 'FAILURE', result: null, traceback: null, children: null, date_done: null, task_id: 'other', name: 't.add',
  });
  for (const junk of ['{oops', '[1, 2]', '"SUCCESS"', '{"result": 1}']) {
    assert.throws(() => decodeMeta(junk, 'celery-task-meta-id', 'id'), (e: unknown) => e instanceof DecodeError && e.message.includes('celery-task-meta-id'));
  }
  assert.equal(decodeGroup(null, 'k'), null);
  assert.throws(() => decodeGroup('{"other": 1}', 'celery-taskset-meta-g'), /celery-taskset-meta-g/);
});

test('createBackend: the scheme picks the implementation; others are refused by name', async () => {
  for (const off of [undefined, null, '', 'disabled']) assert.equal(createBackend(off), null);
  const memory = createBackend('memory://');
  assert.ok(memory instanceof MemoryBackend);
  await memory.close();
  // RedisBackend connects lazily: building one needs no server.
  for (const url of ['redis://localhost:6379/1', 'rediss://:pw@cache:6380/0', 'redis+socket:///run/redis.sock', 'unix:///run/redis.sock?db=2']) {
    const backend = createBackend(url, { resultExpires: null });
    assert.ok(backend instanceof RedisBackend, url);
    assert.equal(backend.ttlSeconds, 0);
    await backend.close();
  }
  for (const [url, scheme] of [['mongodb://u:secret@h', 'mongodb'], ['cache+memcached://h/', 'cache+memcached']]) {
    assert.throws(
      () => createBackend(url),
      (e: unknown) => e instanceof ConfigError && e.message.includes(`result backend '${scheme}' is not supported (use redis://, rediss://, sentinel://, redis+socket://, rpc://, django-db or db+postgresql:// / db+mysql://)`) && !e.message.includes('secret'),
    );
  }
});
