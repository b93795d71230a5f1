// `-P threads`: the ThreadPool executor on its own (errors crossing the thread boundary, dying and
// recycled threads) and a worker running test/fixtures-ts/threads-tasks.ts in threads on the
// memory transport (hard limit on a CPU-bound loop, updateState, retries, soft limit).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { Replace } from '../../src/canvas/replace.js';
import { EncodeError, Ignore, Reject, Retry, type TaskError, TaskRevokedError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { formatTraceback, toExceptionInfo } from '../../src/protocol/exceptions.js';
import type { TaskContext, TaskDefinition } from '../../src/registry/task-definition.js';
import { ThreadPool } from '../../src/worker/pools/thread-pool.js';
import { WorkerLostError } from '../../src/worker/pools/worker-lost.js';
import { Worker } from '../../src/worker/worker.js';
import { app } from '../fixtures-ts/threads-tasks.js';

const FIXTURE = fileURLToPath(new URL('../fixtures-ts/threads-tasks.ts', import.meta.url));

function definition(name: string): TaskDefinition {
  return { name, options: { name }, run: () => Promise.reject(new Error('runs in a thread')) };
}

function context(name: string, controller = new AbortController()): TaskContext & { states: [string, unknown][] } {
  const states: [string, unknown][] = [];
  return {
    id: `id-${name}`,
    name,
    retries: 0,
    headers: {},
    rootId: null,
    parentId: null,
    group: null,
    eta: null,
    expires: null,
    hostname: 'threads@test',
    deliveryInfo: { exchange: '', routingKey: 'celery', queue: 'celery', redelivered: false, priority: 0 },
    request: {} as TaskContext['request'],
    signal: controller.signal,
    states,
    updateState: async (state, meta) => {
      states.push([state, meta]);
    },
    retry: (options) => {
      throw new Retry(options);
    },
    replace: (sig) => {
      throw new Replace(sig);
    },
  };
}

const run = (pool: ThreadPool, name: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}, ctx = context(name)) =>
  pool.run(definition(name), args, kwargs, ctx);

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
}

