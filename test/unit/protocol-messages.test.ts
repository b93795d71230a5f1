// Task messages against the golden fixtures of both Celery versions: every captured message
// parses, and what we build for the same call equals Python's message field by field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync, inflateSync } from 'node:zlib';
import { decodeBody } from '../../src/protocol/codec.js';
import { decodeRedisEnvelope, encodeRedisEnvelope, markRedelivered } from '../../src/protocol/envelope.js';
import { parseIsoTime } from '../../src/protocol/iso-time.js';
import { argsRepr, kwargsRepr } from '../../src/protocol/repr.js';
import { buildTaskMessage, type NewTask, parseTaskMessage } from '../../src/protocol/task-message.js';
import { type CapturedEnvelope, FIXTURE_VERSIONS, type FixtureFolder, findEnvelopes, loadFixture, loadFixtures } from '../helpers/fixtures.js';

const PY_ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/;
/** Fixtures whose every stored envelope is a task message. */
const TASK_FIXTURES = /^(msg-|retry-|callbacks-|chain-|chord-|broker-keys-|beat-run-|result-group-save)/;

function taskEnvelopes(): { label: string; folder: FixtureFolder; env: CapturedEnvelope }[] {
  return loadFixtures()
    .filter((f) => TASK_FIXTURES.test(f.name))
    .flatMap((f) => findEnvelopes(f).map((env) => ({ label: `${f.folder}/${f.name}:${env.path}`, folder: f.folder, env })));
}

/** The body JSON exactly as Python wrote it (tagged objects left as plain objects). */
function rawBody(env: CapturedEnvelope): unknown {
  const bytes = Buffer.from(env.envelope.body, 'base64');
  return JSON.parse((env.envelope.headers.compression ? inflateSync(bytes) : bytes).toString('utf8'));
}

test('every captured task message of both Celery versions decodes and parses', () => {
  const all = taskEnvelopes();
  for (const folder of FIXTURE_VERSIONS) assert.ok(all.filter((e) => e.folder === folder).length >= 45, `${folder}: too few messages found`);
  for (const { label, env } of all) {
    const { message, deliveryTag, info } = decodeRedisEnvelope(env.raw);
    assert.equal(deliveryTag, env.envelope.properties.delivery_tag, label);
    assert.equal(info.routingKey, env.envelope.properties.delivery_info.routing_key, label);
    const req = parseTaskMessage(message);
    const body = rawBody(env) as unknown[] | Record<string, unknown>;
    if (Array.isArray(body)) {
      assert.equal(req.protocol, 2, label);
      assert.equal(req.id, env.envelope.headers.id, label);
      assert.equal(req.name, env.envelope.headers.task, label);
      assert.equal(JSON.stringify(req.kwargs), JSON.stringify(body[1]), label);
      assert.equal(req.embed.chain?.length ?? null, (body[2] as { chain: unknown[] | null }).chain?.length ?? null, label);
      if (env.envelope.headers.eta) assert.equal(req.eta?.toISOString().slice(0, 23), String(env.envelope.headers.eta).slice(0, 23), label);
    } else {
      assert.equal(req.protocol, 1, label);
      assert.equal(req.id, body.id, label);
    }
  }
});

test('event and pidbox envelopes are refused as task messages with a ProtocolError, never a crash', () => {
  const others = loadFixtures().filter((f) => /^(event-|pidbox-)/.test(f.name)).flatMap(findEnvelopes);
  assert.ok(others.length > 40);
  for (const env of others) {
    const { message } = decodeRedisEnvelope(env.raw);
    if (typeof message.headers.task === 'string') continue; // the task message beside a task-sent event
    assert.throws(() => parseTaskMessage(message), { name: 'ProtocolError' });
  }
});

const STANDARD_HEADERS = new Set(['lang', 'task', 'id', 'shadow', 'eta', 'expires', 'group', 'group_index', 'retries', 'timelimit', 'root_id', 'parent_id', 'argsrepr', 'kwargsrepr', 'origin', 'ignore_result', 'replaced_task_nesting', 'stamped_headers', 'stamps', 'compression']);

const LEAKED_OPTIONS = new Set(['argsrepr', 'kwargsrepr', 'origin', 'replaced_task_nesting']);

