// One ResultBackend conformance suite, run against RedisBackend (real Redis, db 13, a unique
// global_keyprefix) and MemoryBackend: the semantics AsyncResult and the worker rely on.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { MemoryBackend } from '../../src/backend/memory.js';
import { RedisBackend } from '../../src/backend/redis/redis-backend.js';
import type { ResultBackend } from '../../src/backend/result-backend.js';
import { TimeoutError, TransportError } from '../../src/errors.js';
import { buildTaskMeta, resultTuple, type ResultTuple, type TaskMeta } from '../../src/protocol/result-meta.js';
import { claimRedis } from '../helpers/redis.js';

interface Implementation {
  name: string;
  /** A fresh backend; the suite closes it. */
  create(): ResultBackend;
  /** Resolves once a wait on `taskId` is listening (Redis: the channel has a subscriber). */
  listening(taskId: string): Promise<void>;
  cleanup(): Promise<void>;
}

const { url, prefix } = claimRedis('backend-conformance');
const admin = new Redis(url, { lazyConnect: true });

const implementations: Implementation[] = [
  {
    name: 'RedisBackend',
    // Polls slowed to a minute: anything that resolves quickly was woken by PUBLISH or the first read.
    create: () => new RedisBackend(url, { keyPrefix: prefix, fallbackPollMs: 60_000, safetyPollMs: 60_000 }),
    listening: async (taskId) => {
      const channel = `${prefix}celery-task-meta-${taskId}`;
      await until(async () => ((await admin.pubsub('NUMSUB', channel)) as [string, number])[1] > 0, `a subscriber on ${channel}`);
    },
    cleanup: async () => {
      const keys = await scanKeys(`${prefix}*`);
      if (keys.length > 0) await admin.del(...keys);
    },
  },
  {
    name: 'MemoryBackend',
    create: () => new MemoryBackend(),
    listening: async () => {},
    cleanup: async () => {},
  },
];

