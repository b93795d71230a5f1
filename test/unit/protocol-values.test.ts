// Values on the wire: ISO times as Celery parses them, kombu JSON (both generations), content
// type rules, compression, exceptions, result meta documents and state precedence.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ContentDisallowed, DecodeError, NotRegistered, ProtocolError, SoftTimeLimitExceeded, TaskError } from '../../src/errors.js';
import { decodeBody, encodeBody } from '../../src/protocol/codec.js';
import { jsonDecode, jsonEncode } from '../../src/protocol/codecs/json.js';
import { compress, compressionHeader, decompress } from '../../src/protocol/compression.js';
import { exceptionRepr, formatTraceback, fromExceptionInfo, toExceptionInfo } from '../../src/protocol/exceptions.js';
import { formatDateDone, formatPythonIso, parseIsoTime } from '../../src/protocol/iso-time.js';
import type { Message } from '../../src/protocol/message.js';
import { buildTaskMeta, resultTuple } from '../../src/protocol/result-meta.js';
import { ALL_STATES, isReady, READY_STATES, statePrecedence } from '../../src/protocol/states.js';
import { FIXTURE_VERSIONS, loadFixture, loadFixtures } from '../helpers/fixtures.js';

const iso = (d: Date) => formatPythonIso(d);

test('eta/expires parse as current Celery does (fixture time-iso8601-parsing)', () => {
  for (const folder of FIXTURE_VERSIONS) {
    for (const c of loadFixture(folder, 'time-iso8601-parsing').data.cases as { input: string; as_worker_sees_it_utc?: string; other_celery?: { as_worker_sees_it_utc?: string } }[]) {
      // Not copied from 5.2: ".678" read as 678 µs, and "+0530" dropped. We follow ≥5.3.5 (dateutil),
      // which the 5.7 capture records directly and the 5.2 capture records as `other_celery`.
      const expected = folder === 'celery-5.7' ? c.as_worker_sees_it_utc : (c.other_celery?.as_worker_sees_it_utc ?? c.as_worker_sees_it_utc);
      if (!expected) {
        assert.throws(() => parseIsoTime(c.input, 'headers.eta'), /^ProtocolError|headers\.eta: not an ISO-8601 time/);
        continue;
      }
      assert.equal(iso(parseIsoTime(c.input)), expected.replace(/(\.\d{3})\d{3}/, '$1000'), `${folder}: ${c.input}`);
    }
  }
});

test('ISO forms dateutil.isoparse accepts or refuses (outputs computed with Celery 5.7.0)', () => {
  const accepted: [string, string][] = [
    ['2030-02-28T24:00:00', '2030-03-01T00:00:00+00:00'],
    ['20300102T030405', '2030-01-02T03:04:05+00:00'],
    ['20300102', '2030-01-02T00:00:00+00:00'],
    ['2030-01-02T03:04:05.1234567', '2030-01-02T03:04:05.123000+00:00'],
    ['2030-01-02T03:04:05.999999999Z', '2030-01-02T03:04:05.999000+00:00'],
    ['2030-01-02T03:04:05,5', '2030-01-02T03:04:05.500000+00:00'],
    ['2030-01-02T03', '2030-01-02T03:00:00+00:00'],
    ['2030-01-02T0304', '2030-01-02T03:04:00+00:00'],
    ['2030-01-02T03:04:05+05', '2030-01-01T22:04:05+00:00'],
    ['2030-01-02T03:04:05-05:30', '2030-01-02T08:34:05+00:00'],
    ['2030-01-02t03:04:05z', '2030-01-02T03:04:05+00:00'],
    ['2030-01', '2030-01-01T00:00:00+00:00'],
    ['0001-01-01', '0001-01-01T00:00:00+00:00'],
  ];
  for (const [input, expected] of accepted) assert.equal(iso(parseIsoTime(input)), expected, input);
  for (const input of ['2030-02-30', '2030-01-02T23:59:60', '2030-1-2', '2030-13-01', '2030-01-02T03:04:05+24:00', '2030-01-02T03:04:05.Z', '2030-01-02T03:04:05 +00:00']) {
    assert.throws(() => parseIsoTime(input, 'headers.expires'), (e: Error) => e instanceof ProtocolError && e.field === 'headers.expires', input);
  }
  assert.throws(() => parseIsoTime(42 as never), ProtocolError);
  assert.equal(formatPythonIso(new Date(Date.UTC(2026, 10, 22, 11, 19, 35, 639))), '2026-11-22T11:19:35.639000+00:00');
  assert.equal(formatPythonIso(new Date(Date.UTC(2026, 10, 22, 11, 19, 35))), '2026-11-22T11:19:35+00:00');
  assert.equal(formatDateDone(new Date(Date.UTC(2026, 0, 1))), '2026-01-01T00:00:00+00:00');
});

