// deleteQueue (kombu's queue_delete): the binding members and every priority list go away, so
// clients' auto-delete reply queues and a stopped worker's pidbox queue leave nothing behind.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { Celery } from '../../src/app.js';
import { createTransport } from '../../src/transport/index.js';
import { claimRedis } from '../helpers/redis.js';

const { url, prefix } = claimRedis('transport-delete-queue');
const redis = new Redis(url);

after(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

test('deleteQueue removes the binding member (table and permanent set) and the lists', async () => {
  const transport = createTransport(url, { global_keyprefix: prefix });
  try {
    const spec = { name: 'dq', exchange: 'dq-ex', exchangeType: 'direct' as const, routingKey: 'dq-rk' };
    await transport.declareQueue(spec);
    await transport.publish(
      { body: Buffer.from('[[], {}, {}]'), contentType: 'application/json', contentEncoding: 'utf-8', headers: {}, properties: { priority: 9 } },
      { exchange: 'dq-ex', routingKey: 'dq-rk' },
    );
    assert.equal(await transport.queueSize('dq'), 1);
    await transport.deleteQueue(spec);
    assert.equal(await redis.scard(`${prefix}_kombu.binding.dq-ex`), 0);
    assert.equal(await redis.scard(`${prefix}_kombu.binding_permanent.dq-ex`), 0);
    assert.equal(await transport.queueSize('dq'), 0);
  } finally {
    await transport.close();
  }
});

test('a control client leaves no reply-queue binding behind', async () => {
  const app = new Celery({ broker_url: url, broker_transport_options: { global_keyprefix: prefix } });
  try {
    assert.deepEqual(await app.control.ping({ timeout: 0.2, destination: [`nobody-${prefix}@nowhere`] }), []);
  } finally {
    await app.close();
  }
  const members = await redis.smembers(`${prefix}_kombu.binding.reply.celery.pidbox`);
  assert.deepEqual(members.filter((m) => m.includes(app.oid)), []);
});
