// Interop, TypeScript producer → Python worker: tasks sent by our client (Celery.sendTask) are
// run by a real Python Celery worker, and our AsyncResult reads what Python stored.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { Celery, TaskError } from '../../src/index.js';
import { pollUntil, startPythonWorker, type PythonWorker } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';
import { configFromEnv } from './ts/env-config.js';

const { url, token, prefix } = claimRedis('core-python-worker');
const queue = `q-${token}`;
/** Consumed by the worker (-Q), auto-declared on both sides: exchange = routing key = name. */
const altQueue = `q-alt-${token}`;
/** Declared by the Python worker (task_queues) on a direct exchange with its own routing key. */
const routedQueue = `q-routed-${token}`;
const exchange = `ex-${token}`;
const routingKey = `rk-${token}`;

const pyEnv = {
  BROKER_URL: url,
  RESULT_BACKEND: url,
  KEYPREFIX: prefix,
  DEFAULT_QUEUE: queue,
  TASK_QUEUES: JSON.stringify([{ name: routedQueue, exchange, exchange_type: 'direct', routing_key: routingKey }]),
};

let worker: PythonWorker | undefined;
let app: Celery;

before(async () => {
  worker = await startPythonWorker({
    app: 'interop_app',
    queues: [queue, altQueue, routedQueue],
    nodeName: `core-worker-${token}@localhost`,
    env: pyEnv,
  });
  app = new Celery(configFromEnv(pyEnv));
});

