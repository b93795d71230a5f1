// Redis-specific wire facts of RedisTransport, read back with a plain Redis client: kombu's
// unacked bookkeeping, binding members, global_keyprefix, the visibility sweep, undecodable
// entries, connection drops and the db number (kombu/transport/redis.py `Channel`, `QoS`).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import type { Message } from '../../src/protocol/message.js';
import { RedisTransport } from '../../src/transport/redis/redis-transport.js';
import type { Delivery, TransportEvent } from '../../src/transport/transport.js';
import { claimRedis } from '../helpers/redis.js';

const SEP = '\x06\x16';
const redisClaim = claimRedis('transport-redis');
const { db: DB, url, token, prefix } = redisClaim;
const redis = new Redis(url);
const transports: RedisTransport[] = [];

after(async () => {
  await Promise.allSettled(transports.map((t) => t.close()));
  for (const db of [DB, redisClaim.secondDb]) {
    await redis.select(db);
    const keys = await redis.keys(`*${token}*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  await redis.quit();
});

function open(options: Record<string, unknown> = {}, at = url): RedisTransport {
  const t = new RedisTransport(at, { global_keyprefix: prefix, ...options });
  transports.push(t);
  return t;
}

let seq = 0;
const q = (name: string) => `${token}.${name}.${++seq}`;

function msg(id: string, priority = 0): Message {
  return {
    body: Buffer.from(JSON.stringify([[1], {}, {}])),
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    headers: { id, task: 'wire.t' },
    properties: { correlation_id: id, delivery_mode: 2, priority },
  };
}

async function until<T>(what: string, probe: () => T | false | undefined | Promise<T | false | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function collect(t: RedisTransport, queues: string[], prefetch = 1) {
  const got: Delivery[] = [];
  const consumer = t.consume(queues, { prefetch }, (d) => got.push(d));
  return { consumer, got, waitFor: (n: number) => until(`${n} deliveries`, () => got.length >= n && got) };
}

test("a fetch registers the message exactly as kombu's QoS.append; ack removes it", async () => {
  const t = open();
  const queue = q('unacked');
  await t.publish(msg('m1'), { exchange: '', routingKey: queue });
  const [raw] = await redis.lrange(`${prefix}${queue}`, 0, -1);
  const envelope = JSON.parse(raw!);
  assert.deepEqual(envelope.properties.delivery_info, { exchange: '', routing_key: queue });
  const before = Date.now() / 1000;
  const { consumer, waitFor } = collect(t, [queue]);
  const [d] = await waitFor(1);
  const after = Date.now() / 1000;
  assert.equal(d!.deliveryTag, envelope.properties.delivery_tag);
  const stored = await redis.hget(`${prefix}unacked`, d!.deliveryTag);
  assert.equal(stored, `[${raw}, "", "${queue}"]`);
  assert.deepEqual(JSON.parse(stored!), [envelope, '', queue]);
  const score = Number(await redis.zscore(`${prefix}unacked_index`, d!.deliveryTag));
  assert.ok(score >= before - 0.01 && score <= after + 0.01, `score ${score} is the fetch time in epoch seconds`);
  await d!.ack();
  assert.equal(await redis.hexists(`${prefix}unacked`, d!.deliveryTag), 0);
  assert.equal(await redis.zscore(`${prefix}unacked_index`, d!.deliveryTag), null);
  await consumer.cancel();
});

test('after SCRIPT FLUSH (a restarted or failed-over server) the scripts are loaded again: fetch and ack keep working', async () => {
  const t = open();
  const queue = q('flushed');
  const { consumer, got, waitFor } = collect(t, [queue], 0);
  await t.publish(msg('before'), { exchange: '', routingKey: queue });
  await waitFor(1);
  await got[0]!.ack();
  // Server-wide: any other test's next script call takes the same EVAL fallback.
  await redis.script('FLUSH');
  await t.publish(msg('after'), { exchange: '', routingKey: queue });
  await waitFor(2);
  assert.equal(got[1]!.message.headers.id, 'after');
  assert.equal(await redis.hexists(`${prefix}unacked`, got[1]!.deliveryTag), 1, 'registered by the reloaded fetch script');
  await got[1]!.ack();
  assert.equal(await redis.hexists(`${prefix}unacked`, got[1]!.deliveryTag), 0, 'removed by the reloaded ack script');
  await consumer.cancel();
});

test('binding members are byte-exact; a topic binding written by kombu routes our publish', async () => {
  const t = open();
  const queue = q('celery');
  await t.declareQueue({ name: queue });
  assert.deepEqual(await redis.smembers(`${prefix}_kombu.binding.${queue}`), [`${queue}${SEP}${SEP}${queue}`]);
  assert.deepEqual(await redis.smembers(`${prefix}_kombu.binding_permanent.${queue}`), [`${queue}${SEP}${SEP}${queue}`]);
  const [tq, tex] = [q('topicq'), q('topic')];
  await t.declareQueue({ name: tq, exchange: tex, exchangeType: 'topic', routingKey: 'wirefx.#' });
  assert.deepEqual(await redis.smembers(`${prefix}_kombu.binding.${tex}`), [`wirefx.#${SEP}^wirefx\\..*?$${SEP}${tq}`]);

  // As msg-custom-queue-routing: a member Python wrote, routed by a publisher that knows the type.
  const [pq, pex] = [q('pyq'), q('pytopic')];
  await redis.sadd(`${prefix}_kombu.binding.${pex}`, `wirefx.#${SEP}^wirefx\\..*?$${SEP}${pq}`);
  await t.publish(msg('routed', 5), { exchange: pex, routingKey: 'wirefx.a.b', exchangeType: 'topic' });
  const [raw] = await redis.lrange(`${prefix}${pq}${SEP}3`, 0, -1);
  assert.deepEqual(JSON.parse(raw!).properties.delivery_info, { exchange: pex, routing_key: 'wirefx.a.b' });
});

test('global_keyprefix is on every key and channel we touch', async () => {
  const t = open();
  const [queue, ex] = [q('prefixed'), q('fanex')];
  await t.declareQueue({ name: queue });
  await t.publish(msg('p', 9), { exchange: '', routingKey: queue });
  const { consumer, waitFor } = collect(t, [queue]);
  await waitFor(1);
  const keys = await redis.keys(`*${token}*`);
  assert.ok(keys.length >= 3);
  assert.deepEqual(keys.filter((k) => !k.startsWith(prefix)), []);
  assert.equal(await redis.hlen(`${prefix}unacked`), 1);
  assert.equal(await redis.zcard(`${prefix}unacked_index`), 1);

  const sub = new Redis(url);
  const seen: string[] = [];
  sub.on('pmessage', (_p: string, channel: string) => seen.push(channel));
  await sub.psubscribe(`${prefix}/${DB}.${ex}/*`);
  await t.publish(msg('ev'), { exchange: ex, routingKey: 'task.sent', exchangeType: 'fanout' });
  await until('the prefixed fanout channel', () => seen.length > 0);
  assert.deepEqual(seen, [`${prefix}/${DB}.${ex}/task.sent`]);
  sub.disconnect();
  await consumer.cancel();
  await t.close(); // restores the held message
  assert.equal(await redis.llen(`${prefix}${queue}${SEP}9`), 1);
  assert.equal(await redis.hlen(`${prefix}unacked`), 0);
});

test('visibility sweep: an expired unacked message goes back to the front, flagged redelivered', async () => {
  const events: TransportEvent[] = [];
  const t = open({ visibility_timeout: 1 });
  t.onEvent((e) => events.push(e));
  const queue = q('visibility');
  await t.publish(msg('held'), { exchange: '', routingKey: queue });
  await t.publish(msg('next'), { exchange: '', routingKey: queue });
  const first = collect(t, [queue]);
  const [held] = await first.waitFor(1);
  await first.consumer.cancel(); // a consumer that died without acking

  // Someone else holds the restore lock: the sweep skips, as kombu on MutexHeld.
  await redis.set(`${prefix}unacked_mutex`, 'python-token', 'PX', 5000);
  assert.equal(await t.restoreVisibilityTimedOut(), 0);
  assert.equal(await redis.get(`${prefix}unacked_mutex`), 'python-token');
  await redis.del(`${prefix}unacked_mutex`);

  const restored = await until('the sweep to restore the expired message', async () => (await t.restoreVisibilityTimedOut()) || undefined);
  assert.equal(restored, 1);
  assert.ok(events.some((e) => e.type === 'restored' && e.count === 1));
  assert.equal(await redis.hlen(`${prefix}unacked`), 0);
  assert.equal(await redis.zcard(`${prefix}unacked_index`), 0);
  assert.equal(await redis.exists(`${prefix}unacked_mutex`), 0, 'the lock is released');
  const front = JSON.parse((await redis.lindex(`${prefix}${queue}`, -1))!);
  assert.equal(front.headers.id, 'held');
  assert.equal(front.headers.redelivered, true);
  assert.equal(front.properties.delivery_info.redelivered, true);
  assert.equal(front.properties.delivery_tag, held!.deliveryTag, 'kombu keeps the delivery tag');
});

test('the sweep restores an entry a Python worker left, in kombu 5.7 format', async () => {
  const t = open({ visibility_timeout: 60 });
  const queue = q('pyleft');
  const fx = JSON.parse(readFileSync(new URL('../fixtures/celery-5.7/broker-keys-worker-running.json', import.meta.url), 'utf8'));
  const [tag, value] = Object.entries(fx.broker_keys.unacked.value as Record<string, string>)[0]!;
  const ours = value.replaceAll('"celery"', `"${queue}"`).replaceAll(tag, `${tag}-${token}`);
  await redis.hset(`${prefix}unacked`, `${tag}-${token}`, ours);
  await redis.zadd(`${prefix}unacked_index`, String(Date.now() / 1000 - 120), `${tag}-${token}`);
  assert.equal(await t.restoreVisibilityTimedOut(), 1);
  const [raw] = await redis.lrange(`${prefix}${queue}`, 0, -1);
  const env = JSON.parse(raw!);
  assert.equal(env.headers.task, 'wirefx.retry_once');
  assert.equal(env.headers.redelivered, true);
  assert.equal(env.properties.delivery_info.redelivered, true);
  assert.equal(env.body, JSON.parse(ours)[0].body);
});

test('an undecodable list entry is dropped and reported; the consumer keeps going', async () => {
  const events: TransportEvent[] = [];
  const t = open();
  t.onEvent((e) => events.push(e));
  const queue = q('garbage');
  await redis.lpush(`${prefix}${queue}`, 'not json at all');
  await redis.lpush(`${prefix}${queue}`, '{"properties": {"delivery_tag": "tag-only"}}');
  await t.publish(msg('good'), { exchange: '', routingKey: queue });
  const { consumer, waitFor } = collect(t, [queue]);
  const [d] = await waitFor(1);
  assert.equal(d!.message.headers.id, 'good');
  const dropped = events.filter((e): e is Extract<TransportEvent, { type: 'message-dropped' }> => e.type === 'message-dropped');
  assert.deepEqual(dropped.map((e) => e.raw), ['not json at all', '{"properties": {"delivery_tag": "tag-only"}}']);
  assert.ok(dropped.every((e) => e.reason.includes(queue)));
  await d!.ack();
  await until('unacked to be empty', async () => (await redis.hlen(`${prefix}unacked`)) === 0);
  assert.equal(await redis.zcard(`${prefix}unacked_index`), 0);
  await consumer.cancel();
});

test('after CLIENT KILL of our connections the consumer resumes and receives later messages', async () => {
  const events: TransportEvent['type'][] = [];
  const name = `${token}-kill`;
  const t = open({ client_name: name });
  t.onEvent((e) => events.push(e.type));
  const queue = q('killed');
  const { consumer, got, waitFor } = collect(t, [queue], 0);
  await t.publish(msg('before'), { exchange: '', routingKey: queue });
  await waitFor(1);
  await until('our consumer to block in BRPOP', async () => /cmd=brpop/.test(await clientList(name)));
  const killed = await killClients(name);
  assert.ok(killed >= 2, `killed ${killed} connections`);
  await until('connection-lost and reconnected', () => events.includes('connection-lost') && events.includes('reconnected'));
  await t.publish(msg('after'), { exchange: '', routingKey: queue });
  await waitFor(2);
  assert.deepEqual(got.map((d) => d.message.headers.id), ['before', 'after']);
  await Promise.all(got.map((d) => d.ack()));
  await consumer.cancel();
});

async function clientList(name: string): Promise<string> {
  return (await redisClaim.clientList(redis, name)).join('\n');
}

/** Only this file's connections (named `<token>-…`) can be killed: see claimRedis. */
const killClients = (name: string) => redisClaim.killClients(redis, name);

test('cancel interrupts a BRPOP at once and loses nothing', async () => {
  const name = `${token}-cancel`;
  // BRPOP would block 60 s: a cancel that waited for it could not pass the bound below.
  const t = open({ brpop_timeout: 60, client_name: name });
  const events: TransportEvent[] = [];
  t.onEvent((e) => events.push(e));
  const queue = q('cancel');
  const { consumer, got } = collect(t, [queue]);
  await until('the consumer to block', async () => /cmd=brpop/.test(await clientList(name)));
  const started = Date.now();
  await consumer.cancel();
  assert.ok(Date.now() - started < 20_000, `cancel took ${Date.now() - started} ms`);
  await t.publish(msg('kept'), { exchange: '', routingKey: queue });
  assert.equal(await t.queueSize(queue), 1);
  assert.equal(got.length, 0);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(events, [], 'closing our own connection is not a connection loss');
});

test('the db number of the URL is honoured, for lists and the fanout prefix', async () => {
  const t = open({}, redisClaim.secondUrl);
  const queue = q('second-db');
  await t.publish(msg('x'), { exchange: '', routingKey: queue });
  const second = new Redis(redisClaim.secondUrl);
  try {
    assert.equal(await second.llen(`${prefix}${queue}`), 1);
    assert.equal(await redis.exists(`${prefix}${queue}`), 0);
    assert.equal(t.keys.fanoutPublish('celeryev', 'task.sent'), `${prefix}/${redisClaim.secondDb}.celeryev/task.sent`);
  } finally {
    second.disconnect();
  }
});
