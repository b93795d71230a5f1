// Values on the wire: kombu JSON (both generations), ISO times as Python parses them, content
// type rules, compression, exceptions, result meta documents and state precedence.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeBody, encodeBody } from '../../src/protocol/codec.js';
import { jsonDecode, jsonEncode } from '../../src/protocol/codecs/json.js';
import { exceptionRepr, formatTraceback, fromExceptionInfo, toExceptionInfo } from '../../src/protocol/exceptions.js';
import { formatPythonIso, parseIsoTime } from '../../src/protocol/iso-time.js';
import { argsRepr, pythonRepr } from '../../src/protocol/repr.js';
import { buildTaskMeta } from '../../src/protocol/result-meta.js';
import { isReady, statePrecedence } from '../../src/protocol/states.js';
import { ContentDisallowed, NotRegistered, SoftTimeLimitExceeded } from '../../src/errors.js';
import { loadFixture, loadFixtures } from '../helpers/fixtures.js';

test('eta/expires parse as current Celery does (fixture time-iso8601-parsing)', () => {
  for (const folder of ['celery-5.2', 'celery-5.7'] as const) {
    for (const c of loadFixture(folder, 'time-iso8601-parsing').data.cases as { input: string; as_worker_sees_it_utc?: string; other_celery?: { as_worker_sees_it_utc?: string } }[]) {
      // 5.2 read ".678" as 678 µs and dropped "+0530"; we follow ≥5.3.5 (dateutil), which the
      // 5.7 capture records directly and the 5.2 capture records as `other_celery`.
      const expected = folder === 'celery-5.7' ? c.as_worker_sees_it_utc : (c.other_celery?.as_worker_sees_it_utc ?? c.as_worker_sees_it_utc);
      if (!expected) continue;
      assert.equal(parseIsoTime(c.input).getTime(), Math.floor(Date.parse(expected.replace(/(\.\d{3})\d+/, '$1'))), `${folder}: ${c.input}`);
    }
  }
  assert.equal(formatPythonIso(new Date(Date.UTC(2026, 10, 22, 11, 19, 35, 639))), '2026-11-22T11:19:35.639000+00:00');
  assert.equal(formatPythonIso(new Date(Date.UTC(2026, 10, 22, 11, 19, 35))), '2026-11-22T11:19:35+00:00');
  assert.throws(() => parseIsoTime('next tuesday', 'headers.eta'), /headers\.eta: not an ISO-8601 time/);
});

test('kombu ≥5.3 tagged JSON objects are revived; 5.2 plain strings stay strings', () => {
  const tagged = loadFixture('celery-5.7', 'msg-json-special-types').data.messages[0].decoded_body[0] as unknown[];
  const revived = jsonDecode(JSON.stringify(tagged)) as unknown[];
  assert.ok(revived[0] instanceof Date);
  assert.equal((revived[0] as Date).toISOString(), '2024-05-06T07:08:09.123Z');
  assert.ok(revived[1] instanceof Date, 'naive datetime → Date (UTC)');
  assert.deepEqual(revived.slice(2), ['2024-05-06', '07:08:09', '12.50', '12345678-1234-5678-1234-567812345678']);
  const plain = loadFixture('celery-5.2', 'msg-json-special-types').data.messages[0].decoded_body[0] as unknown[];
  assert.deepEqual(jsonDecode(JSON.stringify(plain)), plain);
  assert.throws(() => jsonDecode('{"__type__": "pickle", "__value__": "x"}'), /unsupported JSON type marker/);
});

test('we write Dates as Python ISO strings and bytes in the tagged form', () => {
  const text = jsonEncode({ at: new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 678)), raw: Buffer.from('hi'), bin: Buffer.from([0xff, 0x00]), n: 1n });
  assert.deepEqual(JSON.parse(text), {
    at: '2030-01-02T03:04:05.678000+00:00',
    raw: { __type__: 'bytes', __value__: 'hi' },
    bin: { __type__: 'base64', __value__: '/wA=' },
    n: 1,
  });
  assert.deepEqual(jsonDecode(text), { at: '2030-01-02T03:04:05.678000+00:00', raw: Buffer.from('hi'), bin: Buffer.from([0xff, 0]), n: 1 });
});

test('content types: JSON only; pickle is refused without being decoded', () => {
  const body = encodeBody([[1], {}, null]);
  const msg = { ...body, headers: {}, properties: {} };
  assert.deepEqual(decodeBody(msg), [[1], {}, null]);
  const pickle = { ...msg, contentType: 'application/x-python-serialize', body: Buffer.from([0x80, 0x04]) };
  assert.throws(() => decodeBody(pickle), (e: Error) => e instanceof ContentDisallowed && /pickle/.test(e.message));
  assert.throws(() => decodeBody({ ...msg, contentType: 'application/x-yaml' }), /refusing to deserialize untrusted content of type application\/x-yaml/);
  const brotli = encodeBody({ big: 'x'.repeat(1000) }, { compression: 'brotli' });
  assert.deepEqual(decodeBody({ ...brotli, headers: { compression: brotli.compression }, properties: {} }), { big: 'x'.repeat(1000) });
  assert.throws(() => decodeBody({ ...msg, headers: { compression: 'application/x-bz2' } }), /bzip2\) is not supported/);
});

