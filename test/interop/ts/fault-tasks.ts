// Tasks that make OUR worker raise its own exceptions (time limits, a lost worker thread, retries
// exhausted, Reject/Ignore), under the names test/interop/python/fault_tasks.py gives Python's.
// Run with `-P threads` so a hard time limit can stop the handler. Configured like tasks.ts.
import { Celery, Ignore, Reject } from '../../../src/index.js';
import { configFromEnv } from './env-config.js';

export const app = new Celery(configFromEnv());

/** Busy for `seconds` (CPU-bound: only a thread pool's hard limit stops it), or until aborted (soft limit). */
app.task('fault.sleep', async function (this: { signal: AbortSignal }, seconds: number) {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    if (this.signal.aborted) throw this.signal.reason;
    const spin = Date.now() + 50;
    while (Date.now() < spin) {
      /* CPU-bound */
    }
    await new Promise((r) => setImmediate(r));
  }
  return 'woke';
});

/** The thread dies under the task (Python: the pool process is SIGKILLed). */
app.task('fault.die', () => {
  process.exit(1);
});

app.task({ name: 'fault.retry', max_retries: 0, params: ['a', 'b'] }, ({ ctx }) => ctx.retry({ countdown: 0 }));

app.task('fault.reject', () => {
  throw new Reject('not for us', false);
});

app.task('fault.ignore', () => {
  throw new Ignore();
});