test('kombu ≥5.3 tagged JSON objects are revived; 5.2 plain strings stay strings', () => {
  const tagged = loadFixture('celery-5.7', 'msg-json-special-types').data.messages[0].decoded_body[0] as unknown[];
  const revived = jsonDecode(JSON.stringify(tagged)) as unknown[];
  assert.ok(revived[0] instanceof Date);
  assert.equal((revived[0] as Date).toISOString(), '2024-05-06T07:08:09.123Z');
  assert.equal((revived[1] as Date).toISOString(), '2024-05-06T07:08:09.000Z', 'naive datetime → UTC');
  assert.deepEqual(revived.slice(2), ['2024-05-06', '07:08:09', '12.50', '12345678-1234-5678-1234-567812345678']);
  const plain = loadFixture('celery-5.2', 'msg-json-special-types').data.messages[0].decoded_body[0] as unknown[];
  assert.deepEqual(jsonDecode(JSON.stringify(plain)), plain);
  assert.equal((jsonDecode('{"__type__": "datetime", "__value__": "2024-05-06T12:38:09+05:30"}') as Date).toISOString(), '2024-05-06T07:08:09.000Z');
  assert.equal(jsonDecode('{"__type__": "uuid", "__value__": {"hex": "12345678123456781234567812345678"}}'), '12345678-1234-5678-1234-567812345678');
  // Only objects with exactly the two keys are markers (kombu's object_hook).
  assert.deepEqual(jsonDecode('{"__type__": "x", "__value__": 1, "more": 2}'), { __type__: 'x', __value__: 1, more: 2 });
  for (const bad of ['{"__type__": "pickle", "__value__": "x"}', '{"__type__": "uuid", "__value__": {"hex": "zz"}}', '{"__type__": "datetime", "__value__": "soon"}']) {
    assert.throws(() => jsonDecode(bad), DecodeError, bad);
  }
  const deep = `${'['.repeat(200_000)}{"__type__": "bytes", "__value__": ""}${']'.repeat(200_000)}`;
  assert.throws(() => jsonDecode(deep), DecodeError);
});

test('we write Dates as Python ISO strings and bytes in the tagged form; bigints as JSON integers', () => {
  const text = jsonEncode({ at: new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 678)), raw: Buffer.from('hi'), bin: Buffer.from([0xff, 0x00]), n: 1n });
  assert.deepEqual(JSON.parse(text), {
    at: '2030-01-02T03:04:05.678000+00:00',
    raw: { __type__: 'bytes', __value__: 'hi' },
    bin: { __type__: 'base64', __value__: '/wA=' },
    n: 1,
  });
  assert.deepEqual(jsonDecode(text), { at: '2030-01-02T03:04:05.678000+00:00', raw: Buffer.from('hi'), bin: Buffer.from([0xff, 0]), n: 1 });
  assert.equal(jsonEncode({ n: 2n ** 64n, m: [-(2n ** 70n), 5n], s: 'bigint:x:1' }), '{"n":18446744073709551616,"m":[-1180591620717411303424,5],"s":"bigint:x:1"}');
  assert.equal(jsonEncode(undefined), 'null');
});

const message = (body: Buffer, over: Partial<Message> = {}): Message => ({ body, contentType: 'application/json', contentEncoding: 'utf-8', headers: {}, properties: {}, ...over });