/** The call that produced a Python message, as our producer would be asked to make it. */
function callOf(env: CapturedEnvelope): NewTask {
  const h = env.envelope.headers;
  const p = env.envelope.properties;
  const [args, kwargs, embed] = rawBody(env) as [unknown[], Record<string, unknown>, Record<string, never>];
  return {
    id: h.id, task: h.task, args, kwargs,
    eta: h.eta ? parseIsoTime(h.eta) : null, expires: h.expires ? parseIsoTime(h.expires) : null,
    shadow: h.shadow, group: h.group, groupIndex: h.group_index, retries: h.retries,
    timeLimit: h.timelimit[0], softTimeLimit: h.timelimit[1], rootId: h.root_id, parentId: h.parent_id,
    // Python's apply_async args are a tuple, `(1, 2)`; a JS producer has only lists. Checked below.
    argsrepr: h.argsrepr, kwargsrepr: h.kwargsrepr,
    ignoreResult: h.ignore_result ?? undefined, replacedTaskNesting: h.replaced_task_nesting,
    stampedHeaders: h.stamped_headers, stamps: h.stamps,
    callbacks: embed.callbacks, errbacks: embed.errbacks, chain: embed.chain, chord: embed.chord,
    headers: Object.fromEntries(Object.entries(h).filter(([k]) => !STANDARD_HEADERS.has(k))),
    priority: p.priority, replyTo: p.reply_to, origin: h.origin,
    compression: h.compression ? 'gzip' : undefined,
  };
}

test('rebuilding every captured protocol-2 message from its call gives Python\'s message', () => {
  let compared = 0;
  for (const { label, folder, env } of taskEnvelopes()) {
    if (!Array.isArray(rawBody(env)) || env.envelope.headers.redelivered) continue; // v1; restored copies
    const py = env.envelope;
    const target = { exchange: py.properties.delivery_info.exchange, routingKey: py.properties.delivery_info.routing_key, deliveryTag: py.properties.delivery_tag };
    const ours = JSON.parse(encodeRedisEnvelope(buildTaskMessage(callOf(env)), target));
    // 5.2 lacks the ≥5.3 keys; for the pinned version the key set and order must be Python's.
    const keys = Object.keys(py.headers);
    if (folder === 'celery-5.7') assert.deepEqual(Object.keys(ours.headers), keys, `${label}: header keys`);
    for (const key of keys) {
      if (key === 'eta' || key === 'expires') {
        assert.match(String(ours.headers[key] ?? py.headers[key] ?? '2000-01-01T00:00:00+00:00'), PY_ISO, `${label}: ${key}`);
        assert.equal(ours.headers[key]?.slice(0, 23), py.headers[key]?.slice(0, 23), `${label}: ${key}`);
      } else if (key === 'ignore_result' && py.headers[key] === null) {
        assert.equal(ours.headers[key], false, label); // send_task leaves it None; we always say false
      } else {
        assert.deepEqual(ours.headers[key], py.headers[key], `${label}: header ${key}`);
      }
    }
    // Python leaks some apply_async options into the properties (explicit argsrepr/kwargsrepr, and
    // origin/replaced_task_nesting on worker retries); no reader uses them, we do not copy them.
    const leaked = Object.keys(py.properties).filter((k) => !(k in ours.properties));
    assert.ok(leaked.every((k) => LEAKED_OPTIONS.has(k)), `${label}: missing properties ${leaked}`);
    for (const key of Object.keys(ours.properties)) {
      if (key === 'expiration') assert.match(ours.properties[key], /^\d+$/, label);
      else assert.deepEqual(ours.properties[key], py.properties[key], `${label}: property ${key}`);
    }
    assert.deepEqual([ours['content-type'], ours['content-encoding']], [py['content-type'], py['content-encoding']], label);
    assert.deepEqual(rawBody({ ...env, envelope: ours }), rawBody(env), `${label}: body`);
    compared++;
  }
  assert.ok(compared >= 80, `compared only ${compared}`);
});

test('argsrepr/kwargsrepr we compute equal the ones Python wrote (tuples differ only in brackets)', () => {
  let checked = 0;
  for (const { label, env } of taskEnvelopes()) {
    const body = rawBody(env);
    // Skip explicit argsrepr= (it leaks into the properties) and 5.2's non-JSON argument types.
    if (!Array.isArray(body) || 'argsrepr' in env.envelope.properties || /datetime|Decimal|UUID/.test(env.envelope.headers.argsrepr)) continue;
    const [args, kwargs] = body as [unknown[], Record<string, unknown>];
    const h = env.envelope.headers;
    if (h.argsrepr.startsWith('(')) {
      const list = argsRepr(args);
      assert.equal(`(${list.slice(1, -1)}${args.length === 1 ? ',' : ''})`, h.argsrepr, label);
    } else if (h.argsrepr.startsWith('[')) {
      assert.equal(argsRepr(args), h.argsrepr, label);
    } else assert.fail(`${label}: unexpected argsrepr ${h.argsrepr}`);
    if (h.kwargsrepr !== '{}' || Object.keys(kwargs).length === 0) assert.equal(kwargsRepr(kwargs), h.kwargsrepr, label);
    checked++;
  }
  assert.ok(checked >= 60, `checked only ${checked}`);
});

