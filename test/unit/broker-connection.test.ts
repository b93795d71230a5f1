// Start-up broker retry as Celery's worker and beat do it (kombu retry_over_time): which
// settings turn it on, how many attempts, which intervals, which log lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ensureConnected, type StartupRetrySettings } from '../../src/broker-connection.js';
import { TransportError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';

function run(conf: Partial<StartupRetrySettings>, failures: number, who: 'consumer' | 'beat' = 'consumer') {
  const lines: string[] = [];
  const slept: number[] = [];
  const timeouts: number[] = [];
  let attempts = 0;
  const promise = ensureConnected({
    conf: { broker_connection_retry: true, broker_connection_retry_on_startup: null, broker_connection_max_retries: 100, broker_connection_timeout: 4, ...conf },
    connect: async (ms) => {
      timeouts.push(ms);
      if (attempts++ < failures) throw new TransportError('Cannot connect to redis://h:1/0: connect ECONNREFUSED h:1');
    },
    logger: createLogger({ level: 'debug', format: 'json', write: (line) => lines.push(JSON.parse(line).message) }),
    who,
    sleep: async (ms) => void slept.push(ms),
  });
  return { promise, lines, slept, timeouts, attempts: () => attempts };
}

test('retries with kombu intervals (2, 4, … 32 s) and Celery\'s consumer lines until the broker answers', async () => {
  const r = run({}, 17);
  await r.promise;
  assert.equal(r.attempts(), 18);
  assert.deepEqual(r.slept, [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 32].map((s) => s * 1000));
  assert.deepEqual(new Set(r.timeouts), new Set([4000]));
  assert.equal(r.lines[0], 'consumer: Cannot connect to redis://h:1/0: connect ECONNREFUSED h:1.\nTrying again in 2.00 seconds... (1/100)');
  assert.equal(r.lines[16], 'consumer: Cannot connect to redis://h:1/0: connect ECONNREFUSED h:1.\nTrying again in 32.00 seconds... (17/100)');
});

test('beat logs its own line; max retries bounds the attempts; null retries forever', async () => {
  const beat = run({ broker_connection_max_retries: 2 }, 5, 'beat');
  await assert.rejects(beat.promise, /Cannot connect to redis:\/\/h:1\/0/);
  assert.equal(beat.attempts(), 3, 'max_retries=2: the first attempt and two retries');
  assert.deepEqual(beat.lines, [2, 4].map((s) => `beat: Connection error: Cannot connect to redis://h:1/0: connect ECONNREFUSED h:1. Trying again in ${s}.0 seconds...`));
  const forever = run({ broker_connection_max_retries: null }, 150);
  await forever.promise;
  assert.equal(forever.attempts(), 151);
  assert.match(forever.lines[0]!, /\(1\/None\)$/);
});

test('retry_on_startup false, or unset with broker_connection_retry false, tries once', async () => {
  for (const conf of [{ broker_connection_retry_on_startup: false }, { broker_connection_retry: false }]) {
    const r = run(conf, 1);
    await assert.rejects(r.promise, TransportError);
    assert.equal(r.attempts(), 1);
    assert.deepEqual(r.lines, []);
  }
  const r = run({ broker_connection_retry: false, broker_connection_retry_on_startup: true, broker_connection_timeout: 0.5 }, 1);
  await r.promise;
  assert.equal(r.attempts(), 2, 'retry_on_startup wins over broker_connection_retry');
  assert.deepEqual(r.timeouts, [500, 500]);
});
