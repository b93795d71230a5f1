// RedisBackend wire facts against a real Redis (db 13, unique prefixes/ids): key names, TTLs, the
// PUBLISH, global_keyprefix, values written by Python Celery 5.2, and surviving a pub/sub drop.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { createBackend, MemoryBackend } from '../../src/backend/index.js';
import { RedisBackend, type RedisBackendOptions } from '../../src/backend/redis/redis-backend.js';
import { ConfigError, DecodeError } from '../../src/errors.js';
import { jsonEncode } from '../../src/protocol/codecs/json.js';
import { parseIsoTime } from '../../src/protocol/iso-time.js';
import { buildTaskMeta, resultTuple, type ResultTuple, type TaskMeta } from '../../src/protocol/result-meta.js';
import { loadFixture } from '../helpers/fixtures.js';
import { claimRedis } from '../helpers/redis.js';

const redisClaim = claimRedis('backend-redis');
const { url: URL, token } = redisClaim;
const admin = new Redis(URL);
const backends: RedisBackend[] = [];
const written = new Set<string>();

/** A backend closed at the end of the file; every key it may write is cleaned up. */
function backend(options: RedisBackendOptions = {}): RedisBackend {
  const b = new RedisBackend(URL, options);
  backends.push(b);
  return b;
}

after(async () => {
  await Promise.all(backends.map((b) => b.close()));
  if (written.size > 0) await admin.del(...written);
  await admin.quit();
});

function success(taskId: string, result: unknown): TaskMeta {
  return buildTaskMeta({ taskId, status: 'SUCCESS', result, dateDone: new Date() });
}

/** A task id whose key (with `prefix`) is deleted after the file. */
function newId(prefix = ''): string {
  const id = randomUUID();
  written.add(`${prefix}celery-task-meta-${id}`);
  return id;
}

async function until<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const subscribers = async (channel: string) => ((await admin.pubsub('NUMSUB', channel)) as [string, number])[1];

