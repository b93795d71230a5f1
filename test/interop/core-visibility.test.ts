// Interop of kombu's Redis ack emulation (kombu/transport/redis.py `QoS`): Python and TypeScript
// restore each other's unacked messages once the visibility timeout (2 s on both sides) has passed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { Celery } from '../../src/index.js';
import { parseTaskMessage } from '../../src/protocol/task-message.js';
import { createTransport } from '../../src/transport/index.js';
import type { Delivery, Transport } from '../../src/transport/transport.js';
import { pollUntil, startPythonWorker, type PythonWorker } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';
import { resultKeyprefix } from './ts/env-config.js';

const VISIBILITY_TIMEOUT_S = 2;
const { url, token, prefix } = claimRedis('core-visibility');
const queue = `q-vis-${token}`;
const transportOptions = { global_keyprefix: prefix, visibility_timeout: VISIBILITY_TIMEOUT_S };
const pyEnv = {
  BROKER_URL: url,
  RESULT_BACKEND: url,
  KEYPREFIX: prefix,
  DEFAULT_QUEUE: queue,
  VISIBILITY_TIMEOUT: String(VISIBILITY_TIMEOUT_S),
};

let app: Celery;
let redis: Redis;
const workers: PythonWorker[] = [];
const transports: Transport[] = [];

before(() => {
  app = new Celery({
    broker_url: url,
    result_backend: url,
    broker_transport_options: transportOptions,
    result_backend_transport_options: { global_keyprefix: resultKeyprefix(prefix) },
    task_default_queue: queue,
  });
  redis = new Redis(url);
});

after(async () => {
  try {
    for (const w of workers) w.kill();
    await Promise.all(workers.map((w) => w.exited()));
    await Promise.allSettled(transports.map((t) => t.close()));
    await app?.close();
  } finally {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
});

async function startWorker(tag: string): Promise<PythonWorker> {
  const w = await startPythonWorker({
    app: 'interop_app',
    queues: [queue],
    nodeName: `core-vis-${tag}-${token}@localhost`,
    env: pyEnv,
  });
  workers.push(w);
  return w;
}

function newTransport(): Transport {
  const t = createTransport(url, transportOptions);
  transports.push(t);
  return t;
}

/** The broker bookkeeping as a Python worker sees it (keys carry the global_keyprefix). */
async function bookkeeping() {
  return {
    queued: await redis.llen(`${prefix}${queue}`),
    unacked: await redis.hkeys(`${prefix}unacked`),
    index: await redis.zrange(`${prefix}unacked_index`, 0, -1),
  };
}

/** Waits on the broker's own record: every entry of the unacked index is older than the timeout. */
async function visibilityTimeoutPassed(): Promise<void> {
  const scores = (await redis.zrange(`${prefix}unacked_index`, 0, -1, 'WITHSCORES')).filter((_, i) => i % 2 === 1).map(Number);
  assert.ok(scores.length > 0, 'there are unacked messages to wait for');
  const due = Math.max(...scores) + VISIBILITY_TIMEOUT_S + 0.25;
  await pollUntil('the visibility timeout to pass', () => Date.now() / 1000 > due, { timeoutMs: (VISIBILITY_TIMEOUT_S + 10) * 1000, intervalMs: 50 });
}

test('a Python worker SIGKILLed mid acks_late task: our transport redelivers it after the visibility timeout', async () => {
  const w1 = await startWorker('a');
  const r = await app.sendTask('interop.slow_late', [60, `late-${token}`]);
  try {
    await w1.waitForLog(`interop.slow_late[${r.id}] received`, 10_000);
  } finally {
    w1.kill();
    await w1.exited();
  }
  // Python left it in its unacked hash, nothing is queued.
  const held = await bookkeeping();
  assert.equal(held.queued, 0);
  assert.equal(held.unacked.length, 1, 'the killed worker left one unacked message');
  assert.deepEqual(held.index, held.unacked);
  const fetchedAt = Number(await redis.zscore(`${prefix}unacked_index`, held.unacked[0]!));

  await visibilityTimeoutPassed();
  const transport = newTransport();
  const deliveries: Delivery[] = [];
  const consumer = transport.consume([queue], { prefetch: 1 }, (d) => deliveries.push(d));
  try {
    const delivery = await pollUntil('the restored message to be delivered to our consumer', () => deliveries[0], {
      timeoutMs: 10_000,
    });
    assert.ok(Date.now() / 1000 - fetchedAt >= VISIBILITY_TIMEOUT_S, 'restored only after the visibility timeout');
    const req = parseTaskMessage(delivery.message);
    assert.equal(req.id, r.id);
    assert.equal(req.name, 'interop.slow_late');
    assert.deepEqual(req.args, [60, `late-${token}`]);
    assert.equal(delivery.info.redelivered, true, 'a restored message is marked redelivered');
    assert.equal(delivery.deliveryTag, held.unacked[0], 'kombu keeps the delivery tag on restore');
    await delivery.ack();
  } finally {
    await consumer.cancel();
  }
  assert.equal(deliveries.length, 1);
  const settled = await bookkeeping();
  assert.deepEqual(settled, { queued: 0, unacked: [], index: [] });
});

test('a message left unacked by our consumer is restored and run by a Python worker started after the timeout', async () => {
  const r = await app.sendTask<{ id: string; delivery_info: { redelivered: boolean | null } }>('interop.request_info');
  const transport = newTransport();
  const deliveries: Delivery[] = [];
  const consumer = transport.consume([queue], { prefetch: 1 }, (d) => deliveries.push(d));
  const held = await pollUntil('our consumer to fetch the message', () => deliveries[0], { timeoutMs: 10_000 });
  await consumer.cancel(); // we "die": never ack, never restore
  assert.equal(parseTaskMessage(held.message).id, r.id);

  const ours = await bookkeeping();
  assert.deepEqual(ours, { queued: 0, unacked: [held.deliveryTag], index: [held.deliveryTag] }, 'our fetch is recorded in kombu\'s unacked hash and index');
  const stored = JSON.parse((await redis.hget(`${prefix}unacked`, held.deliveryTag))!) as unknown[];
  assert.ok(Array.isArray(stored) && stored.length === 3, 'unacked value is [envelope, exchange, routing_key]');

  await visibilityTimeoutPassed();
  assert.deepEqual(await bookkeeping(), ours, 'nobody restored it before the Python worker started');

  const w2 = await startWorker('b');
  const info = await r.get({ timeout: 15 });
  assert.equal(info.id, r.id);
  assert.equal(info.delivery_info.redelivered, true);
  assert.equal(await r.state(), 'SUCCESS');
  await w2.stop();
  assert.deepEqual(await bookkeeping(), { queued: 0, unacked: [], index: [] });

  // Our transport still thinks it holds the delivery; closing it must not resurrect a message
  // the Python worker already restored and ran (kombu restores from the hash, which is empty).
  await transport.close();
  assert.deepEqual(await bookkeeping(), { queued: 0, unacked: [], index: [] }, 'closing our transport did not re-publish the message');
});
