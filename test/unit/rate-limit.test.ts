// Rate limits: Celery's token bucket delays (never drops) a task, and — unlike Celery — messages
// waiting for a token do not take the prefetch window from other task types.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Celery } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { parseRate, TokenBucket } from '../../src/worker/rate-limit.js';
import { Worker } from '../../src/worker/worker.js';

test('rate strings as Celery reads them', () => {
  assert.equal(parseRate('10/s'), 10);
  assert.equal(parseRate('120/m'), 2);
  assert.equal(parseRate('3600/h'), 1);
  assert.equal(parseRate('5'), 5);
  assert.equal(parseRate('0'), null);
  assert.equal(parseRate(null), null);
  assert.throws(() => parseRate('fast'), /rate_limit must look like "10\/s"/);
});

test('a capacity-1 bucket gives one token per 1/rate seconds, late calls keep the schedule (fake clock)', () => {
  let now = 0;
  const bucket = new TokenBucket(4, () => now);
  assert.equal(bucket.tryConsume(), true);
  assert.equal(bucket.tryConsume(), false);
  assert.equal(bucket.msUntilToken(), 250);
  now = 249;
  assert.equal(bucket.tryConsume(), false);
  now = 250;
  assert.equal(bucket.tryConsume(), true);
  now = 530; // 30 ms late: the next token is still due at 750, not 780
  assert.equal(bucket.tryConsume(), true);
  assert.equal(bucket.msUntilToken(), 220);
  now = 10_000;
  assert.equal(bucket.tryConsume(), true);
  assert.equal(bucket.tryConsume(), false, 'capacity 1: idle time does not bank tokens');
});

const app = new Celery({ broker_url: 'memory://', result_backend: 'memory://' });
const ranAt: number[] = [];
app.task({ name: 'rl.slow', rate_limit: '10/s' }, () => void ranAt.push(Date.now()));
app.task('rl.fast', (i: number) => i);
const worker = new Worker(app, { mingle: false, concurrency: 2, prefetchMultiplier: 2, nodeName: 'rl@test', logger: silentLogger });
await worker.start();
after(() => worker.stop());

test('10/s holds over 4 s while another task type runs at full speed on the same queue', async () => {
  const started = Date.now();
  const slow = await Promise.all(Array.from({ length: 40 }, () => app.sendTask('rl.slow')));
  const fast = await Promise.all(Array.from({ length: 300 }, (_, i) => app.sendTask('rl.fast', [i])));
  // 40 rate-limited messages sit ahead of the fast ones, and the window is only 4 messages.
  await Promise.all(fast.map((r) => r.get({ timeout: 10 })));
  const fastDone = Date.now();
  await Promise.all(slow.map((r) => r.get({ timeout: 15 })));
  assert.equal(ranAt.length, 40, 'delayed, never dropped');
  // Not starved: every fast task finished while the rate-limited ones were still trickling out.
  assert.ok(fastDone < ranAt[20]!, `fast tasks finished ${fastDone - started} ms in, after the 21st rate-limited run`);
  // Never faster than the rate: 1 token at once, then one per 100 ms → 40 runs take ≥ 3.9 s
  // (timers never fire early, so this lower bound holds however loaded the machine is).
  const total = ranAt.at(-1)! - ranAt[0]!;
  assert.ok(total >= 3900 * 0.97, `40 runs took only ${total} ms: faster than 10/s`);
  // Not a different rate either (5/s would take 7.8 s). How late timers leave the schedule is
  // proven exactly by the fake-clock test above; a wall-clock ±10 % here only measured the load.
  assert.ok(total < 7000, `40 runs took ${total} ms (10/s takes ≈ 3.9 s)`);
});
