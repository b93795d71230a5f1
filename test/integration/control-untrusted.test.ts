// Issue 11 §3 on the real Redis: remote-control input is untrusted. A catastrophic `pcre`
// destination pattern neither hangs nor addresses the worker; a hand-written binding regex in
// the broker's table cannot hang a publisher; add_consumer replies with the error, as kombu's
// pidbox replies to a failing command, and honours exchange / exchange_type / routing_key.
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { Celery } from '../../src/app.js';
import { ControlClient } from '../../src/control/control-client.js';
import { Worker } from '../../src/worker/worker.js';
import { claimRedis } from '../helpers/redis.js';

const claim = claimRedis('control-untrusted');
const { url, token, prefix } = claim;
const SEP = '\x06\x16';
// Long enough that `([\w@.-]+)+#` would backtrack for longer than the test suite runs.
const node = `untrusted-${token}-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@localhost`;
const redis = new Redis(url);
const app = new Celery({
  broker_url: url,
  result_backend: url,
  broker_transport_options: { global_keyprefix: prefix },
  result_backend_transport_options: { global_keyprefix: prefix },
  task_default_queue: `base-${token}`,
});
app.task('ut.add', (a: number, b: number) => a + b);
const worker = new Worker(app, { mingle: false, concurrency: 2, nodeName: node, heartbeat: false });
const client = new ControlClient(app.transport);

after(async () => {
  await client.close();
  await worker.stop();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

test('a catastrophic pcre pattern addresses nobody, costs one bounded match, and the worker keeps answering', async (t) => {
  await worker.start();
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  for (let i = 0; i < 5; i++) {
    const replies = await client.broadcast('ping', {}, { reply: true, timeout: 0.5, pattern: '([\\w@.-]+)+#', matcher: 'pcre' });
    assert.deepEqual(replies, []);
  }
  delay.disable();
  t.diagnostic(`longest event-loop stall over 5 hostile broadcasts: ${(delay.max / 1e6).toFixed(0)} ms`);
  // Legit patterns still address it; an over-long one does not.
  assert.deepEqual(await client.broadcast('ping', {}, { reply: true, timeout: 1, pattern: 'untrusted-.*', matcher: 'pcre' }), [{ [node]: { ok: 'pong' } }]);
  assert.deepEqual(await client.broadcast('ping', {}, { reply: true, timeout: 1, pattern: `untrusted-${token}-*`, matcher: 'glob' }), [{ [node]: { ok: 'pong' } }]);
  assert.deepEqual(await client.broadcast('ping', {}, { reply: true, timeout: 0.5, pattern: `${'.?'.repeat(300)}untrusted`, matcher: 'pcre' }), []);
  assert.equal(await (await app.sendTask('ut.add', [1, 2])).get({ timeout: 10 }), 3);
});

test('add_consumer: the error in the reply; exchange, type and routing key honoured', async () => {
  const bad = await client.broadcast('add_consumer', { queue: `q-${token}`, exchange_type: 'headers' }, { reply: true, timeout: 2, destination: [node] });
  assert.deepEqual(bad, [{ [node]: { error: `ValueError("exchange_type must be direct, topic or fanout, got 'headers'")` } }]);
  const queue = `jobs-${token}`;
  const exchange = `ex-${token}`;
  const ok = await client.broadcast('add_consumer', { queue, exchange, exchange_type: 'topic', routing_key: 'jobs.#' }, { reply: true, timeout: 2, destination: [node] });
  assert.deepEqual(ok, [{ [node]: { ok: `add consumer ${queue}` } }]);
  const active = (await client.inspect('active_queues', {}, { destination: [node], timeout: 2 }))[node] as { name: string; exchange: { name: string; type: string }; routing_key: string }[];
  const added = active.find((q) => q.name === queue)!;
  assert.deepEqual([added.exchange.name, added.exchange.type, added.routing_key], [exchange, 'topic', 'jobs.#']);
  assert.equal(await (await app.sendTask('ut.add', [20, 22], {}, { queue, routing_key: 'jobs.nightly.x' })).get({ timeout: 10 }), 42);

  // Anyone with broker access can write the binding table: a hand-written regex there is not
  // trusted — the row is matched by the pattern kombu derives from its routing key.
  await redis.sadd(`${prefix}_kombu.binding.${exchange}`, ['jobs.#', '^(?:(j|o|b|s|\\.|a)+)+!$', queue].join(SEP));
  assert.equal(await (await app.sendTask('ut.add', [1, 1], {}, { queue, routing_key: `jobs.${'a'.repeat(40)}` })).get({ timeout: 10 }), 2);
});

test('worker_enable_remote_control: false — the worker answers no pidbox command', async () => {
  const quiet = new Celery({ broker_url: url, broker_transport_options: { global_keyprefix: prefix }, task_default_queue: `quiet-${token}`, worker_enable_remote_control: false });
  const quietNode = `quiet-${token}@localhost`;
  const w = new Worker(quiet, { mingle: false, concurrency: 1, nodeName: quietNode, heartbeat: false });
  await w.start();
  try {
    assert.deepEqual(await client.broadcast('ping', {}, { reply: true, timeout: 1, destination: [quietNode] }), []);
  } finally {
    await w.stop();
  }
});
