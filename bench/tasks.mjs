// The benchmark's tasks module for the shipped CLI (`node dist/cli/main.js worker -A bench/tasks.mjs`):
// compiled JavaScript, as a production deployment runs it (no TypeScript loader in the process).
import { Celery } from '../dist/index.js';

const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/15';
// BENCH_BROKER_URL (amqp://…) runs the RabbitMQ benchmark; results stay on Redis.
const brokerUrl = process.env.BENCH_BROKER_URL || redisUrl;
export const app = new Celery({
  broker_url: brokerUrl,
  result_backend: redisUrl,
  broker_transport_options: brokerUrl.startsWith('amqp') ? {} : { global_keyprefix: process.env.BENCH_PREFIX ?? 'bench:' },
  result_backend_transport_options: { global_keyprefix: process.env.BENCH_PREFIX ?? 'bench:' },
  // The scale section's ETA point holds 10k messages (the default limit, 1000, would cycle them).
  ...(process.env.BENCH_ETA_LIMIT ? { worker_eta_task_limit: Number(process.env.BENCH_ETA_LIMIT) } : {}),
});

app.task('bench.noop', () => null);
app.task('bench.add', (a, b) => a + b);
app.task({ name: 'bench.noop_late', acks_late: true }, () => null);
// I/O-bound: a 20 ms await (a database or HTTP call's latency).
app.task('bench.io', () => new Promise((resolve) => setTimeout(resolve, 20, null)));