test('content types: JSON only; pickle is refused without being decoded', () => {
  const encoded = encodeBody([[1], {}, null]);
  assert.deepEqual(encoded.contentType, 'application/json');
  assert.deepEqual(decodeBody(message(encoded.body)), [[1], {}, null]);
  assert.deepEqual(decodeBody(message(encoded.body), ['application/json']), [[1], {}, null]);
  // Bytes that would make any decoder fail: the refusal must come before decoding.
  const pickle = message(Buffer.from([0x80, 0x04, 0xff]), { contentType: 'application/x-python-serialize' });
  for (const accept of [['json'], ['json', 'pickle'], ['application/x-python-serialize']]) {
    assert.throws(() => decodeBody(pickle, accept), (e: Error) => e instanceof ContentDisallowed && /^refusing to deserialize pickle/.test(e.message));
  }
  assert.throws(() => decodeBody(message(encoded.body, { contentType: 'application/x-yaml' })), /refusing to deserialize untrusted content of type application\/x-yaml/);
  assert.throws(() => decodeBody(message(encoded.body, { contentType: 'application/x-yaml' }), ['yaml']), /no decoder for content type application\/x-yaml/);
  assert.throws(() => decodeBody(message(Buffer.from('{"a":'))), (e: Error) => e instanceof DecodeError && /invalid JSON/.test(e.message));
});

test('compression: zlib/brotli round trips; bzip2, lzma and zstd refused by name', () => {
  const data = Buffer.from(JSON.stringify({ big: 'x'.repeat(1000) }));
  for (const alias of ['gzip', 'zlib', 'brotli', 'application/x-gzip']) {
    const header = compressionHeader(alias);
    assert.deepEqual(decompress(compress(data, alias), header), data, alias);
  }
  assert.equal(compressionHeader('zlib'), 'application/x-gzip');
  const brotli = encodeBody({ big: 'x'.repeat(1000) }, { compression: 'brotli' });
  assert.equal(brotli.compression, 'application/x-brotli');
  assert.deepEqual(decodeBody(message(brotli.body, { headers: { compression: brotli.compression } })), { big: 'x'.repeat(1000) });
  for (const [name, label] of [['bzip2', 'bzip2'], ['application/x-bz2', 'bzip2'], ['xz', 'lzma'], ['application/x-lzma', 'lzma'], ['zstd', 'zstd'], ['application/zstd', 'zstd']]) {
    assert.throws(() => decompress(data, name!), (e: Error) => e instanceof ContentDisallowed && e.message.includes(`compression ${label}`), name);
    assert.throws(() => compress(data, name!), ContentDisallowed, name);
  }
  assert.throws(() => compressionHeader('snappy'), /unknown compression "snappy"/);
  assert.throws(() => decompress(Buffer.from('not deflate'), 'application/x-gzip'), DecodeError);
});

test('exceptions travel as {exc_type, exc_message, exc_module} with names Python can load', () => {
  const info = (e: unknown) => toExceptionInfo(e);
  assert.deepEqual(info(new RangeError('bad')), { exc_type: 'ValueError', exc_message: ['bad'], exc_module: 'builtins' });
  assert.deepEqual(info(new TypeError('t')), { exc_type: 'TypeError', exc_message: ['t'], exc_module: 'builtins' });
  assert.deepEqual(info(new Error('e')), { exc_type: 'Exception', exc_message: ['e'], exc_module: 'builtins' });
  assert.deepEqual(info(new NotRegistered('x.y')), { exc_type: 'NotRegistered', exc_message: ['x.y'], exc_module: 'celery.exceptions' });
  // billiard's classes (celery.exceptions re-exports them), with the args billiard gives them.
  assert.deepEqual(info(new SoftTimeLimitExceeded('soft')), { exc_type: 'SoftTimeLimitExceeded', exc_message: [], exc_module: 'billiard.exceptions' });
  class QuotaExceeded extends Error {
    override name = 'QuotaExceeded';
  }
  class Unnamed extends Error {}
  class ValueError extends Error {
    override name = 'ValueError';
  }
  assert.deepEqual(info(new QuotaExceeded('over')), { exc_type: 'QuotaExceeded', exc_message: ['over'], exc_module: 'ts_celery.tasks' });
  assert.deepEqual(info(new Unnamed('u')), { exc_type: 'Unnamed', exc_message: ['u'], exc_module: 'ts_celery.tasks' });
  assert.deepEqual(info(new ValueError('v')), { exc_type: 'ValueError', exc_message: ['v'], exc_module: 'builtins' });
  assert.deepEqual(info('plain string'), { exc_type: 'Exception', exc_message: ['plain string'], exc_module: 'builtins' });
  assert.deepEqual(info({ code: 7 }), { exc_type: 'Exception', exc_message: ["{'code': 7}"], exc_module: 'builtins' });
  const remote = new TaskError('KeyError', 'builtins', ['k'], null, 'FAILURE');
  assert.deepEqual(info(remote), { exc_type: 'KeyError', exc_message: ['k'], exc_module: 'builtins' }, 're-raised remote errors keep their type');
  assert.equal(exceptionRepr(info(new RangeError("it's bad"))), `ValueError("it's bad")`);
  assert.equal(exceptionRepr({ exc_type: 'KeyError', exc_message: ['k', 1], exc_module: 'builtins' }), "KeyError('k', 1)");
});

