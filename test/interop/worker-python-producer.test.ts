// Interop, the worker issue's proof: a real Python Celery producer (send_task / apply_async /
// delay) → OUR worker, started through OUR CLI (`ts-celery worker -A test/interop/ts/tasks.ts`)
// → Python's AsyncResult. Every assertion is about what the Python user sees: get()'s value or
// the exception it raises, state, info, traceback.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { pollUntil, runPython } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';
import { startTsWorker, type TsWorker } from '../helpers/ts-worker.js';
import { Celery, workerDirect } from '../../src/index.js';
import { configFromEnv } from './ts/env-config.js';

const { url, token, prefix } = claimRedis('worker-python-producer');
const queue = `wpp-${token}`;
const queueA = `wpp-a-${token}`;
const queueB = `wpp-b-${token}`;
const prioQueue = `wpp-prio-${token}`;
const nodeName = `wpp-${token}@localhost`;

const env = {
  BROKER_URL: url,
  RESULT_BACKEND: url,
  KEYPREFIX: prefix,
  DEFAULT_QUEUE: queue,
  QUEUE_A: queueA,
  QUEUE_B: queueB,
  PRIO_QUEUE: prioQueue,
  TOKEN: token,
  NODE_NAME: nodeName,
};

// Python's JSON, loosely typed on purpose: the assertions below are the check.
interface Case {
  ok: boolean;
  value?: any;
  error?: string;
  seconds: number;
}
interface Raised {
  raised: boolean;
  type?: string;
  module?: string;
  mro?: string[];
  str?: string;
  args?: unknown[];
  state: string;
  failed?: boolean;
  traceback_type?: string;
  traceback?: string | null;
  value?: unknown;
}

let worker: TsWorker | undefined;
let results: Record<string, Case> = {};
const redis = new Redis(url);

before(async () => {
  // Queued before our worker exists, so the worker finds a backlog with mixed priorities.
  const preload = await runPython('import worker_producer; worker_producer.preload()', env);
  worker = await startTsWorker({
    app: 'test/interop/ts/tasks.ts',
    queues: [queue, queueA, queueB, prioQueue],
    nodeName,
    env: { ...env, WORKER_DIRECT: '1' },
    concurrency: 4,
  });
  const run = await runPython(
    `import json, worker_producer; worker_producer.run_all(json.loads(${JSON.stringify(JSON.stringify(preload.json))}))`,
    env,
    60_000,
  );
  results = run.json as Record<string, Case>;
});