for (const folder of FIXTURE_VERSIONS) {
  const first = (name: string, index = 0) => loadFixture(folder, name).data.messages[index] as CapturedEnvelope & { decoded_body: unknown };

  test(`${folder}: send_task args/kwargs reprs and UUID ids as Python writes them`, () => {
    const py = first('msg-send_task-args-kwargs');
    const ours = buildTaskMessage({ id: py.envelope.headers.id, task: 'wirefx.add', args: [2, 3], kwargs: { note: 'café ☕' }, replyTo: 'r', origin: 'o' });
    assert.equal(ours.headers.argsrepr, '[2, 3]');
    assert.equal(ours.headers.kwargsrepr, "{'note': 'café ☕'}");
    assert.equal(ours.headers.root_id, py.envelope.headers.id);
    assert.deepEqual(decodeBody(ours), py.decoded_body);
  });

  test(`${folder}: expires sets the expiration property (ms until expiry; "0" when past)`, () => {
    const now = new Date(Date.UTC(2030, 0, 1));
    const base = { id: 'i', task: 't', args: [], kwargs: {}, replyTo: 'r', origin: 'o', now };
    assert.equal(buildTaskMessage({ ...base, expires: new Date(now.getTime() + 60_000) }).properties.expiration, '60000');
    assert.equal(buildTaskMessage({ ...base, expires: new Date(now.getTime() - 5_000) }).properties.expiration, '0');
    assert.equal('expiration' in buildTaskMessage(base).properties, false);
    // msg-apply_async-expires: index 1 is `expires=60` (LPUSH: index 0 is the newest message).
    assert.match(String(first('msg-apply_async-expires', 1).envelope.properties.expiration), /^(59\d{3}|60000)$/);
  });

  test(`${folder}: explicit eta is written with six fraction digits and +00:00`, () => {
    const ours = buildTaskMessage({ id: 'i', task: 't', args: [1, 2], kwargs: {}, replyTo: 'r', origin: 'o', eta: new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 678)) });
    assert.equal(ours.headers.eta, '2030-01-02T03:04:05.678000+00:00');
    assert.equal(first('msg-apply_async-eta').envelope.headers.eta, '2030-01-02T03:04:05.678901+00:00');
  });

  test(`${folder}: gzip is a zlib stream (inflate, not gunzip), and we write the same`, () => {
    const req = parseTaskMessage(decodeRedisEnvelope(first('msg-compression-gzip').raw).message);
    assert.deepEqual(req.args, [1, 2]);
    const ours = buildTaskMessage({ id: req.id, task: 'wirefx.add', args: [1, 2], kwargs: {}, compression: 'gzip', replyTo: 'r', origin: 'o' });
    assert.equal(ours.headers.compression, 'application/x-gzip');
    assert.equal(ours.body[0], 0x78, 'zlib header');
    assert.throws(() => gunzipSync(ours.body));
    assert.deepEqual(parseTaskMessage(ours).args, [1, 2]);
  });

  test(`${folder}: chain steps ride in embed.chain, last step first`, () => {
    const req = parseTaskMessage(decodeRedisEnvelope(first('msg-chain-3').raw).message);
    assert.deepEqual(req.args, [1, 1]);
    assert.deepEqual(req.embed.chain?.map((s) => s.args), [[3], [2]]);
  });

  test(`${folder}: protocol 1 becomes the same request as protocol 2 (eta, expires, reprs)`, () => {
    const m = first('msg-protocol-v1');
    const req = parseTaskMessage(decodeRedisEnvelope(m.raw).message);
    const body = m.decoded_body as Record<string, string>;
    assert.equal(req.protocol, 1);
    assert.equal(req.name, 'wirefx.echo');
    assert.deepEqual([req.args, req.kwargs], [[2, 3], { z: 1 }]);
    assert.equal(req.eta?.getTime(), parseIsoTime(body.eta!).getTime());
    assert.equal(req.expires?.getTime(), parseIsoTime(body.expires!).getTime());
    assert.deepEqual([req.argsrepr, req.kwargsrepr], ['[2, 3]', "{'z': 1}"]);
    assert.deepEqual(req.embed, { callbacks: null, errbacks: null, chain: null, chord: null });
  });
}

