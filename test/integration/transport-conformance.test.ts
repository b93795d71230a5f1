// One conformance suite for every Transport: RedisTransport on a real Redis (db 11, unique key
// prefix) and MemoryTransport must behave the same for everything a worker or producer sees.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Message } from '../../src/protocol/message.js';
import { MemoryTransport } from '../../src/transport/memory.js';
import { RedisTransport } from '../../src/transport/redis/redis-transport.js';
import type { Delivery, Transport, TransportEvent } from '../../src/transport/transport.js';
import { claimRedis } from '../helpers/redis.js';

const { url, token, prefix } = claimRedis('transport-conformance');

interface Impl {
  name: string;
  /** A transport with these broker_transport_options (Redis: sharing this file's key prefix). */
  make(options?: Record<string, unknown>): Transport;
  /** The same broker seen through a fresh transport (after close). */
  reopen(closed: Transport, options?: Record<string, unknown>): Transport;
}

const opened: Transport[] = [];
const impls: Impl[] = [
  {
    name: 'RedisTransport',
    make: (options = {}) => track(new RedisTransport(url, { global_keyprefix: prefix, ...options })),
    reopen: (_closed, options = {}) => track(new RedisTransport(url, { global_keyprefix: prefix, ...options })),
  },
  {
    name: 'MemoryTransport',
    make: (options = {}) => track(new MemoryTransport(options)),
    reopen: (closed) => closed,
  },
];

function track(t: Transport): Transport {
  opened.push(t);
  return t;
}

