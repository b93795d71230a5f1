// result_backend_always_retry & co. (celery/backends/base.py `Backend._ensure_retryable`): a write
// that meets a down connection is retried with full-jitter exponential backoff, each retry logged;
// without always_retry, or once result_backend_max_retries are spent, it fails.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBackend } from '../../src/backend/memory.js';
import { backoffMs, storeRetryPolicy, storeWithRetry } from '../../src/backend/store-retry.js';
import { BackendStoreError, BackendUnavailable, TransportError } from '../../src/errors.js';
import { buildTaskMeta } from '../../src/protocol/result-meta.js';

const meta = buildTaskMeta({ taskId: 't1', status: 'SUCCESS', result: 1, dateDone: new Date(0) });
const policy = { alwaysRetry: true, maxRetries: null, baseSleepMs: 10, maxSleepMs: 10000 };

/** A backend whose first `failures` writes find the connection down. */
function flaky(failures: number, error: () => Error = () => new BackendUnavailable('not connected (reconnecting)')) {
  const inner = new MemoryBackend();
  let calls = 0;
  return {
    backend: Object.assign(Object.create(inner) as MemoryBackend, {
      storeResult: async (m: typeof meta) => {
        calls += 1;
        if (calls <= failures) throw error();
        return inner.storeResult(m);
      },
    }),
    inner,
    calls: () => calls,
  };
}

test('the settings map to the policy with Celery defaults', () => {
  assert.deepEqual(
    storeRetryPolicy({ result_backend_always_retry: false, result_backend_max_retries: null, result_backend_base_sleep_between_retries_ms: 10, result_backend_max_sleep_between_retries_ms: 10000 }),
    { alwaysRetry: false, maxRetries: null, baseSleepMs: 10, maxSleepMs: 10000 },
  );
});

test('backoff: full jitter under min(max, base × 2^retries)', () => {
  assert.equal(backoffMs(policy, 1, () => 0.999999), 20);
  assert.equal(backoffMs(policy, 3, () => 0.999999), 80);
  assert.equal(backoffMs(policy, 20, () => 0.999999), 10000);
  assert.equal(backoffMs(policy, 5, () => 0), 0);
});

test('always_retry: retried until the write lands, each retry logged, sleeping the backoff', async () => {
  const f = flaky(3);
  const warnings: string[] = [];
  const sleeps: number[] = [];
  const stored = await storeWithRetry(f.backend, meta, undefined, policy, { warn: (m) => warnings.push(m), random: () => 0.999999, sleep: async (ms) => void sleeps.push(ms) });
  assert.equal(stored, true);
  assert.equal(f.calls(), 4);
  assert.deepEqual(sleeps, [20, 40, 80]);
  assert.equal(warnings.length, 3);
  assert.match(warnings[0]!, /Failed operation _store_result for task t1\. Retrying inf more times: not connected/);
  assert.equal((await f.inner.getMeta('t1')).status, 'SUCCESS');
});

test('result_backend_max_retries spent: BackendStoreError', async () => {
  const f = flaky(10);
  const warnings: string[] = [];
  await assert.rejects(storeWithRetry(f.backend, meta, undefined, { ...policy, maxRetries: 2 }, { warn: (m) => warnings.push(m), sleep: async () => {} }), BackendStoreError);
  assert.equal(f.calls(), 3);
  assert.match(warnings[1]!, /Retrying 0 more times/);
});

test('without always_retry, or for an error that is not a lost connection, the first failure is final', async () => {
  const off = flaky(1);
  await assert.rejects(storeWithRetry(off.backend, meta, undefined, { ...policy, alwaysRetry: false }, { warn: () => assert.fail('no retry') }), BackendUnavailable);
  const other = flaky(1, () => new TransportError('script failed'));
  await assert.rejects(storeWithRetry(other.backend, meta, undefined, policy, { warn: () => assert.fail('no retry') }), TransportError);
  assert.equal(other.calls(), 1);
});
