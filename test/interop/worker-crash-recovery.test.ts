// Interop, crash recovery of OUR worker (started through our CLI) on kombu's Redis ack
// emulation, visibility_timeout 2 s on every side (kombu/transport/redis.py `QoS.restore_visible`):
//  - SIGTERM mid-run: running acks_late tasks finish (SUCCESS stored), reserved ones go back
//    to the front of the queue, exit code 0;
//  - kill -9 while holding acks_late tasks: after the visibility timeout a fresh worker —
//    Python's, and in a second case ours — restores and runs every one of them.
// The `fleet.gated` task (same name in test/interop/ts/tasks.ts and python/worker_tasks.py)
// blocks until the test opens its gate, so "mid-run" is a state, not a timing guess.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { Celery } from '../../src/index.js';
import { pollUntil, startPythonWorker, type PythonWorker } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';
import { startTsWorker, type TsWorker } from '../helpers/ts-worker.js';
import { resultKeyprefix } from './ts/env-config.js';

const VISIBILITY_TIMEOUT_S = 2;
const { url, token, prefix } = claimRedis('worker-crash-recovery');
const env = { BROKER_URL: url, RESULT_BACKEND: url, KEYPREFIX: prefix, VISIBILITY_TIMEOUT: String(VISIBILITY_TIMEOUT_S), DEFAULT_QUEUE: `wcr-${token}` };
const queues = { term: `wcr-term-${token}`, kill: `wcr-kill-${token}`, kill2: `wcr-kill2-${token}`, soft: `wcr-soft-${token}` };

const redis = new Redis(url);
let app: Celery;
const tsWorkers: TsWorker[] = [];
const pyWorkers: PythonWorker[] = [];
/** Ids the SIGTERM test gave back; the kill -9 → Python test lets its Python worker run them. */
let givenBack: { reserved: string[]; waiting: string; runsKey: string } | undefined;

before(() => {
  app = new Celery({
    broker_url: url,
    result_backend: url,
    broker_transport_options: { global_keyprefix: prefix, visibility_timeout: VISIBILITY_TIMEOUT_S },
    result_backend_transport_options: { global_keyprefix: resultKeyprefix(prefix) },
  });
});

after(async () => {
  try {
    await app?.close();
  } finally {
    for (const w of tsWorkers) w.kill();
    for (const w of pyWorkers) w.kill();
    await Promise.all([...tsWorkers.map((w) => w.exited()), ...pyWorkers.map((w) => w.exited())]);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
});

async function ourWorker(tag: string, queue: string, concurrency: number, prefetchMultiplier: number, workerEnv: Record<string, string> = env): Promise<TsWorker> {
  const w = await startTsWorker({
    app: 'test/interop/ts/tasks.ts',
    queues: [queue],
    nodeName: `wcr-${tag}-${token}@localhost`,
    env: workerEnv,
    concurrency,
    extraArgs: ['--prefetch-multiplier', String(prefetchMultiplier)],
  });
  tsWorkers.push(w);
  return w;
}

async function sendGated(queue: string, gate: string, runsKey: string, values: number[]): Promise<string[]> {
  const ids: string[] = [];
  for (const value of values) ids.push((await app.sendTask('fleet.gated', [gate, runsKey, value], {}, { queue })).id);
  return ids;
}

const unacked = () => redis.hlen(`${prefix}unacked`);
const queued = (queue: string) => redis.llen(`${prefix}${queue}`);
const started = (runsKey: string) => redis.llen(`${runsKey}:started`);
const openGate = (gate: string) => redis.set(gate, '1', 'EX', 300);

async function runs(runsKey: string): Promise<Array<{ id: string; lang: string }>> {
  return (await redis.lrange(runsKey, 0, -1)).map((r) => JSON.parse(r) as { id: string; lang: string });
}

/** Deadline-bound wait until every unacked message is older than the visibility timeout. */
async function visibilityTimeoutPassed(): Promise<void> {
  const scores = (await redis.zrange(`${prefix}unacked_index`, 0, -1, 'WITHSCORES')).filter((_, i) => i % 2 === 1).map(Number);
  assert.ok(scores.length > 0, 'there are unacked messages to wait for');
  const due = Math.max(...scores) + VISIBILITY_TIMEOUT_S + 0.25;
  await pollUntil('the visibility timeout to pass', () => Date.now() / 1000 > due, { timeoutMs: (VISIBILITY_TIMEOUT_S + 5) * 1000, intervalMs: 100 });
}

function withLogs(worker: TsWorker | undefined, fn: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await fn();
    } catch (err) {
      if (err instanceof Error && worker) err.message += `\n--- our worker's log (tail) ---\n${worker.logs().slice(-4000)}`;
      throw err;
    }
  };
}

