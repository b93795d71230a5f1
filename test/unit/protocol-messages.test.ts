// Task messages against the golden fixtures of both Celery versions: every captured message
// parses, and what we build for the same call equals Python's message field by field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { decodeRedisEnvelope, encodeRedisEnvelope, markRedelivered } from '../../src/protocol/envelope.js';
import { decodeBody } from '../../src/protocol/codec.js';
import { buildTaskMessage, type NewTask, parseTaskMessage } from '../../src/protocol/task-message.js';
import { type Fixture, loadFixture, loadFixtures } from '../helpers/fixtures.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PY_ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/;

interface Captured {
  redis_key: string;
  raw: string;
  envelope: { headers: Record<string, unknown>; properties: Record<string, unknown>; body: string };
  decoded_body: unknown;
}

function messagesOf(fixture: Fixture): Captured[] {
  return (fixture.data.messages ?? []) as Captured[];
}

/** JSON round trip with revived values turned back into comparable JSON (Dates → ISO). */
const comparable = (v: unknown) => JSON.parse(JSON.stringify(v));

test('every captured task message of both Celery versions decodes and parses', () => {
  const fixtures = loadFixtures().filter((f) => messagesOf(f).length > 0);
  assert.ok(fixtures.length >= 30, `only ${fixtures.length} fixtures with messages`);
  let count = 0;
  for (const fixture of fixtures) {
    for (const m of messagesOf(fixture)) {
      const { message, deliveryTag } = decodeRedisEnvelope(m.raw);
      assert.equal(deliveryTag, m.envelope.properties.delivery_tag);
      if (typeof message.headers.task !== 'string' && !String(m.decoded_body).includes('task')) continue;
      const req = parseTaskMessage(message);
      const label = `${fixture.folder}/${fixture.name}`;
      const body = m.decoded_body as unknown[] | Record<string, unknown>;
      if (Array.isArray(body)) {
        assert.equal(req.protocol, 2, label);
        assert.equal(req.id, m.envelope.headers.id, label);
        if (!fixture.name.includes('special-types')) assert.deepEqual(req.args, body[0], label);
        assert.deepEqual(req.kwargs, body[1], label);
      } else {
        assert.equal(req.protocol, 1, label);
        assert.equal(req.id, body.id, label);
      }
      count++;
    }
  }
  assert.ok(count >= 40, `parsed only ${count} messages`);
});

test('protocol 1 messages become the same request as protocol 2 (taskset, eta, expires, callbacks)', () => {
  for (const folder of ['celery-5.2', 'celery-5.7'] as const) {
    const [m] = messagesOf(loadFixture(folder, 'msg-protocol-v1'));
    const req = parseTaskMessage(decodeRedisEnvelope(m!.raw).message);
    const body = m!.decoded_body as Record<string, string>;
    assert.equal(req.protocol, 1);
    assert.equal(req.name, 'wirefx.echo');
    assert.deepEqual(req.args, [2, 3]);
    assert.deepEqual(req.kwargs, { z: 1 });
    assert.equal(req.eta?.getTime(), Date.parse(body.eta!));
    assert.equal(req.expires?.getTime(), Date.parse(body.expires!));
    assert.deepEqual(req.embed, { callbacks: null, errbacks: null, chain: null, chord: null });
  }
});

