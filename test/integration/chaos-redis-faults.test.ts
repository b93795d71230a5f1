// Small-scale runs of the Redis fault scenarios of `npm run chaos` (bench/chaos/), each on private
// redis-servers (spare ports, temp dirs): the broker killed and restarted from its append-only
// file mid-drain, and the result backend killed while the broker stays up.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backendDown } from '../../bench/chaos/backend-down.js';
import { brokerRestart } from '../../bench/chaos/broker-restart.js';

for (const acksLate of [true, false]) {
  test(`broker kill -9 + restart mid-drain (${acksLate ? 'acks_late' : 'early ack'}): nothing lost, nothing run twice, resumed within 5 s`, async () => {
    const r = await brokerRestart({ n: 600, acksLate, outageMs: 500 });
    assert.equal(r.lost, 0, r.lines.join('\n'));
    assert.equal(r.duplicates, 0, 'no task ran twice on the worker');
    assert.ok(r.resumeMs !== null && r.resumeMs < 5000, `resumed after ${r.resumeMs} ms`);
    assert.equal(r.leftInBroker, 0, 'queue and unacked are empty');
    assert.ok(r.lines.some((l) => /Cannot connect to the broker/.test(l)));
  });
}

test('result backend down, broker up (acks_late, result_backend_always_retry): messages stay unacked until their results land', async () => {
  const r = await backendDown({ n: 300, outageMs: 500 });
  assert.equal(r.lost, 0);
  assert.equal(r.duplicates, 0);
  assert.ok(r.unackedDuringOutage > 0, 'messages whose results could not be stored were not acked');
  assert.equal(r.leftInBroker, 0);
  assert.ok(r.resumeMs !== null && r.resumeMs < 5000);
});
