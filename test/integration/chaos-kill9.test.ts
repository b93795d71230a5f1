// Small-scale run of `npm run chaos`'s worker kill -9 rows (bench/chaos/kill9.ts): our worker (a
// real `ts-celery worker` process, acks_late, -c 4 × prefetch 2) is SIGKILLed a third of the way
// through 300 tasks and a replacement finishes them. On a private redis-server the replacement —
// ours, then Python Celery's — starts once visibility_timeout (1 s) has passed and restores what
// the dead worker held; on the local RabbitMQ (a queue of its own) it starts at once.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Replacement, workerKill9 } from '../../bench/chaos/kill9.js';

// Each run has its own redis-server and queue, so the three run side by side (one's wait for the
// visibility timeout overlaps the others' work).
describe('worker kill -9 mid-drain, acks_late', { concurrency: true }, () => {
  for (const replacement of ['typescript', 'python'] as Replacement[]) {
    test(`Redis, ${replacement} replacement: nothing lost, reruns only of what the dead worker held`, async () => {
      const r = await workerKill9({ n: 300, replacement, visibilityTimeoutS: 1, timeoutMs: 30_000 });
      const seen = JSON.stringify(r);
      assert.equal(r.lost, 0, `every task has a stored SUCCESS: ${seen}`);
      assert.ok(r.ranBeforeKill < r.n, `killed mid-drain: ${seen}`);
      // Only what the dead worker held (in `unacked`) can run again, and no more than its window.
      assert.ok(r.held !== null && r.held > 0 && r.duplicates <= r.held && r.duplicates <= r.window, `reruns within what it held: ${seen}`);
      assert.equal(r.leftInBroker, 0, `queue and unacked are empty: ${seen}`);
    });
  }

  test('RabbitMQ, replacement started at once: nothing lost, reruns within the prefetch window', async () => {
    const r = await workerKill9({ n: 300, replacement: 'typescript', broker: 'rabbitmq', timeoutMs: 30_000 });
    const seen = JSON.stringify(r);
    assert.equal(r.lost, 0, `every task has a stored SUCCESS: ${seen}`);
    assert.ok(r.ranBeforeKill < r.n, `killed mid-drain: ${seen}`);
    assert.ok(r.duplicates <= r.window, `reruns within the prefetch window: ${seen}`);
    assert.equal(r.leftInBroker, 0, `the queue is empty: ${seen}`);
  });
});