describe('keys, values and TTLs', () => {
  test('the meta is stored as JSON under celery-task-meta-<id> with the default 1-day TTL', async () => {
    const b = backend();
    const id = newId();
    const meta = success(id, { sum: 5 });
    await b.storeResult(meta);
    const raw = await admin.get(`celery-task-meta-${id}`);
    assert.equal(raw, jsonEncode(meta));
    assert.deepEqual(JSON.parse(raw!), meta);
    const pttl = await admin.pttl(`celery-task-meta-${id}`);
    assert.ok(pttl > 86_390_000 && pttl <= 86_400_000, `PTTL ${pttl}`);
  });

  test('after SCRIPT FLUSH (a restarted or failed-over server) stores load their scripts again', async () => {
    const b = backend();
    const first = newId();
    await b.storeResult(success(first, 1));
    // Server-wide: any other test's next script call takes the same EVAL fallback.
    await admin.script('FLUSH');
    const [one, two] = [newId(), newId()];
    // The same turn: one batched script call for both; then a single store on its own.
    await Promise.all([b.storeResult(success(one, 2)), b.storeResult(success(two, 3))]);
    await admin.script('FLUSH');
    const three = newId();
    await b.storeResult(success(three, 4));
    for (const [id, value] of [[one, 2], [two, 3], [three, 4]] as const) {
      assert.equal(JSON.parse((await admin.get(`celery-task-meta-${id}`))!).result, value);
    }
  });

  test('result_expires sets the TTL; 0 and null store without one', async () => {
    const cases: [number | null, number][] = [[120, 120_000], [90.9, 90_000], [0, -1], [null, -1]];
    for (const [resultExpires, expected] of cases) {
      const id = newId();
      await backend({ resultExpires }).storeResult(success(id, 1));
      const pttl = await admin.pttl(`celery-task-meta-${id}`);
      if (expected === -1) assert.equal(pttl, -1, `result_expires=${resultExpires}`);
      else assert.ok(pttl > expected - 5000 && pttl <= expected, `result_expires=${resultExpires}: PTTL ${pttl}`);
    }
    assert.throws(() => new RedisBackend(URL, { resultExpires: -1 }), ConfigError);
  });

  test('every store is PUBLISHed on the channel named like the key, with the stored JSON', async () => {
    const b = backend();
    const id = newId();
    const key = `celery-task-meta-${id}`;
    const sub = new Redis(URL);
    try {
      const received: [string, string][] = [];
      sub.on('message', (channel: string, message: string) => received.push([channel, message]));
      await sub.subscribe(key);
      await b.storeResult(buildTaskMeta({ taskId: id, status: 'PROGRESS', result: { current: 1 } }));
      await b.storeResult(success(id, 2));
      assert.equal(await b.storeResult(success(id, 3)), false);
      await until(async () => received.length >= 2, 'two messages');
      const stored = await admin.get(key);
      assert.deepEqual(received.map(([channel]) => channel), [key, key]);
      assert.equal(received[1]![1], stored);
      assert.equal(JSON.parse(received[0]![1]).status, 'PROGRESS');
      // The skipped write published nothing: a round trip on the subscriber shows no third message.
      await sub.ping();
      assert.equal(received.length, 2);
    } finally {
      sub.disconnect();
    }
  });

  test('a saved group is {"result": tuple} with the TTL, PUBLISHed too', async () => {
    const b = backend({ resultExpires: 600 });
    const gid = randomUUID();
    const key = `celery-taskset-meta-${gid}`;
    written.add(key);
    const tuple: ResultTuple = [[gid, null], [resultTuple(randomUUID())]];
    const sub = new Redis(URL);
    try {
      const got = new Promise<string>((resolve) => sub.on('message', (_c: string, m: string) => resolve(m)));
      await sub.subscribe(key);
      await b.saveGroup(gid, tuple);
      assert.deepEqual(JSON.parse(await got), { result: tuple });
    } finally {
      sub.disconnect();
    }
    assert.deepEqual(JSON.parse((await admin.get(key))!), { result: tuple });
    const pttl = await admin.pttl(key);
    assert.ok(pttl > 595_000 && pttl <= 600_000, `PTTL ${pttl}`);
  });

  test('global_keyprefix: "_" appended unless it ends in : _ - . (keys and channels alike)', async () => {
    const cases = [[token, `${token}_`], [`${token}:`, `${token}:`], [`${token}_`, `${token}_`], [`${token}-`, `${token}-`], [`${token}.`, `${token}.`]];
    for (const [keyPrefix, applied] of cases) {
      const b = backend({ keyPrefix });
      const id = newId(applied);
      const gid = randomUUID();
      written.add(`${applied}celery-taskset-meta-${gid}`);
      const waiting = b.waitFor(id, { timeoutMs: 5000 });
      await until(async () => (await subscribers(`${applied}celery-task-meta-${id}`)) > 0, `a subscriber for prefix ${keyPrefix}`);
      await b.storeResult(success(id, keyPrefix));
      await waiting;
      await b.saveGroup(gid, [[gid, null], []]);
      assert.equal(JSON.parse((await admin.get(`${applied}celery-task-meta-${id}`))!).result, keyPrefix);
      assert.equal(await admin.exists(`${applied}celery-taskset-meta-${gid}`), 1);
      assert.equal(await admin.exists(`celery-task-meta-${id}`), 0);
      assert.equal(b.keys.chordJoin(gid), `${applied}celery-taskset-meta-${gid}.j`);
    }
  });
});

