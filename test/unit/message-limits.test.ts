// worker_max_message_size: the body is bounded as it arrives and once decompressed (a bomb stops
// at the limit), and the setting is validated by name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brotliCompressSync, deflateSync } from 'node:zlib';
import { loadConfig } from '../../src/config.js';
import { ConfigError, MessageTooLarge } from '../../src/errors.js';
import { decodeBody } from '../../src/protocol/codec.js';
import type { Message } from '../../src/protocol/message.js';

const message = (body: Buffer, compression?: string): Message => ({
  body,
  contentType: 'application/json',
  contentEncoding: 'utf-8',
  headers: compression ? { compression } : {},
  properties: {},
});

test('a body over the limit, before or after decompression, is MessageTooLarge', () => {
  const json = Buffer.from(JSON.stringify({ big: 'x'.repeat(100_000) }));
  assert.deepEqual(decodeBody(message(json), ['json'], 200_000), { big: 'x'.repeat(100_000) });
  assert.throws(() => decodeBody(message(json), ['json'], 50_000), MessageTooLarge);
  for (const [packed, type] of [[deflateSync(json), 'application/x-gzip'], [brotliCompressSync(json), 'application/x-brotli']] as const) {
    assert.ok(packed.length < 1000);
    assert.throws(() => decodeBody(message(packed, type), ['json'], 50_000), (e: unknown) => e instanceof MessageTooLarge && /inflates past 50000 bytes/.test(e.message));
    assert.deepEqual(decodeBody(message(packed, type), ['json'], 200_000), { big: 'x'.repeat(100_000) });
  }
});

test('worker_max_message_size: 16 MiB by default, null for none, anything else named in the error', () => {
  assert.equal(loadConfig({}, {}).worker_max_message_size, 16 * 1024 * 1024);
  assert.equal(loadConfig({ worker_max_message_size: null }, {}).worker_max_message_size, null);
  assert.throws(() => loadConfig({ worker_max_message_size: -1 }, {}), (e: unknown) => e instanceof ConfigError && /^worker_max_message_size .*got -1$/.test(e.message));
});
