// Events and the control client on the memory transport: event key order and batching as the
// 5.7 fixtures show, the receiver's unpacking/localizing, heartbeats, and client ⇄ mailbox
// round trips (limits, destinations, fire-and-forget, reply-queue binding).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LamportClock } from '../../src/control/clock.js';
import { ControlClient } from '../../src/control/control-client.js';
import { EventDispatcher } from '../../src/control/events/event-dispatcher.js';
import { EventReceiver } from '../../src/control/events/event-receiver.js';
import { type CeleryEvent, adjustTimestamp, softwareInfo } from '../../src/control/events/event.js';
import { WorkerHeartbeat } from '../../src/control/events/worker-heartbeat.js';
import { Mailbox } from '../../src/control/mailbox.js';
import { decodeBody } from '../../src/protocol/codec.js';
import { MemoryTransport } from '../../src/transport/memory.js';
import { idleControlledWorker, recordingTransport } from '../helpers/control-fakes.js';
import { loadFixture } from '../helpers/fixtures.js';

describe('EventDispatcher', () => {
  test('worker events go singly, with the fixture’s key order, headers and routing key', async () => {
    const { transport, published } = recordingTransport();
    const d = new EventDispatcher({ transport, hostname: 'n@h', clock: new LamportClock(10), now: () => 1_795_352_673_255, pid: 42 });
    d.send('worker-heartbeat', { freq: 2, active: 0, processed: 3, loadavg: [0.1, 0, 0], ...softwareInfo('0.1.0') });
    await d.idle();
    const fx = loadFixture('celery-5.7', 'event-worker-heartbeat').data;
    const body = decodeBody(published[0]!.message) as CeleryEvent;
    assert.deepEqual(Object.keys(body), Object.keys(fx.decoded_body));
    assert.equal(body.clock, 11);
    assert.equal(body.timestamp, 1_795_352_673.255);
    assert.deepEqual(Object.keys(published[0]!.message.headers), Object.keys(fx.envelope.headers));
    assert.deepEqual(published[0]!.message.headers, { hostname: 'n@h' });
    assert.deepEqual(published[0]!.message.properties, { delivery_mode: 1 });
    assert.deepEqual(published[0]!.target, { exchange: 'celeryev', routingKey: 'worker.heartbeat', exchangeType: 'fanout', exchangeDeclaration: { type: 'topic', durable: true } });
  });

  test('task events are buffered into one task.multi list on the next tick, keys as captured', async () => {
    const { transport, published } = recordingTransport();
    const d = new EventDispatcher({ transport, hostname: 'n@h', bufferGroups: ['task'] });
    const fx = loadFixture('celery-5.7', 'event-task-succeeded').data;
    for (const captured of fx.decoded_body as CeleryEvent[]) {
      const { hostname, utcoffset, pid, clock, timestamp, type, ...fields } = captured;
      d.send(type, fields);
    }
    assert.equal(published.length, 0, 'nothing before the tick');
    await new Promise((r) => setImmediate(r));
    await d.idle();
    assert.equal(published.length, 1);
    assert.equal(published[0]!.target.routingKey, 'task.multi');
    const list = decodeBody(published[0]!.message) as CeleryEvent[];
    assert.deepEqual(list.map((e) => e.type), ['task-received', 'task-started', 'task-succeeded']);
    list.forEach((e, i) => assert.deepEqual(Object.keys(e), Object.keys(fx.decoded_body[i])));
  });

  test('24 buffered events flush at once; groups filter; disabled sends nothing', async () => {
    const { transport, published } = recordingTransport();
    const d = new EventDispatcher({ transport, hostname: 'n@h', bufferGroups: ['task'], groups: ['worker'] });
    d.send('task-started', { uuid: 'x' });
    assert.equal(published.length, 0);
    d.groups.add('task');
    for (let i = 0; i < 24; i++) d.send('task-started', { uuid: String(i) });
    assert.equal(published.length, 1, 'flushed synchronously at the limit');
    assert.equal((decodeBody(published[0]!.message) as unknown[]).length, 24);
    d.enabled = false;
    d.send('worker-heartbeat');
    await d.close();
    assert.equal(published.length, 1);
  });
});

test('WorkerHeartbeat: online, heartbeat every freq, offline', async () => {
  const { transport, published } = recordingTransport();
  const d = new EventDispatcher({ transport, hostname: 'n@h' });
  let tick: (() => void) | null = null;
  const hb = new WorkerHeartbeat({ dispatcher: d, software: softwareInfo('0.1.0'), counters: () => ({ active: 1, processed: 5 }), setInterval: (fn, ms) => ((tick = fn), assert.equal(ms, 2000), 'h'), clearInterval: (h) => assert.equal(h, 'h') });
  hb.start();
  tick!();
  hb.stop();
  await d.idle();
  const events = published.map((p) => decodeBody(p.message) as CeleryEvent);
  assert.deepEqual(events.map((e) => e.type), ['worker-online', 'worker-heartbeat', 'worker-offline']);
  const fx = loadFixture('celery-5.7', 'event-worker-online').data;
  assert.deepEqual(Object.keys(events[0]!), Object.keys(fx.decoded_body));
  assert.equal(events[1]!.freq, 2);
  assert.equal(events[1]!.processed, 5);
  assert.equal(events[1]!.sw_ident, 'ts-celery');
});