after(async () => {
  await Promise.allSettled(opened.map((t) => t.close()));
  const { Redis } = await import('ioredis');
  const redis = new Redis(url);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

/** Deadline-bound poll (ref'd timers: the memory transport holds no handle of its own). */
async function pollUntil<T>(what: string, probe: () => T | false | undefined, { timeoutMs = 20_000, intervalMs = 10 } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

let seq = 0;
const q = (name: string) => `${token}.${name}.${++seq}`;

function msg(label: string, priority?: number): Message {
  return {
    body: Buffer.from(JSON.stringify([[label], {}, {}])),
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    headers: { id: label, task: 'conformance.t' },
    properties: { correlation_id: label, delivery_mode: 2, ...(priority === undefined ? {} : { priority }) },
  };
}

const label = (d: Delivery) => String(d.message.headers.id);

/** Consume into an array; returns the consumer and the array. */
function collect(t: Transport, queues: string[], prefetch: number) {
  const got: Delivery[] = [];
  const consumer = t.consume(queues, { prefetch }, (d) => got.push(d));
  const waitFor = (n: number, what = `${n} deliveries`) => pollUntil(what, () => got.length >= n && got, { timeoutMs: 5000, intervalMs: 10 });
  return { consumer, got, waitFor };
}

for (const impl of impls) {
  describe(impl.name, () => {
    test('publish to the default exchange, consume, ack', async () => {
      const t = impl.make();
      const queue = q('basic');
      await t.publish(msg('a'), { exchange: '', routingKey: queue });
      assert.equal(await t.queueSize(queue), 1);
      const { consumer, waitFor } = collect(t, [queue], 1);
      const [d] = await waitFor(1);
      assert.equal(label(d!), 'a');
      assert.deepEqual(JSON.parse(d!.message.body.toString()), [['a'], {}, {}]);
      assert.equal(d!.message.contentType, 'application/json');
      assert.deepEqual(d!.info, { exchange: '', routingKey: queue, queue, redelivered: false, priority: 0 });
      assert.equal(typeof d!.deliveryTag, 'string');
      await d!.ack();
      await d!.ack(); // settling twice is a no-op
      await consumer.cancel();
      assert.equal(await t.queueSize(queue), 0);
    });

    test('reject without requeue drops the message; with requeue it goes to the back, redelivered', async () => {
      const t = impl.make();
      const queue = q('reject');
      for (const l of ['a', 'b', 'c']) await t.publish(msg(l), { exchange: '', routingKey: queue });
      const { consumer, got, waitFor } = collect(t, [queue], 1);
      await waitFor(1);
      await got[0]!.reject({ requeue: false });
      await waitFor(2);
      assert.equal(label(got[1]!), 'b');
      await got[1]!.reject({ requeue: true });
      await waitFor(3);
      await got[2]!.ack();
      await waitFor(4);
      assert.deepEqual(got.map(label), ['a', 'b', 'c', 'b']);
      assert.equal(got[3]!.info.redelivered, true);
      assert.equal(got[3]!.message.headers.redelivered, true);
      await got[3]!.ack();
      await consumer.cancel();
      assert.equal(await t.queueSize(queue), 0);
    });

    test('restore puts the message back at the front', async () => {
      const t = impl.make();
      const queue = q('restore');
      for (const l of ['a', 'b']) await t.publish(msg(l), { exchange: '', routingKey: queue });
      const { consumer, got, waitFor } = collect(t, [queue], 1);
      await waitFor(1);
      await got[0]!.restore();
      await waitFor(2);
      assert.deepEqual(got.map(label), ['a', 'a']);
      assert.equal(got[1]!.info.redelivered, true);
      await got[1]!.ack();
      await waitFor(3);
      assert.equal(label(got[2]!), 'b');
      await got[2]!.ack();
      await consumer.cancel();
    });

    test('priorities: 0 before 3 before 9 with the default steps', async () => {
      const t = impl.make();
      const queue = q('prio');
      for (const [l, p] of [['p9', 9], ['p5', 5], ['none', undefined], ['p0', 0], ['p3', 3], ['p7', 7]] as const) {
        await t.publish(msg(l, p), { exchange: '', routingKey: queue });
      }
      assert.equal(await t.queueSize(queue), 6);
      const { consumer, got, waitFor } = collect(t, [queue], 0);
      await waitFor(6);
      // Within a step FIFO: p5 and p3 share step 3, 'none' and p0 share step 0.
      assert.deepEqual(got.map(label), ['none', 'p0', 'p5', 'p3', 'p7', 'p9']);
      await Promise.all(got.map((d) => d.ack()));
      await consumer.cancel();
    });

    test("priorities with custom steps and sep ':'", async () => {
      const opts = { priority_steps: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], sep: ':', queue_order_strategy: 'priority' };
      const t = impl.make(opts);
      const queue = q('custom');
      for (const p of [5, 9, 0, 2, 1]) await t.publish(msg(`p${p}`, p), { exchange: '', routingKey: queue });
      assert.equal(await t.queueSize(queue), 5);
      const { consumer, got, waitFor } = collect(t, [queue], 0);
      await waitFor(5);
      assert.deepEqual(got.map(label), ['p0', 'p1', 'p2', 'p5', 'p9']);
      await Promise.all(got.map((d) => d.ack()));
      await consumer.cancel();
    });

    test('round robin across two queues', async () => {
      const t = impl.make();
      const [qa, qb] = [q('rr-a'), q('rr-b')];
      for (const i of [1, 2, 3]) {
        await t.publish(msg(`a${i}`), { exchange: '', routingKey: qa });
        await t.publish(msg(`b${i}`), { exchange: '', routingKey: qb });
      }
      const { consumer, got, waitFor } = collect(t, [qa, qb], 0);
      await waitFor(6);
      assert.deepEqual(got.map(label), ['a1', 'b1', 'a2', 'b2', 'a3', 'b3']);
      assert.deepEqual(got.map((d) => d.info.queue), [qa, qb, qa, qb, qa, qb]);
      await Promise.all(got.map((d) => d.ack()));
      await consumer.cancel();
    });

    test('prefetch is never exceeded; raising it lets more through', async () => {
      const t = impl.make();
      const queue = q('prefetch');
      for (let i = 0; i < 6; i++) await t.publish(msg(`m${i}`), { exchange: '', routingKey: queue });
      const { consumer, got, waitFor } = collect(t, [queue], 2);
      await waitFor(2);
      // The rest stayed on the broker: nothing beyond the window was fetched.
      assert.equal(await t.queueSize(queue), 4);
      assert.equal(got.length, 2);
      consumer.setPrefetch(4);
      await waitFor(4);
      assert.equal(await t.queueSize(queue), 2);
      assert.equal(got.length, 4);
      await got[0]!.ack();
      await waitFor(5);
      assert.equal(await t.queueSize(queue), 1);
      assert.equal(got.length, 5);
      assert.deepEqual(got.map(label), ['m0', 'm1', 'm2', 'm3', 'm4']);
      await Promise.all(got.map((d) => d.ack()));
      await waitFor(6);
      await got[5]!.ack();
      await consumer.cancel();
    });

    test('a consumer started on an empty queue receives what is published later', async () => {
      const t = impl.make();
      const queue = q('later');
      const { consumer, got, waitFor } = collect(t, [queue], 1);
      await t.publish(msg('late'), { exchange: '', routingKey: queue });
      await waitFor(1);
      assert.equal(label(got[0]!), 'late');
      await got[0]!.ack();
      await consumer.cancel();
    });

    test('purge and queueSize count every priority level', async () => {
      const t = impl.make();
      const queue = q('purge');
      for (const p of [0, 3, 9]) await t.publish(msg(`p${p}`, p), { exchange: '', routingKey: queue });
      assert.equal(await t.queueSize(queue), 3);
      assert.equal(await t.purge(queue), 3);
      assert.equal(await t.queueSize(queue), 0);
      assert.equal(await t.purge(queue), 0);
    });

    test('named direct and topic exchanges route through declared bindings; unbound is dropped and reported', async () => {
      const t = impl.make();
      const events: TransportEvent[] = [];
      t.onEvent((e) => events.push(e));
      const [dq, tq, ex, tex] = [q('direct'), q('topic'), q('ex'), q('tex')];
      await t.declareQueue({ name: dq, exchange: ex, exchangeType: 'direct', routingKey: 'rk' });
      await t.declareQueue({ name: tq, exchange: tex, exchangeType: 'topic', routingKey: 'reports.*.pdf' });
      await t.publish(msg('direct'), { exchange: ex, routingKey: 'rk' });
      await t.publish(msg('topic'), { exchange: tex, routingKey: 'reports.daily.pdf' });
      await t.publish(msg('no-match'), { exchange: tex, routingKey: 'reports.daily.weekly.pdf' });
      assert.equal(await t.queueSize(dq), 1);
      assert.equal(await t.queueSize(tq), 1);
      assert.deepEqual(
        events.filter((e) => e.type === 'message-dropped').map((e) => e.type === 'message-dropped' && e.reason),
        [`no queue is bound to exchange '${tex}' with routing key 'reports.daily.weekly.pdf'`],
      );
      const { consumer, got, waitFor } = collect(t, [dq, tq], 0);
      await waitFor(2);
      assert.deepEqual(got.map((d) => [label(d), d.info.exchange, d.info.routingKey]).sort(), [
        ['direct', ex, 'rk'],
        ['topic', tex, 'reports.daily.pdf'],
      ]);
      // A requeued message is routed again through its exchange (kombu _do_restore_message).
      const direct = got.find((d) => label(d) === 'direct')!;
      await direct.reject({ requeue: true });
      await waitFor(3);
      assert.equal(got[2]!.info.queue, dq);
      await Promise.all(got.map((d) => d.ack()));
      await consumer.cancel();
    });

    test('fanout: subscribers get messages whose routing key matches their pattern', async () => {
      const t = impl.make();
      const ex = q('fanout');
      const workers: [string, string][] = [];
      const all: string[] = [];
      const s1 = await t.subscribeFanout(ex, 'worker.*', (m, rk) => workers.push([String(m.headers.id), rk]));
      const s2 = await t.subscribeFanout(ex, '#', (_m, rk) => all.push(rk));
      await t.publish(msg('hb'), { exchange: ex, routingKey: 'worker.heartbeat', exchangeType: 'fanout' });
      await t.publish(msg('sent'), { exchange: ex, routingKey: 'task.sent', exchangeType: 'fanout' });
      await pollUntil('both fanout messages', () => all.length >= 2, { timeoutMs: 5000, intervalMs: 10 });
      assert.deepEqual(all.sort(), ['task.sent', 'worker.heartbeat']);
      assert.deepEqual(workers, [['hb', 'worker.heartbeat']]);
      await s1.close();
      await t.publish(msg('hb2'), { exchange: ex, routingKey: 'worker.heartbeat', exchangeType: 'fanout' });
      await pollUntil('the third fanout message', () => all.length >= 3, { timeoutMs: 5000, intervalMs: 10 });
      assert.equal(workers.length, 1, 'a closed subscription receives nothing');
      await s2.close();
    });

    test('close restores unsettled deliveries to the front, in their order', async () => {
      const t = impl.make();
      const queue = q('close');
      for (const l of ['a', 'b', 'c']) await t.publish(msg(l), { exchange: '', routingKey: queue });
      const first = collect(t, [queue], 2);
      await first.waitFor(2);
      await first.consumer.cancel();
      assert.equal(await t.queueSize(queue), 1);
      await t.close();
      const t2 = impl.reopen(t);
      assert.equal(await t2.queueSize(queue), 3);
      const second = collect(t2, [queue], 0);
      await second.waitFor(3);
      assert.deepEqual(second.got.map(label), ['a', 'b', 'c']);
      assert.deepEqual(second.got.map((d) => d.info.redelivered), [true, true, false]);
      await Promise.all(second.got.map((d) => d.ack()));
      await second.consumer.cancel();
    });
  });
}