test('tracebacks read like Python\'s: outermost frame first, then "Type: message"', () => {
  function inner() {
    return new RangeError('boom');
  }
  const tb = formatTraceback(inner());
  assert.match(tb, /^Traceback \(most recent call last\):\n/);
  assert.match(tb, /ValueError: boom\n$/);
  const frames = tb.split('\n').filter((l) => l.startsWith('  at '));
  assert.ok(frames.length > 1 && frames.at(-1)!.includes('inner'), 'innermost frame last');
  assert.equal(formatTraceback(new Error('')).trimEnd().split('\n').at(-1), 'Exception');
  assert.equal(formatTraceback('thrown text'), 'Traceback (most recent call last):\nException: thrown text\n');
});

test('stored exceptions come back as TaskError, tolerating odd shapes', () => {
  for (const folder of FIXTURE_VERSIONS) {
    const failure = loadFixture(folder, 'result-failure').data.result.value;
    const error = fromExceptionInfo(failure.result, failure.traceback, failure.status);
    assert.deepEqual([error.excType, error.excModule, error.excArgs, error.state], ['ValueError', 'builtins', ['something bad'], 'FAILURE']);
    assert.match(error.remoteTraceback!, /ValueError: something bad/);
    const retry = loadFixture(folder, 'result-retry').data.result.value;
    assert.equal(fromExceptionInfo(retry.result, retry.traceback, retry.status).excType, 'RuntimeError');
    const revoked = loadFixture(folder, 'result-revoked-and-expired').data.expired.value;
    assert.deepEqual(fromExceptionInfo(revoked.result, revoked.traceback, revoked.status).excArgs, ['expired']);
  }
  assert.deepEqual(fromExceptionInfo({ exc_type: null, exc_message: 'one' }, 5 as never, 'FAILURE'), new TaskError('Exception', 'builtins', ['one'], null, 'FAILURE'));
  assert.deepEqual(fromExceptionInfo('weird', null, 'FAILURE').excArgs, ['weird']);
  assert.deepEqual(fromExceptionInfo(null, null, 'REVOKED').excArgs, []);
});

test('NotRegistered and TaskRevokedError are stored exactly like Python stores them', () => {
  for (const folder of FIXTURE_VERSIONS) {
    assert.deepEqual(toExceptionInfo(new NotRegistered('wirefx.not_registered')), loadFixture(folder, 'result-unknown-task').data.result.value.result);
  }
});

/** Every task meta document in the fixtures (results, chord header results, group members …). */
function storedMetas(): { label: string; meta: Record<string, unknown> }[] {
  const found: { label: string; meta: Record<string, unknown> }[] = [];
  const visit = (value: unknown, label: string) => {
    if (Array.isArray(value)) value.forEach((v, i) => visit(v, `${label}.${i}`));
    else if (value !== null && typeof value === 'object') {
      const obj = value as Record<string, unknown>;
      if ('status' in obj && 'task_id' in obj && 'date_done' in obj) found.push({ label, meta: obj });
      else for (const [k, v] of Object.entries(obj)) visit(v, `${label}.${k}`);
    }
  };
  for (const f of loadFixtures()) visit(f.data, `${f.folder}/${f.name}`);
  return found;
}