for (const impl of implementations) {
  describe(`ResultBackend conformance: ${impl.name}`, () => {
    let backend: ResultBackend;
    before(() => {
      backend = impl.create();
    });
    after(async () => {
      await backend.close();
      await impl.cleanup();
    });

    test('an unknown id is PENDING', async () => {
      const id = randomUUID();
      assert.deepEqual(await backend.getMeta(id), { status: 'PENDING', result: null, traceback: null, children: [], date_done: null, task_id: id });
    });

    test('a stored result reads back as stored', async () => {
      const meta = success(randomUUID(), { sum: 5, note: 'café ☕' });
      meta.group_id = randomUUID();
      assert.equal(await backend.storeResult(meta), true);
      assert.deepEqual(await backend.getMeta(meta.task_id), meta);
    });

    test('a stored SUCCESS is never overwritten', async () => {
      const id = randomUUID();
      const first = success(id, 1);
      assert.equal(await backend.storeResult(first), true);
      const failure = buildTaskMeta({ taskId: id, status: 'FAILURE', result: { exc_type: 'ValueError', exc_message: ['late'], exc_module: 'builtins' }, dateDone: new Date() });
      assert.equal(await backend.storeResult(failure), false);
      assert.equal(await backend.storeResult(success(id, 2)), false);
      assert.deepEqual(await backend.getMeta(id), first);
    });

    test('PROGRESS, then SUCCESS overwrites it', async () => {
      const id = randomUUID();
      const progress = buildTaskMeta({ taskId: id, status: 'PROGRESS', result: { current: 5, total: 10 } });
      assert.equal(await backend.storeResult(progress), true);
      assert.deepEqual(await backend.getMeta(id), progress);
      const done = success(id, { current: 10, total: 10 });
      assert.equal(await backend.storeResult(done), true);
      assert.deepEqual(await backend.getMeta(id), done);
    });

    test('forget removes the result (PENDING again)', async () => {
      const id = randomUUID();
      await backend.storeResult(success(id, 3));
      await backend.forget(id);
      assert.equal((await backend.getMeta(id)).status, 'PENDING');
    });

    test('waitFor is woken by the store, promptly', async () => {
      const id = randomUUID();
      const waiting = backend.waitFor(id, { timeoutMs: 10_000 });
      await impl.listening(id);
      const stored = success(id, 42);
      const t0 = performance.now();
      await backend.storeResult(stored);
      // The polls are a minute apart (Redis) and the wait gives up after 10 s, so resolving at
      // all is the PUBLISH's doing; the bound is only a generous sanity check.
      assert.deepEqual(await waiting, stored);
      assert.ok(performance.now() - t0 < 9000, `woke after ${performance.now() - t0} ms`);
    });

    test('waitFor skips unready states and resolves on the ready one', async () => {
      const id = randomUUID();
      const waiting = backend.waitFor(id, { timeoutMs: 10_000 });
      await impl.listening(id);
      await backend.storeResult(buildTaskMeta({ taskId: id, status: 'STARTED', result: { pid: 1, hostname: 'w@h' } }));
      await backend.storeResult(buildTaskMeta({ taskId: id, status: 'RETRY', result: { exc_type: 'RuntimeError', exc_message: ['again'], exc_module: 'builtins' } }));
      await backend.storeResult(buildTaskMeta({ taskId: id, status: 'PROGRESS', result: { current: 1 } }));
      const failure = buildTaskMeta({ taskId: id, status: 'FAILURE', result: { exc_type: 'KeyError', exc_message: ['k'], exc_module: 'builtins' }, traceback: 'Traceback…', dateDone: new Date() });
      await backend.storeResult(failure);
      assert.deepEqual(await waiting, failure);
    });

    test('waitFor resolves at once when the result was stored before the call', async () => {
      const stored = success(randomUUID(), 'ready');
      await backend.storeResult(stored);
      const t0 = performance.now();
      // Nothing will be published: only the read at the call can resolve it before the timeout.
      assert.deepEqual(await backend.waitFor(stored.task_id, { timeoutMs: 10_000 }), stored);
      assert.ok(performance.now() - t0 < 9000);
    });

    test('waitFor with `until` resolves on a custom state', async () => {
      const id = randomUUID();
      const waiting = backend.waitFor(id, { timeoutMs: 10_000, until: (m) => m.status === 'PROGRESS' });
      await impl.listening(id);
      await backend.storeResult(buildTaskMeta({ taskId: id, status: 'PROGRESS', result: { current: 7 } }));
      assert.deepEqual((await waiting).result, { current: 7 });
    });

    test('waitFor times out with TimeoutError naming the task', async () => {
      const id = randomUUID();
      const t0 = performance.now();
      await assert.rejects(backend.waitFor(id, { timeoutMs: 150 }), (error: unknown) => {
        assert.ok(error instanceof TimeoutError);
        assert.match(error.message, new RegExp(id));
        return true;
      });
      const elapsed = performance.now() - t0;
      // Never before the deadline; well before the next poll (a minute away) however loaded.
      assert.ok(elapsed >= 140 && elapsed < 30_000, `timed out after ${elapsed} ms`);
    });

    test('waitFor honours an AbortSignal (already aborted, and aborted while waiting)', async () => {
      const reason = new Error('caller gave up');
      await assert.rejects(backend.waitFor(randomUUID(), { signal: AbortSignal.abort(reason) }), reason);
      const controller = new AbortController();
      const id = randomUUID();
      const waiting = backend.waitFor(id, { signal: controller.signal });
      await impl.listening(id);
      controller.abort(reason);
      await assert.rejects(waiting, reason);
    });

    test('500 concurrent waits each resolve with their own result', async () => {
      const ids = Array.from({ length: 500 }, () => randomUUID());
      const waits = ids.map((id) => backend.waitFor(id, { timeoutMs: 20_000 }));
      await impl.listening(ids.at(-1)!);
      await Promise.all(ids.map((id, i) => backend.storeResult(success(id, i))));
      const metas = await Promise.all(waits);
      assert.deepEqual(
        metas.map((m) => [m.task_id, m.result]),
        ids.map((id, i) => [id, i]),
      );
    });

    test('a group is saved, restored and deleted', async () => {
      const gid = randomUUID();
      const tuple: ResultTuple = [[gid, null], [resultTuple(randomUUID()), resultTuple(randomUUID(), resultTuple(randomUUID()))]];
      assert.equal(await backend.restoreGroup(gid), null);
      await backend.saveGroup(gid, tuple);
      assert.deepEqual(await backend.restoreGroup(gid), tuple);
      await backend.deleteGroup(gid);
      assert.equal(await backend.restoreGroup(gid), null);
    });

    test('close() ends pending waits with an error and refuses later calls', async () => {
      const own = impl.create();
      const id = randomUUID();
      const waiting = own.waitFor(id);
      await impl.listening(id);
      const rejected = assert.rejects(waiting, TransportError);
      await own.close();
      await rejected;
      await assert.rejects(own.getMeta(id), TransportError);
      await assert.rejects(own.waitFor(id), TransportError);
    });
  });
}

after(async () => {
  admin.disconnect();
});

function success(taskId: string, result: unknown): TaskMeta {
  return buildTaskMeta({ taskId, status: 'SUCCESS', result, dateDone: new Date() });
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function scanKeys(pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}
