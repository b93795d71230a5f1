// Execution semantics on the in-memory broker: retries (explicit and autoretry), soft and hard
// time limits with Celery's precedence, acks on failure, task hooks and app signals.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Celery } from '../../src/app.js';
import type { TaskError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { Worker } from '../../src/worker/worker.js';

const lines: string[] = [];
const app = new Celery({ broker_url: 'memory://', result_backend: 'memory://' });
const attempts = new Map<string, number>();
const seen: string[] = [];

class TransientError extends Error {
  override name = 'TransientError';
}

app.task(
  { name: 'x.flaky', autoretry_for: [TransientError], retry_backoff: true, retry_jitter: false, max_retries: 2, default_retry_delay: 0 },
  ({ ctx }) => {
    const n = (attempts.get(ctx.id) ?? 0) + 1;
    attempts.set(ctx.id, n);
    if (n < 3) throw new TransientError(`attempt ${n}`);
    return { attempts: n, retries: ctx.retries };
  },
);
app.task({ name: 'x.always_fails', autoretry_for: ['TransientError'], max_retries: 1, retry_kwargs: { countdown: 0 } }, () => {
  throw new TransientError('still broken');
});
app.task({ name: 'x.manual', max_retries: 5 }, ({ ctx }) => {
  if (ctx.retries < 1) ctx.retry({ countdown: 0.05, exc: new RangeError('not yet') });
  return ctx.retries;
});
app.task({ name: 'x.soft', soft_time_limit: 0.1 }, async ({ ctx }) => {
  await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
  seen.push(`cleanup after ${(ctx.signal.reason as Error).name}`);
  return 'cleaned up';
});
app.task({ name: 'x.soft_unhandled' }, async ({ ctx }) => {
  await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
});
app.task('x.marker', (value: string) => value);
// What a handler may do with its context: destructure it (updateState keeps working unbound), read
// the request's fields, and look at the signal only if it wants to.
const progress = { release: () => {} };
app.task({ name: 'x.context' }, async ({ ctx }) => {
  const { updateState, id, name, hostname, deliveryInfo, request, signal } = ctx;
  const gate = new Promise<void>((r) => (progress.release = r));
  await updateState('PROGRESS', { step: 1 });
  await gate;
  return { id, name, hostname, queue: deliveryInfo.queue ?? null, args: request.args, aborted: signal.aborted, isSignal: signal instanceof AbortSignal, keys: Object.keys(ctx).sort() };
});
// Settles only when the test says so: the hard limit must be recorded while it is still running.
const hardHandler = { release: () => {}, returned: Promise.resolve() };
app.task({ name: 'x.hard', time_limit: 0.1 }, () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  hardHandler.release = release;
  const late = gate.then(() => 'too late');
  hardHandler.returned = late.then(() => undefined);
  return late;
});
app.task(
  {
    name: 'x.hooked',
    hooks: {
      onSuccess: (result) => void seen.push(`onSuccess ${JSON.stringify(result)}`),
      onFailure: (error) => void seen.push(`onFailure ${(error as Error).message}`),
      after: (state) => void seen.push(`after ${state}`),
    },
  },
  ({ args }) => {
    if (args[0] === 'boom') throw new Error('boom');
    return args[0];
  },
);
// Results ignored: only failures are stored, and only where store_errors_even_if_ignored says so.
// The `after` hook runs once whatever is stored has been.
const ignoredDone: string[] = [];
const boomUnlessFine = ({ args }: { args: unknown[] }) => {
  if (args[0] === 'boom') throw new Error('boom');
  return 'ok';
};
const afterStored = { after: (_state: string, _result: unknown, ctx: { id: string }) => void ignoredDone.push(ctx.id) };
app.task({ name: 'x.ignored', ignore_result: true, hooks: afterStored }, boomUnlessFine);
app.task({ name: 'x.ignored_errors_kept', ignore_result: true, store_errors_even_if_ignored: true, hooks: afterStored }, boomUnlessFine);
const signals: string[] = [];
app.signals.connect('task_prerun', ({ task }) => void signals.push(`prerun ${task}`));
app.signals.connect('task_postrun', ({ task, state }) => void signals.push(`postrun ${task} ${state}`));
app.signals.connect('task_retry', ({ ctx }) => void signals.push(`retry ${ctx.name}`));
app.signals.connect('task_failure', () => {
  throw new Error('a broken receiver');
});

const worker = new Worker(app, { mingle: false, concurrency: 4, nodeName: 'exec@test', logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }) });
await worker.start();
after(() => worker.stop());

test('autoretry with backoff: RETRY, then SUCCESS after two retries, same task id', async () => {
  const r = await app.sendTask('x.flaky');
  assert.deepEqual(await r.get({ timeout: 10 }), { attempts: 3, retries: 2 });
  assert.equal(attempts.get(r.id), 3);
  const retryLines = lines.filter((l) => l.includes(`x.flaky[${r.id}] retry: Retry in`));
  assert.deepEqual(retryLines.map((l) => /Retry in (\d+)s/.exec(l)?.[1]), ['1', '2']);
});

