// Celery's retry arithmetic: exponential backoff (celery/utils/time.py
// get_exponential_backoff_interval), autoretry matching and the max_retries rule.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MaxRetriesExceededError } from '../../src/errors.js';
import { autoretryFor, decideRetry, exponentialBackoff } from '../../src/worker/retry.js';
import type { Request } from '../../src/worker/request.js';
import { loadFixture } from '../helpers/fixtures.js';

test('backoff without jitter: factor × 2^retries, capped (Celery: 1 s, 2 s, 4 s … 600 s)', () => {
  assert.deepEqual([0, 1, 2, 3].map((r) => exponentialBackoff(r, 1, 600, false)), [1, 2, 4, 8]);
  assert.equal(exponentialBackoff(20, 1, 600, false), 600);
  assert.equal(exponentialBackoff(3, 5, 30, false), 30);
});

test('full jitter draws an integer in [0, countdown] inclusive', () => {
  assert.equal(exponentialBackoff(3, 1, 600, true, () => 0), 0);
  assert.equal(exponentialBackoff(3, 1, 600, true, () => 0.9999999), 8);
  assert.equal(exponentialBackoff(3, 1, 600, true, () => 0.5), 4);
});

test('the captured autoretry run: countdowns 1 s then 2 s, then FAILURE with the original error', () => {
  // retry-autoretry-backoff: autoretry_for=(KeyError,), retry_backoff=True, retry_jitter=False, max_retries=2
  for (const folder of ['celery-5.2', 'celery-5.7'] as const) assert.ok(loadFixture(folder, 'retry-autoretry-backoff').data);
  class KeyError extends Error {
    override name = 'KeyError';
  }
  const options = { name: 'wirefx.flaky', autoretry_for: [KeyError], retry_backoff: true, retry_jitter: false, max_retries: 2 };
  const error = new KeyError('missing');
  assert.equal(autoretryFor(error, options, 0)?.countdown, 1);
  assert.equal(autoretryFor(error, options, 1)?.countdown, 2);
  assert.equal(autoretryFor(new RangeError('x'), options, 0), null);
  assert.equal(autoretryFor(error, { ...options, dont_autoretry_for: ['KeyError'] }, 0), null);
  assert.equal(autoretryFor(error, { ...options, retry_backoff: 0.5 }, 2)?.countdown, 4, 'fractional factor counts as 1 (≥5.3.1)');
  const request = (retries: number) => ({ id: 'i', task: { name: 'wirefx.flaky', retries, args: [], kwargs: {} }, definition: { options } }) as unknown as Request;
  const now = Date.UTC(2030, 0, 1);
  assert.deepEqual(decideRetry(request(0), { exc: error, countdown: 1 }, now), { kind: 'retry', eta: new Date(now + 1000), countdown: 1 });
  assert.deepEqual(decideRetry(request(2), { exc: error }, now), { kind: 'exhausted', error });
});

test('max_retries: default 3, null retries forever, a per-call value overrides; no exc → MaxRetriesExceededError', () => {
  const request = (retries: number, max?: number | null) =>
    ({ id: 'i', task: { name: 't', retries, args: [1], kwargs: {} }, definition: { options: max === undefined ? { name: 't' } : { name: 't', max_retries: max } } }) as unknown as Request;
  const now = 0;
  assert.equal(decideRetry(request(2), {}, now).kind, 'retry');
  const exhausted = decideRetry(request(3), {}, now);
  assert.ok(exhausted.kind === 'exhausted' && exhausted.error instanceof MaxRetriesExceededError);
  assert.equal(decideRetry(request(500, null), {}, now).kind, 'retry');
  assert.equal(decideRetry(request(3), { max_retries: 10 }, now).kind, 'retry');
  const dflt = decideRetry(request(0), {}, now);
  assert.ok(dflt.kind === 'retry' && dflt.countdown === 180, 'default_retry_delay is 180 s');
});