/** Build our message for the same call and compare with Python's, field by field. */
function compareWithPython(folder: 'celery-5.2' | 'celery-5.7', name: string, index: number, call: (py: Captured) => Omit<NewTask, 'replyTo' | 'origin'>) {
  const py = messagesOf(loadFixture(folder, name))[index]!;
  const ph = py.envelope.headers;
  const ours = JSON.parse(
    encodeRedisEnvelope(buildTaskMessage({ ...call(py), replyTo: String(py.envelope.properties.reply_to), origin: String(ph.origin) }), {
      exchange: (py.envelope.properties.delivery_info as { exchange: string }).exchange,
      routingKey: (py.envelope.properties.delivery_info as { routing_key: string }).routing_key,
      deliveryTag: String(py.envelope.properties.delivery_tag),
    }),
  ) as Captured['envelope'] & Record<string, unknown>;
  const label = `${folder}/${name}[${index}]`;
  const oh = ours.headers;
  if (folder === 'celery-5.7') assert.deepEqual(Object.keys(oh), Object.keys(ph), `${label}: header keys`);
  for (const key of Object.keys(ph)) {
    if (!(key in oh)) continue; // 5.2 lacks the ≥5.3 keys; checked above for the pinned version
    if (key === 'eta' || key === 'expires') {
      assert.equal(oh[key] === null, ph[key] === null, `${label}: ${key} presence`);
      if (ph[key] !== null) assert.match(String(oh[key]), PY_ISO, `${label}: ${key} format`);
    } else if (key === 'ignore_result' && ph[key] === null) {
      assert.equal(oh[key], false, label); // send_task leaves it None; apply_async writes False
    } else {
      assert.deepEqual(oh[key], ph[key], `${label}: header ${key}`);
    }
  }
  for (const key of ['correlation_id', 'reply_to', 'delivery_mode', 'priority', 'delivery_info', 'body_encoding', 'delivery_tag']) {
    assert.deepEqual(ours.properties[key], py.envelope.properties[key], `${label}: property ${key}`);
  }
  assert.equal('expiration' in ours.properties, 'expiration' in py.envelope.properties, `${label}: expiration presence`);
  assert.equal(ours['content-type'], 'application/json');
  const oursBody = decodeBody(decodeRedisEnvelope(JSON.stringify(ours)).message);
  assert.deepEqual(oursBody, py.decoded_body, `${label}: body`);
  return { ours, py };
}

for (const folder of ['celery-5.2', 'celery-5.7'] as const) {
  test(`${folder}: send_task with args and kwargs`, () => {
    compareWithPython(folder, 'msg-send_task-args-kwargs', 0, (py) => ({ id: String(py.envelope.headers.id), task: 'wirefx.add', args: [2, 3], kwargs: { note: 'café ☕' } }));
  });

  test(`${folder}: countdown becomes an absolute eta; expires sets the expiration property`, () => {
    const { ours } = compareWithPython(folder, 'msg-apply_async-countdown', 0, (py) => ({
      id: String(py.envelope.headers.id),
      task: 'wirefx.add',
      args: [1, 2],
      kwargs: {},
      argsrepr: String(py.envelope.headers.argsrepr),
      eta: new Date(Date.now() + 30_000),
    }));
    assert.match(String(ours.headers.eta), PY_ISO);
    const exp = messagesOf(loadFixture(folder, 'msg-apply_async-expires'));
    const now = new Date();
    // Lists are filled with LPUSH: index 0 is the newest message; [1] is `expires=60`.
    const { ours: withExpiry } = compareWithPython(folder, 'msg-apply_async-expires', 1, (py) => ({
      id: String(py.envelope.headers.id),
      task: 'wirefx.add',
      args: [1, 2],
      kwargs: {},
      argsrepr: String(py.envelope.headers.argsrepr),
      expires: new Date(now.getTime() + 60_000),
      now,
    }));
    assert.equal(withExpiry.properties.expiration, '60000');
    assert.ok(exp.length >= 1);
  });

  test(`${folder}: explicit eta is written with six fraction digits and +00:00`, () => {
    const { ours, py } = compareWithPython(folder, 'msg-apply_async-eta', 0, (p) => ({
      id: String(p.envelope.headers.id),
      task: 'wirefx.add',
      args: [1, 2],
      kwargs: {},
      argsrepr: String(p.envelope.headers.argsrepr),
      eta: new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 678)),
    }));
    assert.equal(ours.headers.eta, '2030-01-02T03:04:05.678000+00:00');
    assert.equal(py.envelope.headers.eta, '2030-01-02T03:04:05.678901+00:00');
  });

  test(`${folder}: shadow, time limits, custom headers, ignore_result, explicit reprs and task id`, () => {
    compareWithPython(folder, 'msg-options', 0, (py) => ({
      id: '00000000-0000-4000-8000-000000000001',
      task: 'wirefx.add',
      args: [1, 2],
      kwargs: {},
      shadow: 'wirefx.add.shadowed',
      timeLimit: 30,
      softTimeLimit: 20,
      headers: { 'x-tenant': 'acme', 'x-attempt': 1 },
      ignoreResult: true,
      argsrepr: String(py.envelope.headers.argsrepr),
      kwargsrepr: '{}',
    }));
  });

  test(`${folder}: priorities travel in the properties`, () => {
    const messages = messagesOf(loadFixture(folder, 'msg-priority'));
    for (const [i, m] of messages.entries()) {
      compareWithPython(folder, 'msg-priority', i, () => ({
        id: String(m.envelope.headers.id),
        task: 'wirefx.add',
        args: (m.decoded_body as unknown[][])[0]!,
        kwargs: {},
        argsrepr: String(m.envelope.headers.argsrepr),
        priority: Number(m.envelope.properties.priority),
      }));
    }
  });

  test(`${folder}: link and link_error signatures ride in the embed`, () => {
    compareWithPython(folder, 'msg-link-link_error', 0, (py) => {
      const embed = (py.decoded_body as [unknown, unknown, { callbacks: never; errbacks: never }])[2];
      return { id: String(py.envelope.headers.id), task: 'wirefx.add', args: [2, 2], kwargs: {}, argsrepr: String(py.envelope.headers.argsrepr), callbacks: embed.callbacks, errbacks: embed.errbacks };
    });
  });

  test(`${folder}: gzip is a zlib stream (inflate, not gunzip), and we write the same`, () => {
    const [m] = messagesOf(loadFixture(folder, 'msg-compression-gzip'));
    const req = parseTaskMessage(decodeRedisEnvelope(m!.raw).message);
    assert.deepEqual(req.args, [1, 2]);
    const ours = buildTaskMessage({ id: req.id, task: 'wirefx.add', args: [1, 2], kwargs: {}, compression: 'gzip', replyTo: 'r', origin: 'o' });
    assert.equal(ours.headers.compression, 'application/x-gzip');
    assert.equal(ours.body[0], 0x78, 'zlib header');
    assert.throws(() => gunzipSync(ours.body));
    assert.deepEqual(parseTaskMessage(ours).args, [1, 2]);
  });
}