test('exceptions travel as {exc_type, exc_message, exc_module} with Python names', () => {
  assert.deepEqual(toExceptionInfo(new RangeError('bad')), { exc_type: 'ValueError', exc_message: ['bad'], exc_module: 'builtins' });
  assert.deepEqual(toExceptionInfo(new TypeError('t')), { exc_type: 'TypeError', exc_message: ['t'], exc_module: 'builtins' });
  assert.deepEqual(toExceptionInfo(new Error('e')), { exc_type: 'Exception', exc_message: ['e'], exc_module: 'builtins' });
  assert.deepEqual(toExceptionInfo(new NotRegistered('x.y')), { exc_type: 'NotRegistered', exc_message: ['x.y'], exc_module: 'celery.exceptions' });
  assert.equal(toExceptionInfo(new SoftTimeLimitExceeded('soft')).exc_module, 'celery.exceptions');
  class QuotaExceeded extends Error {
    override name = 'QuotaExceeded';
  }
  assert.deepEqual(toExceptionInfo(new QuotaExceeded('over')), { exc_type: 'QuotaExceeded', exc_message: ['over'], exc_module: 'ts_celery.tasks' });
  assert.equal(exceptionRepr(toExceptionInfo(new RangeError("it's bad"))), `ValueError("it's bad")`);
  const tb = formatTraceback(new RangeError('boom'));
  assert.match(tb, /^Traceback \(most recent call last\):\n/);
  assert.match(tb, /ValueError: boom\n$/);
  for (const folder of ['celery-5.2', 'celery-5.7'] as const) {
    const { value } = loadFixture(folder, 'result-failure').data.result;
    const error = fromExceptionInfo(value.result, value.traceback, value.status);
    assert.equal(error.excType, 'ValueError');
    assert.deepEqual(error.excArgs, ['something bad']);
    assert.match(error.remoteTraceback!, /ValueError: something bad/);
  }
});

test('NotRegistered is stored exactly like Python stores it', () => {
  const { value } = loadFixture('celery-5.7', 'result-unknown-task').data.result;
  const ours = toExceptionInfo(new NotRegistered('wirefx.not_registered'));
  assert.deepEqual(ours, value.result);
});

test('meta documents have Python key order; date_done only when ready', () => {
  for (const f of loadFixtures('result-success').filter((x) => x.name === 'result-success')) {
    const py = f.data.result.value;
    const ours = buildTaskMeta({ taskId: py.task_id, status: 'SUCCESS', result: 5, dateDone: new Date() });
    assert.deepEqual(Object.keys(ours), Object.keys(py), f.folder);
  }
  assert.equal(buildTaskMeta({ taskId: 'x', status: 'PROGRESS', result: {}, dateDone: new Date() }).date_done, null);
  assert.match(String(buildTaskMeta({ taskId: 'x', status: 'FAILURE', result: {}, dateDone: new Date() }).date_done), /\+00:00$/);
  const ext = loadFixture('celery-5.7', 'result-success-extended').data;
  const sample = (ext.results ?? [ext.result])[0].value;
  const oursExt = buildTaskMeta({
    taskId: sample.task_id, status: sample.status, result: sample.result, dateDone: new Date(),
    extended: { name: sample.name, args: sample.args, kwargs: sample.kwargs, worker: sample.worker, retries: sample.retries, queue: sample.queue },
  });
  assert.deepEqual(Object.keys(oursExt).sort(), Object.keys(sample).sort());
});

test('Python repr for argsrepr and logs', () => {
  assert.equal(pythonRepr([1, 'a', null, true, 2.5, { k: [] }]), "[1, 'a', None, True, 2.5, {'k': []}]");
  assert.equal(pythonRepr("it's"), `"it's"`);
  assert.equal(pythonRepr('café ☕\n'), "'café ☕\\n'");
  assert.equal(pythonRepr(1e-7), '1e-07');
  assert.equal(argsRepr(['x'.repeat(2000)]).length, 1024);
});

test('state precedence and readiness follow celery/states.py', () => {
  const order = ['SUCCESS', 'FAILURE', 'PROGRESS', 'REVOKED', 'STARTED', 'RECEIVED', 'REJECTED', 'RETRY', 'PENDING'];
  const sorted = [...order].reverse().sort((a, b) => statePrecedence(a) - statePrecedence(b));
  assert.deepEqual(sorted, order);
  assert.ok(isReady('REVOKED') && !isReady('RETRY') && !isReady('PROGRESS'));
});
