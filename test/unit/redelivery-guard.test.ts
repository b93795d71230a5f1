// RedeliveryGuard: a redelivered copy of a task run on a lost connection is matched (once) with
// that run's settlement; a fresh message (a retry, or not flagged redelivered) never is.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RedeliveryGuard } from '../../src/worker/redelivery-guard.js';

test('a copy of a run from before the loss waits for that run and gets its settlement, once', async () => {
  const guard = new RedeliveryGuard();
  const settle = guard.started('a', 0);
  assert.equal(guard.copyOf('a', 0, true), null, 'no loss yet: nothing is a copy');
  guard.connectionLost();
  const copy = guard.copyOf('a', 0, true);
  assert.ok(copy);
  settle('ack');
  assert.equal(await copy, 'ack');
  assert.equal(guard.copyOf('a', 0, true), null, 'matched once');
});

test('not redelivered, or another retry of the same id: not a copy', () => {
  const guard = new RedeliveryGuard();
  guard.started('a', 0)('ack');
  guard.connectionLost();
  assert.equal(guard.copyOf('a', 0, false), null);
  assert.equal(guard.copyOf('a', 1, true), null);
  assert.ok(guard.copyOf('a', 0, true));
});

test('runs started after the reconnect are not suspects; the oldest entries go past the capacity', () => {
  const guard = new RedeliveryGuard(2);
  guard.started('a', 0)('ack');
  guard.started('b', 0)('ack');
  guard.started('c', 0)('reject');
  guard.connectionLost();
  guard.started('d', 0)('ack');
  assert.equal(guard.copyOf('a', 0, true), null, 'evicted');
  assert.ok(guard.copyOf('b', 0, true));
  assert.ok(guard.copyOf('c', 0, true));
  assert.equal(guard.copyOf('d', 0, true), null);
});

test('past the capacity the oldest go in one batch: never more than the capacity, the newest kept', () => {
  const guard = new RedeliveryGuard(80);
  for (let i = 0; i < 1000; i++) {
    guard.started(`t${i}`, 0)('ack');
    assert.ok(guard.size <= 80, `size ${guard.size} after ${i + 1} runs`);
  }
  guard.connectionLost();
  for (let i = 930; i < 1000; i++) assert.ok(guard.copyOf(`t${i}`, 0, true), `t${i} is one of the newest 70`);
  assert.equal(guard.copyOf('t0', 0, true), null);
});

test("a retry's run replaces the attempt it retries: only a copy of the retry is still held back", () => {
  const guard = new RedeliveryGuard();
  guard.started('a', 0)('ack');
  guard.started('a', 1)('ack');
  guard.connectionLost();
  assert.equal(guard.size, 1);
  assert.equal(guard.copyOf('a', 0, true), null);
  assert.ok(guard.copyOf('a', 1, true));
});