test('every stored meta document is what buildTaskMeta writes: same keys in the same order', () => {
  const metas = storedMetas();
  assert.ok(metas.length >= 30, `found only ${metas.length}`);
  for (const { label, meta } of metas) {
    const extended = 'worker' in meta ? (meta as never as { name: string; args: unknown[]; kwargs: Record<string, unknown>; worker: string; retries: number; queue: string }) : undefined;
    const ours = buildTaskMeta({
      taskId: meta.task_id as string, status: meta.status as string, result: meta.result, traceback: meta.traceback as string | null,
      children: (meta.children ?? []) as never, dateDone: meta.date_done ? parseIsoTime(meta.date_done as string) : null,
      groupId: meta.group_id as string | undefined, parentId: meta.parent_id as string | undefined, extended,
    });
    assert.deepEqual(Object.keys(ours), Object.keys(meta), `${label}: key order`);
    if (meta.date_done) assert.equal((ours.date_done as string).slice(0, 23), (meta.date_done as string).slice(0, 23), `${label}: date_done`);
    else assert.equal(ours.date_done, null, label);
  }
  assert.equal(buildTaskMeta({ taskId: 'x', status: 'PROGRESS', result: {}, dateDone: new Date() }).date_done, null);
  assert.match(String(buildTaskMeta({ taskId: 'x', status: 'FAILURE', result: {}, dateDone: new Date() }).date_done), /\+00:00$/);
  assert.deepEqual(resultTuple('a', resultTuple('p')), [['a', [['p', null], null]], null]);
});

test('state precedence and readiness follow celery/states.py', () => {
  const order = ['SUCCESS', 'FAILURE', 'PROGRESS', 'REVOKED', 'STARTED', 'RECEIVED', 'REJECTED', 'RETRY', 'PENDING'];
  const sorted = [...order].reverse().sort((a, b) => statePrecedence(a) - statePrecedence(b));
  assert.deepEqual(sorted, order);
  assert.equal(statePrecedence('PROGRESS'), statePrecedence('ANY_CUSTOM'));
  assert.ok(isReady('REVOKED') && !isReady('RETRY') && !isReady('PROGRESS'));
  assert.deepEqual([...READY_STATES].sort(), ['FAILURE', 'REVOKED', 'SUCCESS']);
  assert.equal(ALL_STATES.size, 7);
  assert.ok(!ALL_STATES.has('REJECTED') && !ALL_STATES.has('IGNORED'));
});

test('integers beyond 2^53 decode as exact bigints, everything else as before', () => {
  // What Python's json.dumps writes for [2**60 + 1, -(2**53 + 1), 2**53 - 1, 1.0, 1e300, "…"].
  const text = '[[1152921504606846977, -9007199254740993, 9007199254740991, 1.0, 1e+300, 12345678901234567890.5, "12345678901234567890"], {"id": 18446744073709551615}]';
  assert.deepEqual(jsonDecode(text), [[1152921504606846977n, -9007199254740993n, 9007199254740991, 1, 1e300, 12345678901234567890.5, '12345678901234567890'], { id: 18446744073709551615n }]);
  assert.equal(jsonEncode(jsonDecode(text)), '[[1152921504606846977,-9007199254740993,9007199254740991,1,1e+300,12345678901234567000,"12345678901234567890"],{"id":18446744073709551615}]');
  // 2^53 itself is not safe (2^53 + 1 reads as the same number).
  assert.equal(jsonDecode('9007199254740992'), 9007199254740992n);
  // Escaped quotes in strings do not confuse the scan; tagged objects still revive.
  assert.deepEqual(jsonDecode('["a\\"b 99999999999999999999", 99999999999999999999, {"__type__": "bytes", "__value__": "x"}]'), ['a"b 99999999999999999999', 99999999999999999999n, Buffer.from('x')]);
  assert.throws(() => jsonDecode('[99999999999999999999'), DecodeError);
});