test('hybrid messages: body fields with the message headers on top; taskset is the group', () => {
  const body = { task: 'x.y', id: 'b-id', args: [1], kwargs: {}, taskset: 'g1', retries: 2, eta: '2030-01-02T03:04:05' };
  const message = { body: Buffer.from(JSON.stringify(body)), contentType: 'application/json', contentEncoding: 'utf-8', headers: { id: 'h-id', 'x-custom': 7 }, properties: {} };
  const req = parseTaskMessage(message);
  assert.deepEqual([req.protocol, req.id, req.name, req.group, req.retries], [1, 'h-id', 'x.y', 'g1', 2]);
  assert.equal(req.eta?.toISOString(), '2030-01-02T03:04:05.000Z');
  assert.equal(req.headers['x-custom'], 7);
});

test('a restored envelope is marked redelivered in headers and delivery_info, nothing else changes', () => {
  for (const folder of FIXTURE_VERSIONS) {
    const raw = (loadFixture(folder, 'msg-send_task-args-kwargs').data.messages[0] as CapturedEnvelope).raw;
    const restored = JSON.parse(markRedelivered(raw));
    const original = JSON.parse(raw);
    assert.equal(restored.headers.redelivered, true);
    assert.equal(restored.properties.delivery_info.redelivered, true);
    delete restored.headers.redelivered;
    delete restored.properties.delivery_info.redelivered;
    assert.deepEqual(restored, original);
    assert.equal(decodeRedisEnvelope(markRedelivered(raw)).info.redelivered, true);
    // Python's own restore (retry-restored-after-shutdown) has the same two flags.
    const py = (loadFixture(folder, 'retry-restored-after-shutdown').data.messages[0] as CapturedEnvelope).envelope;
    assert.deepEqual([py.headers.redelivered, py.properties.delivery_info.redelivered], [true, true]);
  }
  assert.throws(() => markRedelivered('nope'), { name: 'ProtocolError' });
});

test('bad input is a ProtocolError naming the field and the value, never anything else', () => {
  const good = buildTaskMessage({ id: 'x', task: 't', args: [], kwargs: {}, replyTo: 'r', origin: 'o' });
  const cases: [() => unknown, RegExp][] = [
    [() => decodeRedisEnvelope('not json'), /^envelope: not JSON/],
    [() => decodeRedisEnvelope('[1]'), /^envelope: not a JSON object/],
    [() => decodeRedisEnvelope('{"body": 1}'), /^body: must be a string/],
    [() => decodeRedisEnvelope('{"body": "", "properties": {}}'), /^properties\.delivery_tag/],
    [() => decodeRedisEnvelope('{"body": "", "properties": {"delivery_tag": "t", "body_encoding": "rot13"}}'), /^properties\.body_encoding/],
    [() => parseTaskMessage({ ...good, headers: { ...good.headers, id: 42 } }), /^headers\.id: .*\(got 42\)/],
    [() => parseTaskMessage({ ...good, headers: { ...good.headers, task: '' } }), /^headers\.task:/],
    [() => parseTaskMessage({ ...good, headers: { ...good.headers, eta: 'tomorrow' } }), /^headers\.eta: not an ISO-8601 time/],
    [() => parseTaskMessage({ ...good, headers: { ...good.headers, expires: '2030-02-30T00:00:00' } }), /^headers\.expires: not a valid time/],
    [() => parseTaskMessage({ ...good, headers: { ...good.headers, retries: 'x' } }), /^headers\.retries: .*\(got 'x'\)/],
    [() => parseTaskMessage({ ...good, headers: { ...good.headers, timelimit: [1] } }), /^headers\.timelimit/],
    [() => parseTaskMessage({ ...good, body: Buffer.from('[[], [], {}, 4]') }), /^body/],
    [() => parseTaskMessage({ ...good, body: Buffer.from('[{}, {}, {}]') }), /^body\.0:/],
    [() => parseTaskMessage({ ...good, body: Buffer.from('[[], {}, {"callbacks": [1]}]') }), /^body\.2\.callbacks\.0/],
    [() => parseTaskMessage({ ...good, body: Buffer.from('{"nope": 1}'), headers: {} }), /^headers\.task: missing/],
    [() => parseTaskMessage({ ...good, body: Buffer.from('{"args": [], "id": "i"}'), headers: {} }), /^body\.task: must be a non-empty string/],
    [() => parseTaskMessage({ ...good, body: Buffer.from('{"task": "t", "id": "i", "args": "(1,)"}'), headers: {} }), /^body\.args/],
    [() => parseTaskMessage({ ...good, body: Buffer.from('[[], {},') }), /invalid JSON/],
  ];
  for (const [fn, pattern] of cases) {
    assert.throws(fn, (e: Error) => {
      assert.match(e.message, pattern);
      assert.ok(['ProtocolError', 'DecodeError'].includes(e.name), e.name);
      return true;
    });
  }
});