test('a restored envelope is marked redelivered in headers and delivery_info, nothing else changes', () => {
  const fx = loadFixture('celery-5.7', 'msg-send_task-args-kwargs');
  const raw = messagesOf(fx)[0]!.raw;
  const restored = JSON.parse(markRedelivered(raw));
  const original = JSON.parse(raw);
  assert.equal(restored.headers.redelivered, true);
  assert.equal(restored.properties.delivery_info.redelivered, true);
  delete restored.headers.redelivered;
  delete restored.properties.delivery_info.redelivered;
  assert.deepEqual(restored, original);
  assert.equal(decodeRedisEnvelope(markRedelivered(raw)).info.redelivered, true);
});

test('bad input is a ProtocolError naming the field, never anything else', () => {
  const good = buildTaskMessage({ id: 'x', task: 't', args: [], kwargs: {}, replyTo: 'r', origin: 'o' });
  const cases: [() => unknown, RegExp][] = [
    [() => decodeRedisEnvelope('not json'), /^envelope: not JSON/],
    [() => decodeRedisEnvelope('[1]'), /^envelope: not a JSON object/],
    [() => decodeRedisEnvelope('{"body": 1}'), /^body: must be a string/],
    [() => decodeRedisEnvelope('{"body": "", "properties": {}}'), /^properties\.delivery_tag/],
    [() => parseTaskMessage({ ...good, headers: { ...good.headers, id: 42 } }), /^headers\.id:/],
    [() => parseTaskMessage({ ...good, headers: { ...good.headers, eta: 'tomorrow' } }), /^headers\.eta: not an ISO-8601 time/],
    [() => parseTaskMessage({ ...good, headers: { ...good.headers, retries: 'x' } }), /^headers\.retries:/],
    [() => parseTaskMessage({ ...good, body: Buffer.from('[[], [], {}, 4]') }), /^body/],
    [() => parseTaskMessage({ ...good, body: Buffer.from('[{}, {}, {}]') }), /^body\.0:/],
    [() => parseTaskMessage({ ...good, body: Buffer.from('{"nope": 1}'), headers: {} }), /^headers\.task: missing/],
    [() => parseTaskMessage({ ...good, body: Buffer.from('[[], {},') }), /invalid JSON/],
  ];
  for (const [fn, pattern] of cases) {
    assert.throws(fn, (e: Error) => {
      assert.match(e.message, pattern);
      assert.ok(['ProtocolError', 'DecodeError'].includes(e.name), e.name);
      return true;
    });
  }
  assert.ok(UUID.test(buildTaskMessage({ id: '7e1d1f8e-1d5e-4b8e-9c7a-0f3f0a1b2c3d', task: 't', args: [], kwargs: {}, replyTo: 'r', origin: 'o' }).headers.id as string));
});