test('SIGTERM mid-run: the running task finishes and is stored, reserved ones go back to the front of the queue, exit 0', async () => {
  const queue = queues.term;
  const gate = `${prefix}gate:term`;
  const runsKey = `${prefix}runs:term`;
  // -c 1, prefetch 1 × 3: one running, two reserved; a fourth message waits in the queue.
  const w = await ourWorker('term', queue, 1, 3);
  await withLogs(w, async () => {
    const [running, ...reserved] = await sendGated(queue, gate, runsKey, [0, 1, 2]);
    await pollUntil('one running and two reserved (all three unacked)', async () => (await started(runsKey)) === 1 && (await unacked()) === 3, {
      timeoutMs: 10_000,
    });
    const [waiting] = await sendGated(queue, gate, runsKey, [3]);
    await pollUntil('the fourth message to stay queued', async () => (await queued(queue)) === 1, { timeoutMs: 5000 });

    w.kill('SIGTERM');
    await pollUntil('the reserved messages to be given back', async () => (await queued(queue)) === 3, { timeoutMs: 10_000 });
    assert.equal(await unacked(), 1, 'only the running task is still unacked');
    assert.ok(w.running, 'warm shutdown waits for the running task');
    assert.equal(await app.AsyncResult(running!).state(), 'PENDING');

    await openGate(gate);
    const status = await w.exited();
    assert.deepEqual(status, { code: 0, signal: null }, 'warm shutdown exits 0');
    assert.match(w.logs(), /Warm shutdown/);

    assert.equal(await app.AsyncResult(running!).state(), 'SUCCESS');
    assert.deepEqual(await app.AsyncResult(running!).get({ timeout: 20 }), { value: 0, lang: 'typescript', redelivered: false });
    for (const id of reserved) assert.equal(await app.AsyncResult(id).state(), 'PENDING', 'a reserved task did not run');
    assert.deepEqual((await runs(runsKey)).map((r) => r.id), [running], 'only the running task ran');
    assert.equal(await unacked(), 0);
    assert.equal(await redis.zcard(`${prefix}unacked_index`), 0);

    // The reserved messages are at the consuming end (BRPOP pops the right end), ahead of the one
    // that was waiting; they are marked redelivered as kombu marks restored messages.
    const list = (await redis.lrange(`${prefix}${queue}`, 0, -1)).map((raw) => JSON.parse(raw) as { headers: { id: string; redelivered?: boolean } });
    assert.equal(list[0]!.headers.id, waiting, 'the never-fetched message stays behind the given-back ones');
    assert.deepEqual(list.slice(1).map((m) => m.headers.id).sort(), [...reserved].sort());
    givenBack = { reserved, waiting: waiting!, runsKey };
  })();
});

test('SIGQUIT with worker_soft_shutdown_timeout: a task ending within the soft period is stored, a longer acks_late one is cancelled and goes straight back to the queue, exit 0', async () => {
  const queue = queues.soft;
  const [shortGate, longGate] = [`${prefix}gate:soft-short`, `${prefix}gate:soft-long`];
  const runsKey = `${prefix}runs:soft`;
  // No short visibility timeout here: the long task's message must come back through the cold
  // shutdown itself, not through a restore sweep.
  const { VISIBILITY_TIMEOUT: _, ...plain } = env;
  const w = await ourWorker('soft', queue, 2, 2, { ...plain, SOFT_SHUTDOWN_TIMEOUT: '3' });
  await withLogs(w, async () => {
    const [short] = await sendGated(queue, shortGate, runsKey, [20]);
    const [long] = await sendGated(queue, longGate, runsKey, [21]);
    await pollUntil('both tasks running', async () => (await started(runsKey)) === 2, { timeoutMs: 10_000 });
    const [reserved] = await sendGated(queue, longGate, runsKey, [22]);
    await pollUntil('a third message reserved', async () => (await unacked()) === 3, { timeoutMs: 10_000 });

    const quitAt = Date.now();
    w.kill('SIGQUIT');
    await w.waitForLog(/Initiating Soft Shutdown, terminating in 3 seconds/, 10_000);
    await pollUntil('the reserved message to be given back', async () => (await queued(queue)) === 1, { timeoutMs: 10_000 });
    await openGate(shortGate);
    assert.deepEqual(await app.AsyncResult(short!).get({ timeout: 10 }), { value: 20, lang: 'typescript', redelivered: false });
    assert.ok(w.running, 'the soft period still waits for the long task');

    assert.deepEqual(await w.exited(), { code: 0, signal: null });
    assert.ok(Date.now() - quitAt >= 2_900, `the soft period lasted ${Date.now() - quitAt} ms`);
    assert.match(w.logs(), /Cold shutdown/);
    // Cancelled at the end of the period: back in the queue at once (no visibility timeout to
    // wait out), nothing stored, not acked.
    assert.equal(await unacked(), 0);
    assert.deepEqual((await redis.lrange(`${prefix}${queue}`, 0, -1)).map((raw) => (JSON.parse(raw) as { headers: { id: string } }).headers.id).sort(), [long, reserved].sort());
    assert.equal(await app.AsyncResult(long!).state(), 'PENDING');
  })();
});