test('ignore_result stores nothing; with store_errors_even_if_ignored a failure is still stored', async () => {
  const sent = await Promise.all([['x.ignored', 'fine'], ['x.ignored', 'boom'], ['x.ignored_errors_kept', 'fine'], ['x.ignored_errors_kept', 'boom']].map(([name, arg]) => app.sendTask(name!, [arg])));
  const deadline = Date.now() + 10_000;
  while (!sent.every((r) => ignoredDone.includes(r.id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const states = await Promise.all(sent.map((r) => r.state()));
  assert.deepEqual(states, ['PENDING', 'PENDING', 'PENDING', 'FAILURE']);
});

test('past max_retries the task fails with the original error', async () => {
  const r = await app.sendTask('x.always_fails');
  await assert.rejects(r.get({ timeout: 10 }), (e: TaskError) => e.excType === 'TransientError' && e.excArgs[0] === 'still broken');
});

test('ctx.retry() stores RETRY with the given exc, then the retried run succeeds', async () => {
  const r = await app.sendTask('x.manual');
  const deadline = Date.now() + 20_000;
  let sawRetry = false;
  while (!(await r.ready()) && Date.now() < deadline) {
    const meta = await r.meta();
    if (meta.status === 'RETRY') {
      sawRetry = true;
      assert.deepEqual(meta.result, { exc_type: 'ValueError', exc_message: ['not yet'], exc_module: 'builtins' });
      assert.deepEqual(meta.children, [[[r.id, null], null]]);
    }
    await new Promise((res) => setTimeout(res, 2));
  }
  assert.ok(sawRetry, 'RETRY was visible while waiting');
  assert.equal(await r.get({ timeout: 20 }), 1);
});

test('the task context: fields, an unbound updateState, the signal on demand', async () => {
  const r = await app.sendTask('x.context', [7]);
  const deadline = Date.now() + 10_000;
  while ((await r.meta()).status !== 'PROGRESS' && Date.now() < deadline) await new Promise((res) => setTimeout(res, 2));
  assert.deepEqual((await r.meta()).result, { step: 1 });
  progress.release();
  const seenBy = (await r.get({ timeout: 10 })) as Record<string, unknown>;
  assert.deepEqual(
    { ...seenBy, keys: undefined },
    { id: r.id, name: 'x.context', hostname: 'exec@test', queue: 'celery', args: [7], aborted: false, isSignal: true, keys: undefined },
  );
  // The request's fields and the task's controls are the context's own; the signal is read on demand.
  for (const key of ['id', 'name', 'retries', 'headers', 'rootId', 'parentId', 'group', 'eta', 'expires', 'hostname', 'deliveryInfo', 'request', 'updateState', 'retry', 'replace']) {
    assert.ok((seenBy.keys as string[]).includes(key), `ctx has its own ${key}`);
  }
});

test('soft time limit aborts ctx.signal; the handler cleans up and its return decides the state', async () => {
  const r = await app.sendTask('x.soft');
  assert.equal(await r.get({ timeout: 20 }), 'cleaned up');
  assert.ok(seen.includes('cleanup after SoftTimeLimitExceeded'));
  assert.ok(lines.some((l) => l.includes(`Soft time limit (0.1s) exceeded for x.soft[${r.id}]`)));
});

test('an unhandled soft-limit abort is FAILURE SoftTimeLimitExceeded; the message header wins over options', async () => {
  const r = await app.sendTask('x.soft_unhandled', [], {}, { soft_time_limit: 0.05 });
  await assert.rejects(r.get({ timeout: 20 }), (e: TaskError) => e.excType === 'SoftTimeLimitExceeded' && e.excModule === 'billiard.exceptions');
});

test('hard time limit stores TimeLimitExceeded at once; the late return is dropped', async () => {
  const r = await app.sendTask('x.hard');
  // The handler has not settled (it waits for release()), so this is recorded at the limit.
  await assert.rejects(r.get({ timeout: 10 }), (e: TaskError) => e.excType === 'TimeLimitExceeded');
  hardHandler.release();
  await hardHandler.returned;
  // A task sent after the late return has finished: the worker has handled that return by now.
  assert.equal(await (await app.sendTask('x.marker', ['marker'])).get({ timeout: 10 }), 'marker');
  assert.equal(await r.state(), 'FAILURE');
});

test('task hooks and app signals fire; a failing receiver never changes the outcome', async () => {
  assert.equal(await (await app.sendTask('x.hooked', ['ok'])).get({ timeout: 20 }), 'ok');
  await assert.rejects((await app.sendTask('x.hooked', ['boom'])).get({ timeout: 20 }), { excType: 'Exception' });
  const deadline = Date.now() + 20_000;
  while (!seen.includes('after FAILURE') && Date.now() < deadline) await new Promise((res) => setTimeout(res, 2));
  assert.deepEqual(seen.filter((s) => /^(onSuccess|onFailure|after)/.test(s)), ['onSuccess "ok"', 'after SUCCESS', 'onFailure boom', 'after FAILURE']);
  assert.ok(signals.includes('prerun x.hooked') && signals.includes('postrun x.hooked SUCCESS') && signals.includes('postrun x.hooked FAILURE'));
  assert.ok(signals.includes('retry x.flaky'));
  assert.ok(lines.some((l) => l.includes('Signal task_failure receiver raised: a broken receiver')));
});
