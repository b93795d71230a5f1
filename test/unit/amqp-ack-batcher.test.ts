// The RabbitMQ ack coalescing, on a recording stand-in for an amqplib channel: in-order acks go
// out as one multiple ack, nothing is ever acked that the worker has not settled, and a tag that
// completes behind a slow one is still acked in the same turn.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Channel } from 'amqplib';
import { AckBatcher } from '../../src/transport/amqp/ack-batcher.js';

function recorder() {
  const frames: string[] = [];
  const channel = {
    ack: (m: { fields: { deliveryTag: number } }, multiple?: boolean) => frames.push(`ack ${m.fields.deliveryTag}${multiple ? ' multiple' : ''}`),
  } as unknown as Channel;
  return { frames, batcher: new AckBatcher(channel) };
}

test('acks of a completed prefix go out as one multiple ack', () => {
  const { frames, batcher } = recorder();
  for (const tag of [1, 2, 3, 4]) batcher.received(tag);
  for (const tag of [2, 1, 3]) batcher.ack(tag);
  batcher.flush();
  assert.deepEqual(frames, ['ack 3 multiple']);
  batcher.ack(4);
  batcher.flush();
  assert.deepEqual(frames, ['ack 3 multiple', 'ack 4 multiple']);
});

test('a slow head: later completions are acked one by one, never by a multiple ack over the head', () => {
  const { frames, batcher } = recorder();
  for (const tag of [1, 2, 3]) batcher.received(tag);
  batcher.ack(2);
  batcher.ack(3);
  batcher.flush();
  assert.deepEqual(frames, ['ack 2', 'ack 3']);
  batcher.ack(1);
  batcher.flush();
  assert.deepEqual(frames.at(-1), 'ack 1 multiple');
});

test('a rejected or requeued tag leaves the window at once, and a later multiple ack skips over it safely', () => {
  const { frames, batcher } = recorder();
  for (const tag of [1, 2, 3]) batcher.received(tag);
  batcher.settledOtherwise(2, () => frames.push('reject 2'));
  batcher.ack(1);
  batcher.ack(3);
  batcher.flush();
  assert.deepEqual(frames, ['reject 2', 'ack 3 multiple']);
});

test('acks wait for the end of the turn, then flush by themselves', async () => {
  const { frames, batcher } = recorder();
  batcher.received(1);
  batcher.ack(1);
  assert.deepEqual(frames, []);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(frames, ['ack 1 multiple']);
});