after(async () => {
  try {
    await app?.close();
  } finally {
    await worker?.stop();
    const redis = new Redis(url);
    try {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
  }
});

/** A test whose failure message ends with the Python worker's log (what Python saw). */
function interop(name: string, fn: () => Promise<void>): void {
  test(name, async () => {
    try {
      await fn();
    } catch (err) {
      if (err instanceof Error) {
        err.message += `\n--- python worker log (tail) ---\n${worker?.logs().slice(-4000) ?? '(no worker)'}`;
      }
      throw err;
    }
  });
}

interface RequestInfo {
  id: string;
  task: string;
  retries: number;
  eta: string | null;
  expires: string | null;
  root_id: string;
  parent_id: string | null;
  timelimit: [number | null, number | null];
  ignore_result: boolean | null;
  correlation_id: string;
  delivery_info: { exchange: string; routing_key: string; priority: number | null; redelivered: boolean | null };
  headers: Record<string, unknown>;
  /** When the task ran, by the worker's clock (ISO). */
  now: string;
}

const JSON_ARGS: unknown[] = [
  null,
  true,
  false,
  0,
  42,
  -7,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
  1.5,
  -0.25,
  3.141592653589793,
  1e-7,
  6.02e23,
  '',
  'plain ascii',
  'café ☕ naïve Ünïcödé',
  '日本語テキスト',
  'emoji 😀🎉 and non-BMP 𝄞 𠜎',
  'quotes " \\ / and controls \n\t\r\u0001',
  [],
  {},
  [1, [2, [3, []]], { a: [] }],
  { nested: { deeper: { deepest: [1, { x: null, y: [true, false] }] } }, empty: {} },
];

const JSON_KWARGS: Record<string, unknown> = {
  none: null,
  flag: true,
  int: 123456789,
  negative: -1,
  float: 2.5,
  text: 'héllo wörld',
  emoji: '👩‍👩‍👧‍👦',
  list: [1, 'two', 3.5, null, [], {}],
  object: { k: 'v', inner: { n: 1 } },
  emptyList: [],
  emptyObject: {},
  'ключ': 'значение',
  '😀': 'emoji key',
};

interop('args and kwargs of every JSON type come back equal from a Python echo task', async () => {
  const r = await app.sendTask('interop.echo', JSON_ARGS, JSON_KWARGS);
  const value = await r.get({ timeout: 10 });
  assert.deepEqual(value, { args: JSON_ARGS, kwargs: JSON_KWARGS });
});

interop('Python sees ints as int, fractions as float, null as None and strings with their code-point length', async () => {
  const r = await app.sendTask('interop.types', [1, 2.5, null, true, 'a😀𝄞', '日本'], { n: 0, f: 0.5, s: '' });
  assert.deepEqual(await r.get({ timeout: 10 }), {
    args: ['int', 'float', 'None', 'bool', 'str:3', 'str:2'],
    kwargs: { n: 'int', f: 'float', s: 'str:0' },
  });
});

interop('a 1 MB string argument arrives whole', async () => {
  const big = 'x'.repeat(1024 * 1024 - 2) + 'é😀';
  const r = await app.sendTask('interop.payload_size', [big]);
  // Python counts code points: 1 MB - 2 ASCII + é + one non-BMP emoji.
  assert.equal(await r.get({ timeout: 20 }), 1024 * 1024);
});

interop('SUCCESS: value, state, ready/successful/failed, info and forget', async () => {
  const r = await app.sendTask<number>('interop.add', [2, 3]);
  assert.match(r.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(await r.get({ timeout: 10 }), 5);
  assert.equal(await r.state(), 'SUCCESS');
  assert.equal(await r.ready(), true);
  assert.equal(await r.successful(), true);
  assert.equal(await r.failed(), false);
  assert.equal(await r.info(), 5);
  await r.forget();
  assert.equal(await r.state(), 'PENDING');
  assert.equal(await r.ready(), false);
});

interop('SUCCESS values of other JSON shapes (float, string, object, list, null)', async () => {
  const cases: Array<[unknown[], unknown]> = [
    [[0.1, 0.2], 0.1 + 0.2],
    [['ab', 'c😀'], 'abc😀'],
    [[[1, 2], [3]], [1, 2, 3]],
  ];
  const results = await Promise.all(cases.map(([args]) => app.sendTask('interop.add', args)));
  for (const [i, r] of results.entries()) assert.deepEqual(await r.get({ timeout: 10 }), cases[i]![1]);
  const echoed = await app.sendTask('interop.echo', [], {});
  assert.deepEqual(await echoed.get({ timeout: 10 }), { args: [], kwargs: {} });
  const slept = await app.sendTask('interop.sleep', [0]);
  assert.equal(await slept.get({ timeout: 10 }), 0);
});

interop('FAILURE: get() rejects with TaskError ValueError carrying the Python traceback', async () => {
  const message = `boom ${token} ünï`;
  const r = await app.sendTask('interop.fail', [message]);
  const err = await r.get({ timeout: 10 }).then(
    () => assert.fail('get() resolved for a failed task'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof TaskError, `expected TaskError, got ${String(err)}`);
  assert.equal(err.excType, 'ValueError');
  assert.equal(err.excModule, 'builtins');
  assert.deepEqual(err.excArgs, [message]);
  assert.equal(err.state, 'FAILURE');
  assert.ok(err.remoteTraceback, 'a traceback was stored');
  assert.match(err.remoteTraceback, /Traceback \(most recent call last\)/);
  assert.ok(err.remoteTraceback.includes(`ValueError: ${message}`), err.remoteTraceback);
  assert.ok(err.message.includes(message));
  assert.equal(await r.state(), 'FAILURE');
  assert.equal(await r.failed(), true);
  assert.equal(await r.successful(), false);
  assert.equal(await r.ready(), true);
  const info = await r.info();
  assert.ok(info instanceof TaskError && info.excType === 'ValueError');
  // propagate: false resolves with the error instead.
  const resolved = await r.get({ timeout: 5, propagate: false });
  assert.ok(resolved instanceof TaskError);
});

interop('PROGRESS: a custom state and its meta are visible through state()/info() while the task runs', async () => {
  const r = await app.sendTask<number>('interop.progress', [6, 0.4]);
  const seen = await pollUntil(
    'a PROGRESS state',
    async () => ((await r.state()) === 'PROGRESS' ? await r.info() : undefined),
    { timeoutMs: 10_000 },
  );
  assert.deepEqual(Object.keys(seen as object).sort(), ['current', 'total']);
  assert.equal((seen as { total: number }).total, 6);
  const later = await pollUntil(
    'progress to advance',
    async () => {
      const info = (await r.info()) as { current?: number } | null;
      return (await r.state()) === 'PROGRESS' && typeof info?.current === 'number' && info.current >= 2 ? info : undefined;
    },
    { timeoutMs: 10_000 },
  );
  assert.deepEqual(later, { current: (later as { current: number }).current, total: 6 });
  assert.equal(await r.ready(), false);
  assert.equal(await r.get({ timeout: 10 }), 6);
  assert.equal(await r.state(), 'SUCCESS');
});

interop('countdown: Python sees eta ≈ now + countdown and runs the task after it', async () => {
  const before = Date.now();
  const r = await app.sendTask<RequestInfo>('interop.request_info', [], {}, { countdown: 2 });
  const sentBy = Date.now();
  const info = await r.get({ timeout: 15 });
  assert.ok(info.eta, 'the worker got an eta');
  const eta = Date.parse(info.eta);
  assert.ok(eta >= before + 2000 - 5 && eta <= sentBy + 2000 + 5, `eta ${info.eta} not within [${new Date(before + 2000).toISOString()}, ${new Date(sentBy + 2000).toISOString()}]`);
  assert.ok(Date.parse(info.now) >= eta, `ran at ${info.now}, before its eta ${info.eta}`);
  assert.equal(info.id, r.id);
});

interop('eta Date: Python sees the same instant and runs the task after it', async () => {
  const eta = new Date(Date.now() + 1500);
  const r = await app.sendTask<RequestInfo>('interop.request_info', [], {}, { eta });
  const info = await r.get({ timeout: 15 });
  assert.ok(info.eta);
  assert.equal(Date.parse(info.eta), eta.getTime(), `Python saw eta ${info.eta}, we sent ${eta.toISOString()}`);
  assert.ok(Date.parse(info.now) >= eta.getTime(), `ran at ${info.now}, before ${eta.toISOString()}`);
});

interop('expires in the future: Python sees the same instant and runs the task', async () => {
  const before = Date.now();
  const r1 = await app.sendTask<RequestInfo>('interop.request_info', [], {}, { expires: 60 });
  const sentBy = Date.now();
  const at = new Date(Date.now() + 120_000);
  const r2 = await app.sendTask<RequestInfo>('interop.request_info', [], {}, { expires: at });
  const [i1, i2] = [await r1.get({ timeout: 10 }), await r2.get({ timeout: 10 })];
  assert.ok(i1.expires && i2.expires);
  const e1 = Date.parse(i1.expires);
  assert.ok(e1 >= before + 60_000 - 5 && e1 <= sentBy + 60_000 + 5, `expires ${i1.expires}`);
  assert.equal(Date.parse(i2.expires), at.getTime());
});

interop('expires in the past: Python stores REVOKED and get() rejects with TaskRevokedError', async () => {
  const r = await app.sendTask('interop.add', [1, 1], {}, { expires: new Date(Date.now() - 5000) });
  const err = await r.get({ timeout: 10 }).then(
    () => assert.fail('get() resolved for an expired task'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof TaskError, `expected TaskError, got ${String(err)}`);
  assert.equal(err.excType, 'TaskRevokedError');
  assert.equal(err.excModule, 'celery.exceptions');
  assert.deepEqual(err.excArgs, ['expired']);
  assert.equal(err.state, 'REVOKED');
  assert.equal(await r.state(), 'REVOKED');
  assert.equal(await r.ready(), true);
  assert.ok(worker!.logs().includes(`Discarding revoked task: interop.add[${r.id}]`), 'Python discarded it unrun');
});

interop('priority travels to Python delivery_info (and a prioritised message is consumed)', async () => {
  const r7 = await app.sendTask<RequestInfo>('interop.request_info', [], {}, { priority: 7 });
  const r9 = await app.sendTask<RequestInfo>('interop.request_info', [], {}, { priority: 9 });
  const r0 = await app.sendTask<RequestInfo>('interop.request_info', [], {}, { priority: 0 });
  assert.equal((await r7.get({ timeout: 10 })).delivery_info.priority, 7);
  assert.equal((await r9.get({ timeout: 10 })).delivery_info.priority, 9);
  assert.equal((await r0.get({ timeout: 10 })).delivery_info.priority, 0);
});

interop('custom queue: a task sent with queue= reaches the worker consuming that queue', async () => {
  const r = await app.sendTask<RequestInfo>('interop.request_info', [], {}, { queue: altQueue });
  const info = await r.get({ timeout: 10 });
  assert.equal(info.delivery_info.routing_key, altQueue);
  assert.ok(['', altQueue].includes(info.delivery_info.exchange), `exchange ${info.delivery_info.exchange}`);
});

interop('custom exchange + routing key: routed through the binding the Python worker declared', async () => {
  const r = await app.sendTask<RequestInfo>('interop.request_info', [], {}, { exchange, routing_key: routingKey });
  const info = await r.get({ timeout: 10 });
  assert.deepEqual(
    { exchange: info.delivery_info.exchange, routing_key: info.delivery_info.routing_key },
    { exchange, routing_key: routingKey },
  );
});

interop('gzip compression: the Python worker decompresses the body', async () => {
  const text = 'compress me '.repeat(1000) + '😀';
  const r = await app.sendTask('interop.echo', [text, { n: 1 }], { k: 'v' }, { compression: 'gzip' });
  assert.deepEqual(await r.get({ timeout: 10 }), { args: [text, { n: 1 }], kwargs: { k: 'v' } });
});

interop('custom headers, task_id, time limits reach Python', async () => {
  const taskId = `custom-${token}-${Date.now()}`;
  const r = await app.sendTask<RequestInfo>('interop.request_info', ['x-tenant', 'x-attempt', 'x-nested'], {}, {
    task_id: taskId,
    headers: { 'x-tenant': 'acme', 'x-attempt': 3, 'x-nested': { a: [1, 'b'] } },
    time_limit: 30,
    soft_time_limit: 20,
  });
  assert.equal(r.id, taskId);
  const info = await r.get({ timeout: 10 });
  assert.equal(info.id, taskId);
  assert.equal(info.correlation_id, taskId);
  assert.equal(info.root_id, taskId);
  assert.equal(info.parent_id, null);
  assert.equal(info.retries, 0);
  assert.equal(info.task, 'interop.request_info');
  assert.deepEqual(info.headers, { 'x-tenant': 'acme', 'x-attempt': 3, 'x-nested': { a: [1, 'b'] } });
  assert.deepEqual(info.timelimit, [30, 20]);
});

interop('ignore_result: Python runs the task but stores nothing', async () => {
  const ignored = await app.sendTask<RequestInfo>('interop.request_info', [], {}, { ignore_result: true });
  // The solo worker runs messages of one queue in order: once this one is done, so is the first.
  const marker = await app.sendTask('interop.add', [1, 2]);
  assert.equal(await marker.get({ timeout: 10 }), 3);
  await pollUntil('the ignored task to be logged as done', () => worker!.logs().includes(`${ignored.id}] succeeded`), {
    timeoutMs: 5000,
  });
  assert.equal(await ignored.state(), 'PENDING');
});