describe('values written by Python Celery 5.2', () => {
  const prefix = `${token}:py:`;
  const fromFixture: { fixture: string; pick: (data: any) => { redis_key: string; raw: string; value: TaskMeta }[] }[] = [
    { fixture: 'result-success', pick: (d) => [d.result] },
    { fixture: 'result-success-extended', pick: (d) => [d.result, d.failure] },
    { fixture: 'result-failure', pick: (d) => [d.result] },
    { fixture: 'result-retry', pick: (d) => [d.result] },
    { fixture: 'result-progress-custom-state', pick: (d) => [d.progress] },
    { fixture: 'result-revoked-and-expired', pick: (d) => [d.revoked, d.expired] },
    { fixture: 'result-unknown-task', pick: (d) => [d.result] },
  ];

  for (const { fixture, pick } of fromFixture) {
    test(`${fixture}: status, result, traceback and date_done read back`, async () => {
      const b = backend({ keyPrefix: prefix });
      for (const entry of pick(loadFixture('celery-5.2', fixture).data)) {
        const key = `${prefix}${entry.redis_key}`;
        written.add(key);
        await admin.set(key, entry.raw);
        const id = entry.value.task_id;
        const meta = await b.getMeta(id);
        assert.deepEqual(meta, entry.value);
        if (meta.traceback) assert.match(meta.traceback, /^Traceback \(most recent call last\):/);
        if (meta.date_done) {
          // 5.2 writes naive UTC: it must read as that instant, not local time.
          assert.doesNotMatch(meta.date_done, /Z|[+-]\d\d:\d\d$/);
          assert.equal(parseIsoTime(meta.date_done).toISOString(), `${meta.date_done.slice(0, 23)}Z`);
          assert.deepEqual(await b.waitFor(id, { timeoutMs: 2000 }), entry.value);
        }
      }
    });
  }

  test('a SUCCESS written by Python is not overwritten; its PROGRESS is', async () => {
    const b = backend({ keyPrefix: prefix });
    const { progress, final } = loadFixture('celery-5.2', 'result-progress-custom-state').data;
    const key = `${prefix}${final.redis_key}`;
    written.add(key);
    await admin.set(key, progress.raw);
    assert.equal(await b.storeResult(buildTaskMeta({ taskId: final.value.task_id, status: 'PROGRESS', result: { current: 6 } })), true);
    await admin.set(key, final.raw);
    assert.equal(await b.storeResult(success(final.value.task_id, 'late duplicate')), false);
    assert.equal(await admin.get(key), final.raw);
  });

  test('a group saved by Python restores to its tuple', async () => {
    const b = backend({ keyPrefix: prefix });
    const data = loadFixture('celery-5.2', 'result-group-save').data;
    const [redisKey, entry] = Object.entries(data.backend_keys as Record<string, { value: string }>)[0]!;
    written.add(`${prefix}${redisKey}`);
    await admin.set(`${prefix}${redisKey}`, entry.value);
    const gid = redisKey.replace('celery-taskset-meta-', '');
    assert.deepEqual(await b.restoreGroup(gid), JSON.parse(entry.value).result);
  });

  test('a stored value that is not JSON is an error naming the key', async () => {
    const b = backend({ keyPrefix: prefix });
    const id = newId(prefix);
    await admin.set(`${prefix}celery-task-meta-${id}`, 'not json {');
    const namesKey = (error: unknown) => error instanceof DecodeError && error.message.includes(`${prefix}celery-task-meta-${id}`);
    await assert.rejects(b.getMeta(id), namesKey);
    await assert.rejects(b.waitFor(id, { timeoutMs: 2000 }), namesKey);
  });
});

