// The TypeScript tasks module the worker interop tests load with `ts-celery worker -A`.
// Configured ONLY from environment variables, exactly like test/interop/python/interop_app.py
// (see env-config.ts), so both sides of a test share one broker, key prefix and default queue.
// The `fleet.*` tasks exist under the same names in test/interop/python/worker_tasks.py.
import { Redis } from 'ioredis';
import { z } from 'zod';
import { Celery, type TaskContext } from '../../../src/index.js';
import { configFromEnv } from './env-config.js';

const env = process.env;

export const app = new Celery(configFromEnv());

// Side-effect store for the tasks below (gates, run records); keys carry the test's prefix.
let redisClient: Redis | undefined;
function redis(): Redis {
  redisClient ??= new Redis(env.BROKER_URL ?? 'redis://127.0.0.1:6379/10', { maxRetriesPerRequest: 1 });
  return redisClient;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `key` exists in Redis (set by the test), at most `capMs`. */
async function waitForGate(key: string, signal: AbortSignal, capMs = 30_000): Promise<void> {
  const deadline = Date.now() + capMs;
  while (!(await redis().exists(key))) {
    if (signal.aborted) throw signal.reason;
    if (Date.now() > deadline) throw new Error(`gate ${key} was not opened within ${capMs} ms`);
    await sleep(25);
  }
}

/** Returns what it received: every JSON type must come back to Python unchanged. */
app.task({ name: 'ts.echo' }, ({ args, kwargs }) => ({ args, kwargs }));

/** Positional form: a kwarg or a missing argument is Python's TypeError. */
app.task('ts.add', (a: number, b: number) => a + b);

/** Python may pass report_id/format positionally or by keyword; zod validates. */
app.task(
  {
    name: 'ts.render',
    params: ['report_id', 'format'],
    kwargs: z.object({ report_id: z.number().int(), format: z.enum(['pdf', 'csv']).default('pdf') }),
  },
  ({ kwargs }) => ({ report_id: kwargs.report_id, format: kwargs.format }),
);

/** Retries once (countdown 0), then returns what it received and its retry count. */
app.task({ name: 'ts.retry_once' }, ({ args, kwargs, ctx }) => {
  if (ctx.retries === 0) ctx.retry({ countdown: 0 });
  return { args, kwargs, retries: ctx.retries };
});

/** A RangeError reaches Python as ValueError. */
app.task('ts.fail_range', (message: string) => {
  throw new RangeError(message);
});

class InsufficientFunds extends Error {
  override readonly name = 'InsufficientFunds';
}

/** A user-defined error class reaches Python under its own name. */
app.task('ts.fail_custom', (message: string) => {
  throw new InsufficientFunds(message);
});

class QuotaExceeded extends Error {
  override readonly name = 'QuotaExceeded';
  /** The Python module holding the class of the same name (the producer script here). */
  readonly pythonModule = 'worker_producer';
}

/** A user error class that chooses its Python class: worker_producer.QuotaExceeded. */
app.task('ts.fail_quota', (message: string) => {
  throw new QuotaExceeded(message);
});

/** Reports PROGRESS, then waits for the test to open `gate` before finishing. */
app.task(
  { name: 'ts.progress', params: ['gate', 'total'], kwargs: z.object({ gate: z.string(), total: z.number().int() }) },
  async ({ kwargs: { gate, total }, ctx }) => {
    await ctx.updateState('PROGRESS', { current: 1, total });
    await waitForGate(gate, ctx.signal);
    return { done: total };
  },
);

/** As interop.progress: PROGRESS {current, total} before each of n steps of `delay` seconds, then n (no Redis needed). */
app.task('ts.progress_steps', async function (this: TaskContext, n: number, delay: number) {
  for (let i = 0; i < n; i++) {
    await this.updateState('PROGRESS', { current: i, total: n });
    await sleep(delay * 1000);
  }
  return n;
});

/** When it ran (epoch seconds) and what it knew of its schedule and delivery. */
app.task('ts.info', function (this: TaskContext, tag: unknown = null) {
  return {
    tag,
    ran_at: Date.now() / 1000,
    eta: this.eta ? this.eta.toISOString() : null,
    queue: this.deliveryInfo.queue,
    routing_key: this.deliveryInfo.routingKey,
    exchange: this.deliveryInfo.exchange,
    priority: this.deliveryInfo.priority,
    redelivered: this.deliveryInfo.redelivered,
    hostname: this.hostname,
  };
});

/** Records that it ran (for ignore_result, where no result tells). */
app.task('ts.mark', async (key: string, value: string) => {
  await redis().set(key, value, 'EX', 300);
  return value;
});

/** The same, for a task declared with ignore_result. */
app.task({ name: 'ts.mark_ignored', ignore_result: true, params: ['key', 'value'] }, async ({ kwargs }) => {
  await redis().set(String(kwargs.key), String(kwargs.value), 'EX', 300);
  return kwargs.value;
});

/** The order tasks of one series started in (1, 2, 3, …) within this worker process. */
const sequences = new Map<string, number>();
app.task('ts.seq', (series: string, tag: string) => {
  const n = (sequences.get(series) ?? 0) + 1;
  sequences.set(series, n);
  return { tag, n };
});

// -------------------------------------------------------------------------------------------
// Tasks that Python's worker_tasks.py registers under the same names (mixed fleets).

/** Records the run (RPUSH runs_key id), sleeps a little, says which language ran it. */
app.task(
  {
    name: 'fleet.whoami',
    params: ['runs_key', 'delay_ms'],
    kwargs: z.object({ runs_key: z.string(), delay_ms: z.number().default(0) }),
  },
  async ({ kwargs: { runs_key, delay_ms }, ctx }) => {
    await redis().rpush(runs_key, JSON.stringify({ id: ctx.id, lang: 'typescript', node: ctx.hostname }));
    if (delay_ms > 0) await sleep(delay_ms);
    return { lang: 'typescript', node: ctx.hostname };
  },
);

/** acks_late; blocks until the test opens `gate`, then records the run. */
app.task(
  {
    name: 'fleet.gated',
    acks_late: true,
    params: ['gate', 'runs_key', 'value'],
    kwargs: z.object({ gate: z.string(), runs_key: z.string(), value: z.unknown() }),
  },
  async ({ kwargs: { gate, runs_key, value }, ctx }) => {
    await redis().rpush(`${runs_key}:started`, ctx.id);
    await waitForGate(gate, ctx.signal);
    await redis().rpush(runs_key, JSON.stringify({ id: ctx.id, lang: 'typescript', node: ctx.hostname }));
    return { value, lang: 'typescript', redelivered: ctx.deliveryInfo.redelivered };
  },
);