describe('ThreadPool', () => {
  const pool = new ThreadPool({ appModule: FIXTURE, size: 1 });
  after(() => pool.close()); // also when a test fails before the last one closes it

  test('runs a task in a thread and returns its value', async () => {
    await pool.start();
    assert.equal(await run(pool, 'th.add', [2, 3]), 5);
    const id = await run(pool, 'th.whoami');
    assert.equal(typeof id, 'number');
    assert.notEqual(id, 0); // not the main thread
  });

  test('errors keep their Python type, message and the thread stack', async () => {
    const error = await rejection(run(pool, 'th.range', ['bad range']));
    assert.deepEqual(toExceptionInfo(error), { exc_type: 'ValueError', exc_message: ['bad range'], exc_module: 'builtins' });
    assert.ok(error instanceof RangeError);
    assert.match(formatTraceback(error), /threads-tasks\.ts/);
    assert.match(formatTraceback(error), /ValueError: bad range\n$/);
  });

  test('ctx.replace in a thread arrives as Replace with its signature, for the main thread to send', async () => {
    const replace = await rejection(run(pool, 'th.replace'));
    assert.ok(replace instanceof Replace);
    assert.deepEqual([replace.signature.task, replace.signature.args], ['th.add', [2, 3]]);
  });

  test('Reject and Ignore arrive as those classes', async () => {
    const reject = await rejection(run(pool, 'th.reject'));
    assert.ok(reject instanceof Reject);
    assert.equal(reject.reason, 'not mine');
    assert.equal(reject.requeue, true);
    assert.ok((await rejection(run(pool, 'th.ignore'))) instanceof Ignore);
  });

  test('autoretry_for with a class is decided in the thread: a Retry carrying the error', async () => {
    const retry = await rejection(run(pool, 'th.autoretry'));
    assert.ok(retry instanceof Retry);
    assert.equal(retry.options.countdown, 0);
    const exc = retry.options.exc as Error & { code?: string };
    assert.deepEqual(toExceptionInfo(exc), { exc_type: 'FetchError', exc_message: ['upstream down'], exc_module: 'ts_celery.tasks' });
    assert.equal(exc.code, 'EFETCH');
  });

  test('updateState goes through the main thread context', async () => {
    const ctx = context('th.progress');
    assert.equal(await run(pool, 'th.progress', [], { steps: 2 }, ctx), 'done');
    assert.deepEqual(
      ctx.states.map(([state, meta]) => [state, (meta as { step: number }).step]),
      [['PROGRESS', 1], ['PROGRESS', 2]],
    );
  });

  test('a return value structured clone cannot copy fails with EncodeError', async () => {
    const error = await rejection(run(pool, 'th.unclonable'));
    assert.ok(error instanceof EncodeError);
  });

  test('a thread that exits under a task: WorkerLostError, and a new thread takes over', async () => {
    const before = pool.threadIds;
    const error = await rejection(run(pool, 'th.exit', [3]));
    assert.ok(error instanceof WorkerLostError);
    assert.deepEqual(toExceptionInfo(error).exc_module, 'billiard.exceptions');
    assert.match((error as Error).message, /^Worker exited prematurely: exitcode 3 Job: \d+\.$/);
    assert.equal(await run(pool, 'th.add', [1, 1]), 2);
    assert.notDeepEqual(pool.threadIds, before);
  });

  test('terminate (revoke) ends a CPU-bound task at once: the run rejects with the reason, a new thread takes over', async () => {
    const controller = new AbortController();
    const before = pool.threadIds;
    const running = run(pool, 'th.spin', [], {}, context('th.spin', controller));
    setTimeout(() => controller.abort(new TaskRevokedError('terminated')), 100);
    const error = await rejection(running);
    assert.ok(error instanceof TaskRevokedError);
    assert.equal(await run(pool, 'th.add', [2, 2]), 4);
    assert.notDeepEqual(pool.threadIds, before);
  });

  test('close() terminates the threads; later runs are refused', async () => {
    await pool.close();
    assert.deepEqual(pool.threadIds, []);
    assert.ok((await rejection(run(pool, 'th.add', [1, 2]))) instanceof WorkerLostError);
  });
});

describe('ThreadPool recycling', () => {
  test('--max-tasks-per-child: a fresh thread after N tasks', async () => {
    const pool = new ThreadPool({ appModule: FIXTURE, size: 1, maxTasksPerChild: 2 });
    try {
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push(await run(pool, 'th.whoami'));
      assert.equal(ids[0], ids[1]);
      assert.notEqual(ids[1], ids[2]);
    } finally {
      await pool.close();
    }
  });

  test('--max-memory-per-child: a thread over the limit after a task is replaced', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', write: (line) => lines.push(line) });
    const pool = new ThreadPool({ appModule: FIXTURE, size: 1, maxMemoryPerChild: 64 * 1024, logger });
    try {
      const small = await run(pool, 'th.hoard', [1]);
      assert.equal(await run(pool, 'th.whoami'), small, 'under the limit the thread stays');
      const big = await run(pool, 'th.hoard', [80]);
      assert.equal(big, small);
      assert.notEqual(await run(pool, 'th.whoami'), big);
      assert.ok(lines.some((l) => /child process exiting after exceeding memory limit \(\d+KiB \/ 65536KiB\)/.test(l)));
    } finally {
      await pool.close();
    }
  });
});