after(async () => {
  try {
    if (worker) {
      const status = await worker.stop();
      assert.deepEqual(status, { code: 0, signal: null }, `worker exit status; log:\n${worker.logs().slice(-3000)}`);
    }
  } finally {
    worker?.kill();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
});

/** The Python case's value (JSON); a crash in the Python snippet fails the test with its traceback. */
function value(name: string): any {
  const c = results[name];
  assert.ok(c, `the Python producer recorded no case '${name}'`);
  assert.ok(c.ok, `Python case '${name}' failed:\n${c.error}\n--- our worker's log (tail) ---\n${worker?.logs().slice(-4000)}`);
  return c.value;
}

test('every JSON type round-trips unchanged through a TypeScript echo task (values and Python types)', () => {
  const v = value('json');
  assert.equal(v.state, 'SUCCESS');
  assert.equal(v.successful, true);
  assert.deepEqual(v.got, v.expected);
  assert.equal(v.equal, true, 'Python: get() == the args/kwargs it sent');
  assert.equal(v.types_equal, true, 'every value keeps its Python type (int stays int, float stays float, …)');
  assert.equal(v.date_done_type, 'datetime', 'AsyncResult.date_done parses');
  assert.equal(v.date_done_aware, true, 'date_done carries its UTC offset');
  assert.ok(v.date_done_age < 60, `date_done is now-ish (${v.date_done_age}s off)`);
});

test('apply_async / delay / signature from Python stubs run on our worker', () => {
  assert.deepEqual(value('apply_async'), {
    delay: 5,
    apply_async: 42,
    signature: 2,
    render_kwargs: { report_id: 9, format: 'pdf' },
  });
});

test('integers beyond 2^53 survive args, kwargs, results, chains, chords and retries exactly; a number schema fails loudly', () => {
  const v = value('bigint');
  assert.equal(v.echo_equal, true, `echo: ${v.echo}`);
  assert.equal(v.sum, String(2n ** 60n + 1n + 2n ** 60n));
  assert.equal(v.chain, v.chain_expected);
  assert.equal(v.chord, v.chord_expected);
  assert.equal(v.retried, v.retried_expected);
  assert.equal(v.mixed.type, 'TypeError', JSON.stringify(v.mixed));
  assert.match(v.mixed.str, /BigInt/);
  assert.equal(v.schema.type, 'ValueError', JSON.stringify(v.schema));
  assert.match(v.schema.str, /report_id: .*expected number, received bigint/);
});

test('a task declared with params: Python passes arguments positionally, by keyword, or mixed', () => {
  assert.deepEqual(value('kwargs'), {
    positional: { report_id: 42, format: 'pdf' },
    positional_both: { report_id: 42, format: 'csv' },
    keywords: { report_id: 7, format: 'csv' },
    mixed: { report_id: 8, format: 'csv' },
  });
});

test('failures: Python get() raises the mapped exception type with the message; traceback is a string', () => {
  const f = value('failures') as Record<string, Raised>;
  const expectations: Record<string, { type: string; builtin: string; message: RegExp }> = {
    range_error: { type: 'ValueError', builtin: 'ValueError', message: /^bad range 42$/ },
    custom_error: { type: 'InsufficientFunds', builtin: 'Exception', message: /^balance 0 < 10$/ },
    chosen_class: { type: 'QuotaExceeded', builtin: 'Exception', message: /^quota 100 reached$/ },
    missing_param: { type: 'TypeError', builtin: 'TypeError', message: /missing 1 required positional argument: 'report_id'/ },
    missing_positional: { type: 'TypeError', builtin: 'TypeError', message: /ts\.add\(\) missing 1 required positional argument: 'b'/ },
    unexpected_kwarg: { type: 'TypeError', builtin: 'TypeError', message: /got an unexpected keyword argument 'c'/ },
    duplicate_argument: { type: 'TypeError', builtin: 'TypeError', message: /got multiple values for argument 'report_id'/ },
    schema_report_id: { type: 'ValueError', builtin: 'ValueError', message: /report_id/ },
    schema_format: { type: 'ValueError', builtin: 'ValueError', message: /format/ },
  };
  for (const [name, expected] of Object.entries(expectations)) {
    const got = f[name]!;
    const where = `${name}: ${JSON.stringify(got, null, 1)}`;
    assert.equal(got.raised, true, `${where}: get() must raise`);
    assert.equal(got.type, expected.type, where);
    assert.ok(got.mro!.includes(expected.builtin), `${where}: isinstance(e, ${expected.builtin})`);
    assert.match(got.str!, expected.message, where);
    assert.equal(got.state, 'FAILURE', where);
    assert.equal(got.failed, true, where);
    assert.equal(got.traceback_type, 'str', `${where}: AsyncResult.traceback is a string`);
    assert.match(got.traceback!, /Traceback \(most recent call last\)/, where);
  }
  // The traceback leads to the TypeScript line that threw.
  assert.match(f.range_error!.traceback!, /test\/interop\/ts\/tasks\.ts:\d+/);
  assert.match(f.range_error!.traceback!, /ValueError: bad range 42\n?$/);
  // The builtins keep their Python identity (a caller's `except ValueError` catches them).
  assert.equal(f.range_error!.module, 'builtins');
  assert.equal(f.missing_param!.module, 'builtins');
  assert.equal(f.schema_report_id!.module, 'builtins');
  // A user class without pythonModule: Celery builds a stand-in in celery.exceptions; with it,
  // Python raises the real class, and `except QuotaExceeded` catches it.
  assert.equal(f.custom_error!.module, 'celery.exceptions');
  assert.equal(f.chosen_class!.module, 'worker_producer');
  assert.equal((f.chosen_class as { caught_as_own_class?: boolean }).caught_as_own_class, true);
});

test('a custom PROGRESS state and its meta are visible to Python while the task runs', () => {
  const v = value('progress');
  assert.deepEqual(v.seen, { state: 'PROGRESS', info: { current: 1, total: 3 }, ready: false, result: { current: 1, total: 3 } });
  assert.deepEqual(v.value, { done: 3 });
  assert.equal(v.final_state, 'SUCCESS');
  assert.deepEqual(v.final_info, { done: 3 });
});

test('countdown and eta: the task runs no earlier than its eta', () => {
  const v = value('scheduled');
  for (const name of ['countdown', 'eta'] as const) {
    const c = v[name];
    assert.equal(c.state, 'SUCCESS', name);
    assert.equal(c.value.tag, name);
    assert.ok(typeof c.value.eta === 'string', `${name}: the task saw its eta`);
    const etaS = Date.parse(c.value.eta) / 1000;
    assert.ok(c.value.ran_at >= etaS, `${name}: ran at ${c.value.ran_at}, eta ${etaS}`);
    // 1.5 s after sending, bracketed by the clock read before and after the send (Python's clock
    // and ours are the same machine's), however long a cold first send takes.
    assert.ok(etaS >= c.sent_at + 1.5 - 0.001 && etaS <= c.sent_by + 1.5 + 0.001, `${name}: eta ${etaS} vs sent between ${c.sent_at} and ${c.sent_by}`);
    // Held until due, not until some later poll or restart (generous for a loaded machine).
    assert.ok(c.value.ran_at - etaS < 15, `${name}: ran ${c.value.ran_at - etaS}s after its eta`);
  }
});

test('expires in the past: Python sees REVOKED and get() raises TaskRevokedError; a future expiry runs', async () => {
  const v = value('expires');
  assert.equal(v.past.raised, true);
  assert.equal(v.past.state, 'REVOKED');
  assert.equal(v.past.type, 'TaskRevokedError');
  assert.equal(v.past.module, 'celery.exceptions');
  assert.match(v.past.str, /expired/);
  assert.equal(v.future.raised, false);
  assert.equal(v.future.state, 'SUCCESS');
  assert.equal(v.future.value.tag, 'not-expired');
  await worker!.waitForLog(`ts.info[${v.past_id}] expired`, 5000);
  assert.ok(!worker!.logs().includes(`ts.info[${v.past_id}] succeeded`), 'the expired task never ran');
});

test('priority: the message priority reaches the task, and a backlog is served in Redis priority order', () => {
  const header = value('priority_header');
  assert.equal(header.priority, 7);
  assert.equal(header.queue, queue);
  // kombu Redis: lower number first (sub-queues 0, 3, 6, 9), FIFO within one priority.
  const order = value('priority_order');
  assert.deepEqual(
    Object.fromEntries(Object.entries(order).map(([tag, r]) => [tag, (r as { n: number }).n])),
    { p0: 1, p5: 2, 'p9-first': 3, 'p9-second': 4 },
  );
});

test('several queues (-Q a,b,…): tasks sent to each are consumed from it; worker_direct: also its own <node>.dq2', async () => {
  const v = value('queues');
  assert.deepEqual([v.direct.queue, v.direct.hostname], [`${nodeName}.dq2`, nodeName]);
  // Ours sends there the same way (Celery's worker_direct(hostname)).
  const app = new Celery(configFromEnv(env));
  try {
    const ours = await app.sendTask<{ queue: string; hostname: string }>('ts.info', ['ts-direct'], {}, workerDirect(nodeName));
    const info = await ours.get({ timeout: 10 });
    assert.deepEqual([info.queue, info.hostname], [`${nodeName}.dq2`, nodeName]);
  } finally {
    await app.close();
  }
  assert.equal(v.a.queue, queueA);
  assert.equal(v.a.routing_key, queueA);
  assert.equal(v.b.queue, queueB);
  assert.equal(v.b.routing_key, queueB);
  assert.equal(v.default.queue, queue);
  for (const r of [v.a, v.b, v.default]) assert.equal(r.hostname, nodeName);
});

test('ignore_result (per call and declared on the task): the task runs, no result is ever stored', async () => {
  const v = value('ignore_result');
  for (const [name, c, mark] of [
    ['by_call', v.by_call, 'v1'],
    ['declared', v.declared, 'v2'],
  ] as const) {
    assert.equal(c.mark, mark, `${name}: the task ran`);
    assert.equal(c.state, 'PENDING', `${name}: Python sees no state`);
    assert.equal(c.result, null, name);
    // Once the worker says it finished, the backend still has no meta for it.
    const task = name === 'by_call' ? 'ts.mark' : 'ts.mark_ignored';
    await worker!.waitForLog(`${task}[${c.id}] succeeded`, 5000);
    assert.equal(await redis.exists(`${prefix}celery-task-meta-${c.id}`), 0, `${name}: no celery-task-meta key`);
  }
});

test('an unknown task among good ones: Python get() raises NotRegistered, the rest complete, the worker keeps running', async () => {
  const v = value('unknown');
  assert.equal(v.unknown.raised, true);
  assert.equal(v.unknown.type, 'NotRegistered');
  assert.equal(v.unknown.module, 'celery.exceptions');
  assert.ok(v.unknown.mro.includes('KeyError'), 'NotRegistered is a KeyError in Python');
  assert.match(v.unknown.str, /ts\.no_such_task/);
  assert.equal(v.unknown.state, 'FAILURE');
  assert.deepEqual(v.before, { args: ['before'], kwargs: {} });
  assert.deepEqual(v.after, { args: ['after'], kwargs: {} });
  assert.equal(v.later, 42);
  assert.ok(worker!.running, 'the worker process is still alive');
  assert.match(worker!.logs(), /ERROR\/MainProcess\] Received unregistered task of type 'ts\.no_such_task'/);
  // The message was discarded, not left for a redelivery loop.
  await pollUntil('the unacked hash to drain', async () => (await redis.hlen(`${prefix}unacked`)) === 0, { timeoutMs: 5000 });
  assert.equal(await redis.llen(`${prefix}${queue}`), 0);
});