test('EventReceiver: unpacks task.multi, adds local_received, localizes timestamps', async () => {
  const transport = new MemoryTransport();
  const got: CeleryEvent[] = [];
  const receiver = new EventReceiver({ transport, onEvent: (e) => got.push(e), now: () => 5000, here: () => 0 });
  await receiver.start();
  const d = new EventDispatcher({ transport, hostname: 'n@h', bufferGroups: ['task'] });
  d.send('worker-online', { freq: 2 });
  d.send('task-received', { uuid: 'a' });
  d.send('task-succeeded', { uuid: 'a', result: '5' });
  await d.flush();
  const deadline = Date.now() + 20_000;
  while (got.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(got.map((e) => e.type).sort(), ['task-received', 'task-succeeded', 'worker-online']);
  assert.ok(got.every((e) => e.local_received === 5));
  assert.equal(adjustTimestamp(100, 5, 0), 100 - 5 * 3600);
  assert.ok(receiver.clock.value >= 3);
  await receiver.close();
});

describe('ControlClient ⇄ Mailbox (memory transport)', () => {
  test('inspect ping from two nodes, destination limit, fire-and-forget revoke', async () => {
    const transport = new MemoryTransport();
    const a = idleControlledWorker('a@h', { registeredTasks: () => [{ name: 'x.add' }] });
    const b = idleControlledWorker('b@h', { registeredTasks: () => [{ name: 'x.add' }] });
    const boxes = [new Mailbox({ transport, worker: a }), new Mailbox({ transport, worker: b })];
    for (const m of boxes) await m.start();
    const client = new ControlClient(transport);
    try {
      assert.deepEqual(await client.inspect('ping', {}, { timeout: 10, limit: 2 }), { 'a@h': { ok: 'pong' }, 'b@h': { ok: 'pong' } });
      // Without the destination count as the reply limit this would wait out the 30 s timeout.
      const started = Date.now();
      assert.deepEqual(await client.ping({ destination: ['b@h'], timeout: 30 }), [{ 'b@h': { ok: 'pong' } }]);
      assert.ok(Date.now() - started < 15_000, 'the destination count is the reply limit');
      assert.deepEqual(await client.inspect('registered', { taskinfoitems: [] }, { pattern: 'a*', matcher: 'glob', timeout: 10, limit: 1 }), { 'a@h': ['x.add'] });
      assert.deepEqual(await client.revoke('dead'), []);
      const deadline = Date.now() + 20_000;
      while (!(a.revoked.has('dead') && b.revoked.has('dead')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.ok(a.revoked.has('dead') && b.revoked.has('dead'));
      const errors = await client.broadcast('no_such', {}, { reply: true, timeout: 10, limit: 2 });
      const byNode = (r: Record<string, unknown>) => Object.keys(r)[0]!;
      assert.deepEqual(errors.sort((x, y) => byNode(x).localeCompare(byNode(y))), [{ 'a@h': { error: "KeyError('no_such')" } }, { 'b@h': { error: "KeyError('no_such')" } }]);
    } finally {
      await client.close();
      for (const m of boxes) await m.close();
    }
  });

  test('the request body and headers are the ones Python sends', async () => {
    const { transport, published } = recordingTransport();
    const client = new ControlClient(transport, { oid: 'oid-1', now: () => 1_000_000, clock: new LamportClock(1) });
    await client.broadcast('ping', {}, { reply: true, timeout: 0.05 });
    await client.revoke('t1');
    await client.close();
    const fx = loadFixture('celery-5.7', 'pidbox-inspect-ping').data;
    const req = decodeBody(published[0]!.message) as Record<string, unknown>;
    assert.deepEqual(Object.keys(req), Object.keys(fx.requests[0].decoded_body));
    assert.deepEqual(req.reply_to, { exchange: 'reply.celery.pidbox', routing_key: 'oid-1' });
    assert.deepEqual(published[0]!.message.headers, { clock: 2, expires: 1000.05 });
    assert.deepEqual(published[0]!.message.properties, { delivery_mode: 2 });
    assert.deepEqual(published[0]!.target, { exchange: 'celery.pidbox', routingKey: '', exchangeType: 'fanout', exchangeDeclaration: { type: 'fanout', durable: false } });
    const revoke = loadFixture('celery-5.7', 'pidbox-revoke').data;
    assert.deepEqual(decodeBody(published[1]!.message), { ...revoke.requests[0].decoded_body, arguments: { task_id: 't1', terminate: false, signal: 'SIGTERM' } });
  });
});