describe('worker with -P threads', async () => {
  const lines: string[] = [];
  const worker = new Worker(app, {
    pool: 'threads',
    appModule: FIXTURE,
    concurrency: 2,
    nodeName: 'threads@test',
    remoteControl: false,
    logger: createLogger({ level: 'debug', write: (line) => lines.push(line) }),
  });
  await worker.start();
  after(() => worker.stop());

  test('the executor is the thread pool', () => {
    assert.equal(worker.executor.name, 'threads');
  });

  test('a CPU-bound loop hits the hard limit: FAILURE TimeLimitExceeded while the event loop keeps ticking', async () => {
    // A spin on the main thread would stop this timer (and the hard-limit timer, so the spin
    // would never end); a few ticks during the 0.4 s the thread spins prove the loop is free.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    try {
      const spin = await app.sendTask('th.spin');
      const sum = await app.sendTask('th.add', [20, 22]);
      assert.equal(await sum.get({ timeout: 10 }), 42, 'the other slot serves while one thread spins');
      await assert.rejects(spin.get({ timeout: 10 }), (e: TaskError) => e.excType === 'TimeLimitExceeded');
      assert.ok(ticks >= 3, `the timer ticked only ${ticks} times while the thread spun`);
    } finally {
      clearInterval(timer);
    }
    const results = await Promise.all([app.sendTask('th.add', [1, 2]), app.sendTask('th.add', [3, 4])]);
    assert.deepEqual(await Promise.all(results.map((r) => r.get({ timeout: 20 }))), [3, 7]);
    assert.ok(lines.some((l) => /Hard time limit \(0\.4s\) exceeded for th\.spin/.test(l)));
  });

  test('updateState from a thread is visible to callers', async () => {
    const r = await app.sendTask('th.progress', [], { steps: 2 });
    const deadline = Date.now() + 20_000;
    let meta: unknown;
    while (Date.now() < deadline) {
      const current = await app.backend!.getMeta(r.id);
      if (current.status === 'PROGRESS' && (current.result as { step: number }).step === 2) {
        meta = current.result;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.deepEqual({ ...(meta as object), thread: 0 }, { step: 2, of: 2, thread: 0 });
    assert.equal(await r.get({ timeout: 20 }), 'done');
  });

  test('ctx.retry() in a thread re-publishes; the retry runs and succeeds', async () => {
    const r = await app.sendTask('th.retry');
    assert.equal(((await r.get({ timeout: 20 })) as { retries: number }).retries, 1);
  });

  test('autoretry_for a class retries, then fails with the task error', async () => {
    const r = await app.sendTask('th.autoretry');
    await assert.rejects(r.get({ timeout: 20 }), (e: TaskError) => {
      assert.equal(e.excType, 'FetchError');
      assert.equal(e.excModule, 'ts_celery.tasks');
      return true;
    });
    assert.ok(lines.some((l) => l.includes(`Task th.autoretry[${r.id}] retry: Retry in 0s: FetchError('upstream down')`)));
  });

  test('a RangeError thrown in a thread arrives as ValueError with the thread stack', async () => {
    const r = await app.sendTask('th.range', ['out of range']);
    await assert.rejects(r.get({ timeout: 20 }), (e: TaskError) => {
      assert.equal(e.excType, 'ValueError');
      assert.deepEqual(e.excArgs, ['out of range']);
      assert.match(e.remoteTraceback ?? '', /threads-tasks\.ts/);
      return true;
    });
  });

  test('the soft limit aborts ctx.signal inside the thread: FAILURE SoftTimeLimitExceeded', async () => {
    const r = await app.sendTask('th.soft');
    await assert.rejects(r.get({ timeout: 20 }), (e: TaskError) => e.excType === 'SoftTimeLimitExceeded');
  });

  test('a thread that exits under a task: FAILURE WorkerLostError, the worker keeps serving', async () => {
    const r = await app.sendTask('th.exit', [0]);
    await assert.rejects(r.get({ timeout: 20 }), (e: TaskError) => e.excType === 'WorkerLostError' && e.excModule === 'billiard.exceptions');
    assert.equal(await (await app.sendTask('th.add', [5, 5])).get({ timeout: 20 }), 10);
  });

  test(
    'acks_late + task_reject_on_worker_lost: the message is requeued, no FAILURE stored, the redelivery runs',
    async () => {
      const r = await app.sendTask('th.exit_once');
      try {
        assert.equal(await r.get({ timeout: 20 }), 'second run');
      } finally {
        rmSync(join(tmpdir(), `ts-celery-exit-once-${r.id}`), { force: true });
      }
    },
  );
});
