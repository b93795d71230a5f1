// Remote control and events on the real Redis, key for key: the pidbox and reply bindings, the
// PUB/SUB channels (with global_keyprefix and the db number), the reply list, and an end-to-end
// inspect between our client and our mailbox.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { ControlClient } from '../../src/control/control-client.js';
import { EventDispatcher } from '../../src/control/events/event-dispatcher.js';
import { EventReceiver } from '../../src/control/events/event-receiver.js';
import type { CeleryEvent } from '../../src/control/events/event.js';
import { Mailbox } from '../../src/control/mailbox.js';
import { RedisTransport } from '../../src/transport/redis/redis-transport.js';
import { idleControlledWorker } from '../helpers/control-fakes.js';
import { claimRedis } from '../helpers/redis.js';

const { db: DB, url, token, prefix } = claimRedis('control-redis');
const SEP = '\x06\x16';
const redis = new Redis(url);
const sniffer = new Redis(url);
const transports: RedisTransport[] = [];

after(async () => {
  for (const t of transports) await t.close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  sniffer.disconnect();
});

function transport(): RedisTransport {
  const t = new RedisTransport(url, { global_keyprefix: prefix });
  transports.push(t);
  return t;
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('pidbox: bindings, channels and reply list as kombu writes them', async () => {
  const node = `ctl-int-${token}@h`;
  const mailbox = new Mailbox({ transport: transport(), worker: idleControlledWorker(node, { registeredTasks: () => [{ name: 'r.add' }] }) });
  await mailbox.start();
  const channels: string[] = [];
  sniffer.on('pmessage', (_p: string, channel: string) => channels.push(channel));
  await sniffer.psubscribe(`${prefix}/${DB}.*`);
  const client = new ControlClient(transport(), { oid: `oid-${token}` });
  try {
    assert.deepEqual(await client.inspect('ping', {}, { destination: [node], timeout: 10 }), { [node]: { ok: 'pong' } });
    assert.ok((await redis.smembers(`${prefix}_kombu.binding.celery.pidbox`)).includes(`${SEP}${SEP}${node}.celery.pidbox`));
    assert.deepEqual(await redis.smembers(`${prefix}_kombu.binding.reply.celery.pidbox`), [`oid-${token}${SEP}${SEP}oid-${token}.reply.celery.pidbox`]);
    await until('the request on the pidbox channel', () => (channels.includes(`${prefix}/${DB}.celery.pidbox`) ? true : undefined));
    assert.equal(await redis.llen(`${prefix}oid-${token}.reply.celery.pidbox`), 0, 'the reply was consumed');
  } finally {
    await client.close();
    await mailbox.close();
    await sniffer.punsubscribe();
  }
});

test('events: /<db>.celeryev/<routing key> channels, task.multi unpacked by our receiver', async () => {
  const t = transport();
  const got: CeleryEvent[] = [];
  const receiver = new EventReceiver({ transport: t, onEvent: (e) => got.push(e) });
  await receiver.start();
  const channels: string[] = [];
  const spy = new Redis(url);
  spy.on('pmessage', (_p: string, channel: string) => channels.push(channel));
  await spy.psubscribe(`${prefix}/${DB}.celeryev/*`);
  const d = new EventDispatcher({ transport: transport(), hostname: `ev-${token}@h`, bufferGroups: ['task'] });
  try {
    d.send('worker-online', { freq: 2 });
    d.send('task-received', { uuid: 'u1' });
    d.send('task-succeeded', { uuid: 'u1', result: '1', runtime: 0.1 });
    await d.flush();
    await until('three events', () => (got.length >= 3 ? true : undefined));
    assert.deepEqual(got.map((e) => e.type).sort(), ['task-received', 'task-succeeded', 'worker-online']);
    await until('both channels', () => (channels.length >= 2 ? true : undefined));
    assert.deepEqual(channels.sort(), [`${prefix}/${DB}.celeryev/task.multi`, `${prefix}/${DB}.celeryev/worker.online`]);
    const members = await redis.smembers(`${prefix}_kombu.binding.celeryev`);
    assert.ok(members.includes(`#${SEP}${SEP}${receiver.queue}`), members.join(','));
  } finally {
    await d.close();
    await receiver.close();
    spy.disconnect();
  }
});