test('kill -9 while holding acks_late tasks: a Python worker started after the visibility timeout runs every one of them', async () => {
  const queue = queues.kill;
  const gate = `${prefix}gate:kill`;
  const runsKey = `${prefix}runs:kill`;
  // -c 2, prefetch 2 × 2: two running, two reserved, all unacked.
  const w = await ourWorker('kill', queue, 2, 2);
  let ids: string[] = [];
  await withLogs(w, async () => {
    ids = await sendGated(queue, gate, runsKey, [10, 11, 12, 13]);
    await pollUntil('two running and two reserved', async () => (await started(runsKey)) === 2 && (await unacked()) === 4, { timeoutMs: 10_000 });
    w.kill('SIGKILL');
    assert.deepEqual(await w.exited(), { code: null, signal: 'SIGKILL' });
  })();
  // Nothing was acked, nothing went back: the messages live only in kombu's unacked hash.
  assert.equal(await unacked(), 4);
  assert.equal(await queued(queue), 0);
  for (const id of ids) assert.equal(await app.AsyncResult(id).state(), 'PENDING');

  await openGate(gate);
  await visibilityTimeoutPassed();
  const py = await startPythonWorker({ app: 'worker_tasks', queues: [queue, queues.term], nodeName: `wcr-py-${token}@localhost`, env });
  pyWorkers.push(py);
  try {
    for (const [i, id] of ids.entries()) {
      assert.deepEqual(await app.AsyncResult(id).get({ timeout: 20 }), { value: 10 + i, lang: 'python', redelivered: true });
    }
    const done = await runs(runsKey);
    assert.deepEqual(done.map((r) => r.id).sort(), [...ids].sort(), 'each task ran exactly once, none lost');
    assert.ok(done.every((r) => r.lang === 'python'));

    // The SIGTERM test's given-back messages ran too, before the one that had been waiting.
    assert.ok(givenBack, 'the SIGTERM test gave messages back');
    const { reserved, waiting, runsKey: termRuns } = givenBack;
    for (const id of [...reserved, waiting]) assert.equal((await app.AsyncResult<{ lang: string }>(id).get({ timeout: 20 })).lang, 'python');
    const termOrder = (await runs(termRuns)).map((r) => r.id);
    assert.equal(termOrder.length, 4, 'every task of the SIGTERM test ran once');
    assert.deepEqual(termOrder.slice(1, 3).sort(), [...reserved].sort(), 'the given-back messages were served first');
    assert.equal(termOrder[3], waiting);

    await pollUntil('the unacked hash to drain', async () => (await unacked()) === 0, { timeoutMs: 5000 });
    assert.equal(await queued(queue), 0);
    assert.equal(await queued(queues.term), 0);
  } catch (err) {
    if (err instanceof Error) err.message += `\n--- python worker log (tail) ---\n${py.logs().slice(-4000)}`;
    throw err;
  } finally {
    await py.stop();
  }
});

test('kill -9 while holding acks_late tasks: a fresh worker of ours restores and runs them after the visibility timeout', async () => {
  const queue = queues.kill2;
  const gate = `${prefix}gate:kill2`;
  const runsKey = `${prefix}runs:kill2`;
  const first = await ourWorker('kill2a', queue, 2, 2);
  let ids: string[] = [];
  await withLogs(first, async () => {
    ids = await sendGated(queue, gate, runsKey, [20, 21, 22]);
    await pollUntil('two running and one reserved', async () => (await started(runsKey)) === 2 && (await unacked()) === 3, { timeoutMs: 10_000 });
    first.kill('SIGKILL');
    assert.deepEqual(await first.exited(), { code: null, signal: 'SIGKILL' });
  })();
  assert.equal(await unacked(), 3);
  assert.equal(await queued(queue), 0);

  await openGate(gate);
  await visibilityTimeoutPassed();
  const second = await ourWorker('kill2b', queue, 2, 2);
  await withLogs(second, async () => {
    for (const [i, id] of ids.entries()) {
      assert.deepEqual(await app.AsyncResult(id).get({ timeout: 20 }), { value: 20 + i, lang: 'typescript', redelivered: true });
    }
    const done = await runs(runsKey);
    assert.deepEqual(done.map((r) => r.id).sort(), [...ids].sort(), 'each task ran exactly once, none lost');
    assert.match(second.logs(), /Restored 3 unacknowledged messages/);
    await pollUntil('the unacked hash to drain', async () => (await unacked()) === 0, { timeoutMs: 5000 });
    assert.equal(await queued(queue), 0);
    assert.deepEqual(await second.stop(), { code: 0, signal: null });
  })();
});
