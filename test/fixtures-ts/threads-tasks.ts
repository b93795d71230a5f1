// Tasks for the `-P threads` tests (test/unit/thread-pool.test.ts): each worker thread loads this
// module itself, so anything a task reports about "where it ran" comes from the thread.
import { createHash } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { Celery } from '../../src/app.js';
import { Ignore, Reject } from '../../src/errors.js';
import type { TaskContext } from '../../src/registry/task-definition.js';
import { signature } from '../../src/registry/task-handle.js';

// task_reject_on_worker_lost only matters for acks_late tasks (th.exit_once).
export const app = new Celery({ broker_url: 'memory://', result_backend: 'memory://', task_reject_on_worker_lost: true });

export class FetchError extends Error {
  readonly code = 'EFETCH';
}

app.task('th.add', (a: number, b: number) => a + b);
app.task('th.whoami', () => threadId);
app.task({ name: 'th.spin', time_limit: 0.4 }, () => {
  for (;;); // CPU-bound forever: only terminating the thread ends it
});
app.task({ name: 'th.soft', soft_time_limit: 0.2 }, async ({ ctx }) => sleep(10_000, null, { signal: ctx.signal }));
app.task({ name: 'th.progress', kwargs: z.object({ steps: z.number().int() }) }, async ({ kwargs, ctx }) => {
  for (let step = 1; step <= kwargs.steps; step++) await ctx.updateState('PROGRESS', { step, of: kwargs.steps, thread: threadId });
  await sleep(300);
  return 'done';
});
app.task({ name: 'th.retry' }, async ({ ctx }) => {
  if (ctx.retries < 1) ctx.retry({ countdown: 0, exc: new Error('not yet') });
  return { retries: ctx.retries, thread: threadId };
});
app.task({ name: 'th.autoretry', autoretry_for: [FetchError], max_retries: 1, retry_kwargs: { countdown: 0 } }, () => {
  throw new FetchError('upstream down');
});
app.task('th.range', (message: string) => {
  throw new RangeError(message);
});
app.task('th.reject', () => {
  throw new Reject('not mine', true);
});
app.task('th.ignore', () => {
  throw new Ignore('skip');
});
app.task('th.replace', function (this: TaskContext) {
  return this.replace(signature('th.add', [2, 3]));
});
app.task('th.exit', (code: number) => process.exit(code));
// Dies on its first delivery only (the marker file outlives the thread), succeeds when redelivered.
app.task({ name: 'th.exit_once', acks_late: true }, ({ ctx }) => {
  const marker = join(tmpdir(), `ts-celery-exit-once-${ctx.id}`);
  if (!existsSync(marker)) {
    writeFileSync(marker, '');
    process.exit(1);
  }
  rmSync(marker);
  return 'second run';
});
app.task('th.unclonable', () => () => 1);
const hoard: number[][] = [];
app.task('th.hoard', (megabytes: number) => {
  const doubles: number[] = []; // 8 bytes each, on the thread's V8 heap
  for (let i = 0; i < megabytes * 131_072; i++) doubles.push(i + 0.5);
  hoard.push(doubles);
  return threadId;
});
app.task('th.hash', (ms: number) => {
  const until = performance.now() + ms;
  let digest = '';
  while (performance.now() < until) digest = createHash('sha256').update(digest).digest('hex');
  return digest.length;
});
app.task('th.noop', () => null);
