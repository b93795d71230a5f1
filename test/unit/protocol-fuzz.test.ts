// A worker must survive any message: mutated captured messages only ever produce the protocol's
// own errors (ProtocolError naming a field, DecodeError, ContentDisallowed), never a crash.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeRedisEnvelope, markRedelivered } from '../../src/protocol/envelope.js';
import type { Message } from '../../src/protocol/message.js';
import { parseTaskMessage } from '../../src/protocol/task-message.js';
import { findEnvelopes, loadFixtures } from '../helpers/fixtures.js';

let seed = 20261122;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;

const WEIRD: readonly unknown[] = [
  null, true, 0, -1, 1.5, 2 ** 60, '', 'x', '2030-02-30', 'tomorrow', '(1, 2)', [], [1], [null, null], ['a', 'b'], [1, 2, 3],
  {}, { task: 1 }, { __type__: 'datetime', __value__: 'nope' }, { __type__: 'bytes', __value__: 'ok' }, [[[[[]]]]], 'é☕😀\u0000',
];
const ALLOWED = new Set(['ProtocolError', 'DecodeError', 'ContentDisallowed']);

function mutate(message: Message): Message {
  const headers = { ...message.headers };
  const body = JSON.parse(message.body.toString('utf8')) as unknown;
  switch (Math.floor(rnd() * 7)) {
    case 0: // a header gets a value of the wrong type
      headers[pick([...Object.keys(headers), 'task', 'id', 'timelimit', 'stamps', 'eta'])] = pick(WEIRD);
      return { ...message, headers };
    case 1: // one body slot (or the whole body) replaced
      if (Array.isArray(body) && rnd() < 0.7) body[Math.floor(rnd() * 4)] = pick(WEIRD);
      return { ...message, body: Buffer.from(JSON.stringify(Array.isArray(body) && rnd() < 0.7 ? body : pick(WEIRD))) };
    case 2: // the embed gets odd signatures
      if (Array.isArray(body)) body[2] = { callbacks: pick(WEIRD), chain: [pick(WEIRD)], chord: pick(WEIRD) };
      return { ...message, body: Buffer.from(JSON.stringify(body)) };
    case 3: // truncated or garbled bytes
      return { ...message, body: message.body.subarray(0, Math.floor(rnd() * message.body.length)) };
    case 4: // headers gone: the body must stand as protocol 1 or be refused
      return { ...message, headers: rnd() < 0.5 ? {} : (pick(WEIRD) as never) };
    case 5: // content type / encoding / compression games
      return { ...message, contentType: pick(['application/x-python-serialize', 'application/x-yaml', '', 'text/plain']), contentEncoding: pick(['binary', 'latin-1', 'utf-8']) };
    default:
      headers.compression = pick(['application/x-gzip', 'application/x-brotli', 'application/x-bz2', 'lz4', 7]);
      return { ...message, headers };
  }
}

test('2000 mutated task messages: only the protocol errors, never the safety net or a crash', () => {
  const originals = loadFixtures('msg-')
    .flatMap(findEnvelopes)
    .map((env) => decodeRedisEnvelope(env.raw).message)
    .filter((m) => !m.headers.compression);
  assert.ok(originals.length > 60);
  let refused = 0;
  for (let i = 0; i < 2000; i++) {
    const m = mutate(pick(originals));
    try {
      parseTaskMessage(m);
    } catch (error) {
      const e = error as Error & { field?: string };
      assert.ok(ALLOWED.has(e.name), `${e.name}: ${e.message}`);
      assert.notEqual(e.field, 'message', `the safety net caught: ${e.message}`);
      refused++;
    }
  }
  assert.ok(refused > 600, `only ${refused} refused: the mutations are too gentle`);
});

test('mutated envelopes: decodeRedisEnvelope and markRedelivered refuse with ProtocolError only', () => {
  const raws = loadFixtures('msg-').flatMap(findEnvelopes).map((e) => e.raw);
  for (let i = 0; i < 1000; i++) {
    const raw = pick(raws);
    const cut = Math.floor(rnd() * raw.length);
    const variant = pick([
      raw.slice(0, cut),
      raw.slice(0, cut) + pick(['"', '}', ']', '\\', 'null']) + raw.slice(cut + 1),
      JSON.stringify({ ...JSON.parse(raw), properties: pick(WEIRD) }),
      JSON.stringify({ ...JSON.parse(raw), headers: pick(WEIRD) }),
      JSON.stringify({ ...JSON.parse(raw), body: pick(WEIRD) }),
    ]);
    for (const fn of [decodeRedisEnvelope, markRedelivered]) {
      try {
        fn(variant);
      } catch (error) {
        assert.equal((error as Error).name, 'ProtocolError', (error as Error).message);
      }
    }
  }
});
