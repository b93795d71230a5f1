// Issue 16 "hostile input", the decoding half (the worker half runs against the real Redis in
// test/integration/worker-hostile-input.test.ts): invalid UTF-8 fails as kombu fails, nesting is
// capped, and whatever a message holds, the error about it is one bounded line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DecodeError, ProtocolError } from '../../src/errors.js';
import { decodeBody } from '../../src/protocol/codec.js';
import { checkNestingDepth, MAX_JSON_DEPTH } from '../../src/protocol/codecs/json.js';
import { decodeRedisEnvelope, readableTaskId } from '../../src/protocol/envelope.js';
import type { Message } from '../../src/protocol/message.js';
import { oneLine } from '../../src/protocol/untrusted-text.js';
import { logLines } from '../../src/worker/log-lines.js';

const message = (body: Buffer, contentType = 'application/json'): Message => ({ body, contentType, contentEncoding: 'utf-8', headers: {}, properties: {} });
const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

test('a body that is not valid UTF-8 is a DecodeError, never decoded with U+FFFD (kombu decodes strictly)', () => {
  const bad = Buffer.concat([Buffer.from('[["caf'), Buffer.from([0xc3, 0x28]), Buffer.from('"], {}, {}]')]);
  assert.throws(() => decodeBody(message(bad)), (e: unknown) => e instanceof DecodeError && /not valid UTF-8/.test(e.message));
  // A UTF-8 BOM is not JSON (Python's json.loads: "Unexpected UTF-8 BOM").
  assert.throws(() => decodeBody(message(Buffer.from('\ufeff[1]'))), DecodeError);
  assert.deepEqual(decodeBody(message(Buffer.from('["café ☕"]'))), ['café ☕']);
});

test(`JSON nested deeper than ${MAX_JSON_DEPTH} levels is refused, in a body and in an envelope`, () => {
  assert.deepEqual(decodeBody(message(Buffer.from(`[${deep(MAX_JSON_DEPTH - 1)}]`))), [JSON.parse(deep(MAX_JSON_DEPTH - 1))]);
  assert.throws(() => decodeBody(message(Buffer.from(`[${deep(20_000)}, {}, {}]`))), (e: unknown) => e instanceof DecodeError && /deeper than 1000/.test(e.message));
  // Brackets inside strings are text, not nesting.
  assert.deepEqual(decodeBody(message(Buffer.from(JSON.stringify(['['.repeat(5000)])))), ['['.repeat(5000)]);
  assert.throws(() => checkNestingDepth(JSON.parse(deep(MAX_JSON_DEPTH + 1)), 5000), DecodeError);
  assert.doesNotThrow(() => checkNestingDepth(JSON.parse(deep(MAX_JSON_DEPTH)), 5000));
  assert.throws(() => decodeRedisEnvelope(`{"headers": {"x": ${deep(20_000)}}, "body": "", "properties": {"delivery_tag": "t"}}`), DecodeError);
});

test('errors about a hostile message are one bounded line that echo neither its size nor its control characters', () => {
  const forged = 'evil\r\n[2026-01-01 00:00:00,000: ERROR/MainProcess] forged';
  const lines = [
    logLines.unregistered(forged + 'n'.repeat(50_000)),
    logLines.invalid(`refusing content of type text/${'z'.repeat(50_000)}\nsecond line`),
    logLines.dropped(`envelope: not JSON\r\n${'x'.repeat(60_000)}`),
    logLines.tooLarge(`id\n${'i'.repeat(1000)}`, 'q', 1, 1, 'x\n'.repeat(10_000)),
  ];
  for (const line of lines) {
    assert.ok(line.length < 1200, `${line.length} chars`);
    assert.doesNotMatch(line, /[\r\n\u2028\u2029]/);
    assert.match(line, /…\(\d+ chars\)/);
  }
  assert.equal(oneLine('a\u2028b\u0007'), 'a\\u2028b\\u0007');
  // The envelope's own errors name what a field is, never its (unbounded) value.
  const huge = 'b'.repeat(100_000);
  for (const raw of [
    JSON.stringify({ body: { huge }, properties: { delivery_tag: 't' } }),
    JSON.stringify({ body: 'e30=', properties: { delivery_tag: 't', body_encoding: huge } }),
    JSON.stringify({ body: 'e30=', properties: { delivery_tag: [huge] } }),
  ]) {
    assert.throws(() => decodeRedisEnvelope(raw), (e: unknown) => e instanceof ProtocolError && e.message.length < 200 && !e.message.includes('bbbbbbbbbb'));
  }
});

test('the task id of an undecodable envelope: headers.id or properties.correlation_id when JSON, else the last correlation_id in the text', () => {
  assert.equal(readableTaskId(JSON.stringify({ body: 1, headers: { id: 'a-1' }, properties: { correlation_id: 'b-2' } })), 'a-1');
  assert.equal(readableTaskId(JSON.stringify({ body: 1, headers: [], properties: { correlation_id: 'b-2' } })), 'b-2');
  assert.equal(readableTaskId(`{"headers": {"x": ${deep(5000)}}, "properties": {"correlation_id": "c-3"}}`), 'c-3');
  assert.equal(readableTaskId('{"body": "x", "headers": {"id": "d-4"'), null);
  assert.equal(readableTaskId(JSON.stringify({ headers: { id: 'x\r\ny' }, properties: { correlation_id: 'k'.repeat(300) } })), null);
});
