// Interop, Python producer → TypeScript consumer: messages a real Python Celery producer sends
// (send_task / apply_async / canvas / protocol 1 / routing / special JSON types) are fetched by
// OUR RedisTransport and decoded by parseTaskMessage into the values Python sent.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { parseTaskMessage } from '../../src/protocol/task-message.js';
import { createTransport } from '../../src/transport/index.js';
import type { Delivery, Transport } from '../../src/transport/transport.js';
import { runPython } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';

const { url, token, prefix } = claimRedis('core-python-producer');
const base = `pq-${token}`;
const q = (name: string) => `${base}.${name}`;
const direct = { queue: q('direct'), exchange: `${base}.exd`, key: `${base}.rkd` };
const topic = { queue: q('topic'), exchange: `${base}.ext`, bindingKey: 'orders.#', match: 'orders.eu.created', miss: 'payments.eu' };

interface Sent {
  args: { id: string; args: unknown[]; kwargs: Record<string, unknown> };
  countdown: { id: string; t0: number; t1: number };
  expires_rel: { id: string; t0: number; t1: number };
  expires_abs: { id: string; expires_ms: number };
  eta: Array<{ id: string; eta_ms: number }>;
  priority: Array<{ id: string; priority: number | null }>;
  gzip: { id: string; args: unknown[]; kwargs: Record<string, unknown> };
  link: { id: string; callbacks: SigView[]; errbacks: SigView[] };
  chain: { ids: [string, string, string] };
  group: { group_id: string; ids: string[] };
  chord: { group_id: string; ids: string[]; body_id: string; body_task: string; body_args: unknown[] };
  v1: { id: string; args: unknown[]; kwargs: Record<string, unknown>; t0: number; t1: number };
  direct: { id: string };
  topic: { id: string; missed_id: string };
  special: { id: string };
}
interface SigView {
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  immutable: boolean;
}

let transport: Transport;
let sent: Sent;

before(async () => {
  transport = createTransport(url, { global_keyprefix: prefix });
  // The routing cases go through bindings only WE declared: Python must read our binding table.
  await transport.declareQueue({ name: direct.queue, exchange: direct.exchange, exchangeType: 'direct', routingKey: direct.key });
  await transport.declareQueue({ name: topic.queue, exchange: topic.exchange, exchangeType: 'topic', routingKey: topic.bindingKey });
  const run = await runPython(
    'import produce_core',
    {
      BROKER_URL: url,
      RESULT_BACKEND: url,
      KEYPREFIX: prefix,
      DEFAULT_QUEUE: q('default'),
      CASE_QUEUE_BASE: base,
      DIRECT_EXCHANGE: direct.exchange,
      DIRECT_KEY: direct.key,
      TOPIC_EXCHANGE: topic.exchange,
      TOPIC_MATCH_KEY: topic.match,
      TOPIC_MISS_KEY: topic.miss,
    },
    60_000,
  );
  sent = run.json as Sent;
});

