// The tasks module the worker-crash scenarios and the soak start with `ts-celery worker -A`
// (bench/chaos/kill9.ts, bench/chaos/soak.ts); the same task names exist in
// bench/python/chaos_tasks.py for the Python replacement worker. Configured only from the
// environment, as the Python module is:
//   CHAOS_REDIS_URL            result backend, and broker unless CHAOS_BROKER_URL (a private redis-server)
//   CHAOS_BROKER_URL           broker (e.g. amqp://…; default CHAOS_REDIS_URL)
//   CHAOS_QUEUE                task_default_queue
//   CHAOS_VISIBILITY_TIMEOUT   broker_transport_options.visibility_timeout (s)
//   CHAOS_RESULT_EXPIRES       result_expires (s; unset = Celery's 1 day)
//   CHAOS_RUNS_KEY             the list chaos.record appends each execution to
import { Redis } from 'ioredis';
import { Celery } from '../../src/index.js';

const env = process.env;
const url = env.CHAOS_REDIS_URL;
if (!url) throw new Error('CHAOS_REDIS_URL is not set');

export const app = new Celery({
  broker_url: env.CHAOS_BROKER_URL || url,
  result_backend: url,
  task_default_queue: env.CHAOS_QUEUE ?? 'celery',
  broker_transport_options: env.CHAOS_VISIBILITY_TIMEOUT ? { visibility_timeout: Number(env.CHAOS_VISIBILITY_TIMEOUT) } : {},
  ...(env.CHAOS_RESULT_EXPIRES ? { result_expires: Number(env.CHAOS_RESULT_EXPIRES) } : {}),
});

let runs: Redis | undefined;

/** acks_late; appends `<task id> <pid> <ms since epoch>` to CHAOS_RUNS_KEY, so every execution (a rerun too) is counted. */
app.task({ name: 'chaos.record', acks_late: true }, async ({ ctx }) => {
  runs ??= new Redis(url, { maxRetriesPerRequest: null });
  await runs.rpush(env.CHAOS_RUNS_KEY ?? 'chaos:runs', `${ctx.id} ${process.pid} ${Date.now()}`);
  return null;
});

app.task('chaos.noop', () => null);