describe('waiting', () => {
  test('a PUBLISH alone wakes a wait (pub/sub, not the poll)', async () => {
    const b = backend({ keyPrefix: `${token}:pub:`, fallbackPollMs: 60_000, safetyPollMs: 60_000 });
    const id = randomUUID();
    const channel = `${token}:pub:celery-task-meta-${id}`;
    const waiting = b.waitFor(id, { timeoutMs: 5000 });
    await until(async () => (await subscribers(channel)) > 0, 'the subscription');
    const meta = success(id, 'published only');
    await admin.publish(channel, JSON.stringify(meta));
    assert.deepEqual(await waiting, meta);
    assert.equal(await admin.exists(channel), 0);
    // Resolved waits unsubscribe.
    await until(async () => (await subscribers(channel)) === 0, 'the UNSUBSCRIBE');
  });

  test('one subscriber connection serves all waits; channels are ref-counted', async () => {
    const name = `${token}-refcount`;
    const b = backend({ keyPrefix: `${token}:rc:`, connectionName: name, safetyPollMs: 60_000 });
    const id = randomUUID();
    const channel = `${token}:rc:celery-task-meta-${id}`;
    const first = new AbortController();
    const second = new AbortController();
    const waits = [b.waitFor(id, { signal: first.signal }), b.waitFor(id, { signal: second.signal })];
    const others = Array.from({ length: 200 }, () => b.waitFor(randomUUID(), { signal: second.signal }));
    const settled = Promise.allSettled([...waits, ...others]);
    await until(async () => (await subscribers(channel)) === 1, 'one subscription');
    const clients = (await admin.client('LIST')) as string;
    assert.equal(clients.split('\n').filter((line) => line.includes(` name=${name}:sub `)).length, 1);
    first.abort();
    // A later SUBSCRIBE on the same connection taking effect proves an earlier UNSUBSCRIBE would have.
    const probe = randomUUID();
    const probing = assert.rejects(b.waitFor(probe, { signal: second.signal }));
    await until(async () => (await subscribers(`${token}:rc:celery-task-meta-${probe}`)) === 1, 'the probe subscription');
    assert.equal(await subscribers(channel), 1, 'the other wait still listens');
    second.abort();
    await until(async () => (await subscribers(channel)) === 0, 'the UNSUBSCRIBE');
    assert.ok((await settled).every((r) => r.status === 'rejected'));
    await probing;
  });

  test('the wait survives its subscriber connection being killed', async () => {
    const name = `${token}-kill`;
    const prefix = `${token}:kill:`;
    // The safety poll is out of reach: recovery must come from the fallback poll or the reconnect.
    const b = backend({ keyPrefix: prefix, connectionName: name, safetyPollMs: 60_000 });
    const writer = backend({ keyPrefix: prefix });
    const id = newId(prefix);
    const channel = `${prefix}celery-task-meta-${id}`;
    // The safety poll is a minute away and the wait gives up after 20 s: resolving proves recovery.
    const waiting = b.waitFor(id, { timeoutMs: 20_000 });
    await until(async () => (await subscribers(channel)) > 0, 'the subscription');
    assert.equal(await redisClaim.killClients(admin, `${name}:sub`), 1, 'the subscriber connection is named and killed');
    const t0 = performance.now();
    const meta = success(id, 'after the kill');
    await writer.storeResult(meta);
    assert.deepEqual(await waiting, meta);
    assert.ok(performance.now() - t0 < 20_000, `resolved after ${performance.now() - t0} ms`);
    // And pub/sub is back: a PUBLISH alone wakes the next wait.
    const id2 = randomUUID();
    const channel2 = `${prefix}celery-task-meta-${id2}`;
    const next = b.waitFor(id2, { timeoutMs: 5000 });
    await until(async () => (await subscribers(channel2)) > 0, 'the new subscription');
    await admin.publish(channel2, JSON.stringify(success(id2, 'pubsub again')));
    assert.equal((await next).result, 'pubsub again');
  });
});

describe('createBackend', () => {
  test('picks the implementation from the URL scheme', async () => {
    assert.equal(createBackend(undefined), null);
    assert.equal(createBackend(''), null);
    assert.equal(createBackend('disabled'), null);
    const memory = createBackend('memory://')!;
    assert.ok(memory instanceof MemoryBackend);
    await memory.close();
    const redis = createBackend(URL, { resultExpires: 60, keyPrefix: token })!;
    assert.ok(redis instanceof RedisBackend);
    assert.equal(redis.ttlSeconds, 60);
    assert.equal(redis.keys.task('x'), `${token}_celery-task-meta-x`);
    await redis.close();
    for (const url of ['amqp://guest@localhost//', 'cache+memcached://127.0.0.1:11211/']) {
      const scheme = url.split(':')[0];
      assert.throws(() => createBackend(url), (e: unknown) => e instanceof ConfigError && e.message.includes(`result backend '${scheme}' is not supported (use redis://, rediss://, sentinel://, redis+socket://, rpc://, django-db or db+postgresql:// / db+mysql://)`));
    }
    assert.throws(() => createBackend('db+sqlite://'), /in-memory SQLite database, which other processes cannot see/);
  });
});