after(async () => {
  try {
    await transport?.close();
  } finally {
    const redis = new Redis(url);
    try {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
  }
});

/** Fetches exactly `n` messages from `queue` one at a time (prefetch 1, acked in order). */
async function take(queue: string, n: number, timeoutMs = 10_000): Promise<Delivery[]> {
  const got: Delivery[] = [];
  let done!: () => void;
  let failed!: (err: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => {
    done = resolve;
    failed = reject;
  });
  const consumer = transport.consume([queue], { prefetch: 1 }, (delivery) => {
    if (got.length >= n) {
      // More than expected: put it back so the assertion below reports the count.
      void delivery.reject({ requeue: true });
      return;
    }
    got.push(delivery);
    delivery.ack().then(() => {
      if (got.length === n) done();
    }, failed);
  });
  const timer = setTimeout(() => failed(new Error(`only ${got.length} of ${n} messages from ${queue} within ${timeoutMs} ms`)), timeoutMs);
  try {
    await finished;
  } finally {
    clearTimeout(timer);
    await consumer.cancel();
  }
  assert.equal(await transport.queueSize(queue), 0, `${queue} holds more messages than expected`);
  return got;
}

async function takeOne(queue: string) {
  const [delivery] = await take(queue, 1);
  return { delivery: delivery!, req: parseTaskMessage(delivery!.message) };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function sigView(s: unknown): SigView {
  const sig = s as { task: string; args: unknown[]; kwargs: Record<string, unknown>; immutable?: boolean };
  return { task: sig.task, args: sig.args, kwargs: sig.kwargs, immutable: Boolean(sig.immutable) };
}

test('send_task with args/kwargs of every JSON type: ids, args, kwargs, defaults', async () => {
  const { delivery, req } = await takeOne(q('args'));
  assert.equal(req.protocol, 2);
  assert.equal(req.id, sent.args.id);
  assert.equal(req.name, 'interop.echo');
  assert.deepEqual(req.args, sent.args.args);
  assert.deepEqual(req.kwargs, sent.args.kwargs);
  assert.equal(req.rootId, sent.args.id);
  assert.equal(req.parentId, null);
  assert.equal(req.retries, 0);
  assert.equal(req.eta, null);
  assert.equal(req.expires, null);
  assert.equal(req.group, null);
  assert.equal(req.embed.callbacks ?? null, null);
  assert.equal(req.embed.errbacks ?? null, null);
  assert.equal(req.embed.chain ?? null, null);
  assert.equal(req.embed.chord ?? null, null);
  assert.equal(delivery.message.properties.correlation_id, sent.args.id);
  assert.equal(delivery.info.routingKey, q('args'));
  assert.equal(delivery.info.redelivered, false);
  assert.match(delivery.deliveryTag, UUID_RE);
});

test('countdown=30 becomes an absolute eta 30 s after the send', async () => {
  const { req } = await takeOne(q('countdown'));
  assert.equal(req.id, sent.countdown.id);
  assert.ok(req.eta instanceof Date, `eta ${String(req.eta)}`);
  const eta = req.eta.getTime();
  assert.ok(eta >= Math.floor(sent.countdown.t0) + 30_000 - 1 && eta <= Math.ceil(sent.countdown.t1) + 30_000 + 1, `eta ${req.eta.toISOString()}`);
});

test('expires: seconds (relative → absolute) and an aware datetime', async () => {
  const [rel, abs] = await take(q('expires'), 2);
  const r1 = parseTaskMessage(rel!.message);
  const r2 = parseTaskMessage(abs!.message);
  assert.equal(r1.id, sent.expires_rel.id);
  assert.ok(r1.expires instanceof Date);
  const e1 = r1.expires.getTime();
  assert.ok(e1 >= Math.floor(sent.expires_rel.t0) + 60_000 - 1 && e1 <= Math.ceil(sent.expires_rel.t1) + 60_000 + 1, `expires ${r1.expires.toISOString()}`);
  assert.equal(r2.id, sent.expires_abs.id);
  assert.ok(r2.expires instanceof Date);
  assert.equal(r2.expires.getTime(), Math.floor(sent.expires_abs.expires_ms));
  assert.equal(r1.eta, null);
});

test('eta datetimes (UTC with microseconds, and a +05:30 offset) decode to the same instants', async () => {
  const deliveries = await take(q('eta'), 2);
  const reqs = deliveries.map((d) => parseTaskMessage(d.message));
  for (const [i, req] of reqs.entries()) {
    assert.equal(req.id, sent.eta[i]!.id);
    assert.ok(req.eta instanceof Date);
    assert.equal(req.eta.getTime(), Math.floor(sent.eta[i]!.eta_ms), `eta ${req.eta.toISOString()}`);
  }
  assert.equal(reqs[0]!.eta!.toISOString(), '2030-01-02T03:04:05.678Z');
  assert.equal(reqs[1]!.eta!.toISOString(), '2030-01-01T21:34:05.000Z');
});

test('priority: values decoded, and served in Redis priority order (lower number first, FIFO within a step)', async () => {
  const deliveries = await take(q('priority'), sent.priority.length);
  const reqs = deliveries.map((d) => parseTaskMessage(d.message));
  const byId = new Map(sent.priority.map((p) => [p.id, p.priority]));
  for (const [i, req] of reqs.entries()) {
    const expected = byId.get(req.id) ?? 0;
    assert.equal(req.priority ?? 0, expected, `priority of ${req.id}`);
    assert.equal(deliveries[i]!.info.priority, expected);
  }
  // Sent 9, 5, 3, 0, none. Steps [0,3,6,9]: 0 and none share the base list (FIFO), 5 and 3
  // share step 3 (FIFO), 9 is last.
  const order = reqs.map((r) => byId.get(r.id));
  assert.deepEqual(order, [0, null, 5, 3, 9]);
});

test('gzip: the zlib-compressed body decodes to the same args/kwargs', async () => {
  const { delivery, req } = await takeOne(q('gzip'));
  assert.equal(delivery.message.headers.compression, 'application/x-gzip');
  assert.equal(req.id, sent.gzip.id);
  assert.deepEqual(req.args, sent.gzip.args);
  assert.deepEqual(req.kwargs, sent.gzip.kwargs);
});

test('link / link_error arrive as signatures in embed.callbacks / embed.errbacks', async () => {
  const { req } = await takeOne(q('link'));
  assert.equal(req.id, sent.link.id);
  assert.deepEqual(req.args, [2, 2]);
  assert.deepEqual((req.embed.callbacks ?? []).map(sigView), sent.link.callbacks);
  assert.deepEqual((req.embed.errbacks ?? []).map(sigView), sent.link.errbacks);
});

test('chain of three: step 1 published, embed.chain holds the rest (last step first) with their ids', async () => {
  const { req } = await takeOne(q('chain'));
  const [id1, id2, id3] = sent.chain.ids;
  assert.equal(req.id, id1);
  assert.equal(req.rootId, id1);
  assert.deepEqual(req.args, [1, 1]);
  const rest = req.embed.chain ?? [];
  assert.equal(rest.length, 2);
  assert.deepEqual(rest.map(sigView), [
    { task: 'interop.add', args: [3], kwargs: {}, immutable: false },
    { task: 'interop.add', args: [2], kwargs: {}, immutable: false },
  ]);
  const ids = rest.map((s) => (s as { options?: { task_id?: string } }).options?.task_id);
  assert.deepEqual(ids, [id3, id2]);
});

test('group of three: shared group id, own ids, group_index 0..2', async () => {
  const deliveries = await take(q('group'), 3);
  const reqs = deliveries.map((d) => parseTaskMessage(d.message));
  assert.deepEqual(reqs.map((r) => r.id).sort(), [...sent.group.ids].sort());
  for (const req of reqs) {
    const i = sent.group.ids.indexOf(req.id);
    assert.equal(req.group, sent.group.group_id);
    assert.equal(req.groupIndex, i);
    assert.deepEqual(req.args, [i, i]);
    assert.equal(req.embed.chord ?? null, null);
  }
});

test('chord header: members share the group id and carry the body signature in embed.chord', async () => {
  const deliveries = await take(q('chord'), 3);
  const reqs = deliveries.map((d) => parseTaskMessage(d.message));
  assert.deepEqual(reqs.map((r) => r.id).sort(), [...sent.chord.ids].sort());
  for (const req of reqs) {
    assert.equal(req.group, sent.chord.group_id);
    const body = req.embed.chord as { task: string; args: unknown[]; options: { task_id?: string } } | null;
    assert.ok(body, 'embed.chord is set');
    assert.equal(body.task, sent.chord.body_task);
    assert.deepEqual(body.args, sent.chord.body_args);
    assert.equal(body.options.task_id, sent.chord.body_id);
  }
  // The body is not published by the producer.
  assert.equal(await transport.queueSize(q('chordbody')), 0);
});

test('protocol 1 (task_protocol=1): decoded from the body with eta/expires', async () => {
  const { delivery, req } = await takeOne(q('v1'));
  assert.equal(delivery.message.headers.task, undefined, 'protocol 1 has no task header');
  assert.equal(req.protocol, 1);
  assert.equal(req.id, sent.v1.id);
  assert.equal(req.name, 'interop.echo');
  assert.deepEqual(req.args, sent.v1.args);
  assert.deepEqual(req.kwargs, sent.v1.kwargs);
  assert.ok(req.eta instanceof Date && req.expires instanceof Date);
  const eta = req.eta.getTime();
  const expires = req.expires.getTime();
  assert.ok(eta >= Math.floor(sent.v1.t0) + 30_000 - 1 && eta <= Math.ceil(sent.v1.t1) + 30_000 + 1, `eta ${req.eta.toISOString()}`);
  assert.ok(expires >= Math.floor(sent.v1.t0) + 60_000 - 1 && expires <= Math.ceil(sent.v1.t1) + 60_000 + 1, `expires ${req.expires.toISOString()}`);
});

test('direct exchange + routing key: Python routes through the binding our transport declared', async () => {
  const { delivery, req } = await takeOne(direct.queue);
  assert.equal(req.id, sent.direct.id);
  assert.equal(delivery.info.exchange, direct.exchange);
  assert.equal(delivery.info.routingKey, direct.key);
});

test('topic exchange: Python matches our topic binding pattern; a non-matching key goes nowhere', async () => {
  const { delivery, req } = await takeOne(topic.queue);
  assert.equal(req.id, sent.topic.id, 'the matching message (not the missed one) arrived');
  assert.notEqual(req.id, sent.topic.missed_id);
  assert.equal(delivery.info.exchange, topic.exchange);
  assert.equal(delivery.info.routingKey, topic.match);
});

test('special JSON types (kombu __type__ tags) decode to JS values, not tag objects', async () => {
  const { req } = await takeOne(q('special'));
  assert.equal(req.id, sent.special.id);
  const [awareDt, naiveDt, d, t, dec, uuid] = req.args;
  assert.ok(awareDt instanceof Date, `aware datetime → Date, got ${JSON.stringify(awareDt)}`);
  assert.equal(awareDt.toISOString(), '2024-05-06T07:08:09.123Z');
  const when = req.kwargs.when;
  assert.ok(when instanceof Date, `kwargs datetime → Date, got ${JSON.stringify(when)}`);
  assert.equal(when.toISOString(), '2030-01-02T08:04:05.000Z');
  // The other types have no exact JS counterpart; whatever the codec chooses must carry the value.
  const text = (v: unknown) => (v instanceof Date ? v.toISOString() : String(v));
  assert.match(text(naiveDt), /^2024-05-06T07:08:09/);
  assert.match(text(d), /^2024-05-06/);
  assert.match(text(t), /^07:08:09/);
  assert.equal(text(dec), '12.50');
  assert.equal(text(uuid), '12345678-1234-5678-1234-567812345678');
  const tagged = JSON.stringify(req.args).includes('__type__') || JSON.stringify(req.kwargs).includes('__type__');
  assert.equal(tagged, false, 'no {"__type__", "__value__"} object survives decoding');
});
