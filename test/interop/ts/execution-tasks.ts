// Tasks for the execution-semantics interop tests (retries, time limits), configured from the
// same environment variables as interop_app.py. Python runs `exec.handoff` too (exec_tasks.py).
import { Redis } from 'ioredis';
import { Celery, type TaskContext } from '../../../src/index.js';
import { configFromEnv } from './env-config.js';

export const app = new Celery(configFromEnv());
const redis = new Redis(process.env.BROKER_URL ?? 'redis://127.0.0.1:6379/10');
const prefix = process.env.KEYPREFIX ?? '';

class TransientError extends Error {
  override name = 'TransientError';
}

/** Fails with TransientError twice, then succeeds; records each run's time. */
app.task(
  { name: 'exec.flaky', autoretry_for: [TransientError], retry_backoff: true, retry_backoff_max: 4, max_retries: 3 },
  async ({ ctx }) => {
    await redis.rpush(`${prefix}runs:${ctx.id}`, String(Date.now()));
    if (ctx.retries < 2) throw new TransientError(`attempt ${ctx.retries + 1}`);
    return { retries: ctx.retries };
  },
);

/** Waits until aborted (the soft time limit), records that cleanup ran, then lets the abort fail it. */
const slowCleanup = async ({ ctx }: { ctx: TaskContext }) => {
  await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
  await redis.set(`${prefix}cleanup:${ctx.id}`, (ctx.signal.reason as Error).name);
  throw ctx.signal.reason;
};
app.task({ name: 'exec.slow_cleanup' }, slowCleanup);
// Its limit comes from the worker's config (TASK_ANNOTATIONS in the test).
app.task({ name: 'exec.slow_annotated' }, slowCleanup);

/** Retries itself once with a countdown, so the retry can be handed to a Python worker. */
app.task({ name: 'exec.handoff' }, ({ ctx }) => {
  if (ctx.retries < 1) ctx.retry({ countdown: 3 });
  return ['ts', ctx.retries];
});
