// The bench's BullMQ runner (`npm run bench -- drain` starts it as its own process): N no-op
// jobs pre-filled on the bench Redis (db 15, own prefix), then a Worker at concurrency C drains
// them, keeping completed jobs and their return values (results on). Prints one JSON line:
// {"rate", "cpuPerTask", "rssMb"}; the drain is timed from the worker's start to the last completion.
import { Queue, Worker } from 'bullmq';

const url = new URL(process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/15');
const connection = { host: url.hostname, port: Number(url.port || 6379), db: Number(url.pathname.slice(1) || 0), maxRetriesPerRequest: null };
const prefix = `${process.env.BENCH_PREFIX ?? 'bench:'}bullmq`;
const n = Number(process.argv[2] ?? 20000);
const concurrency = Number(process.argv[3] ?? 50);

const queue = new Queue('bench-bullmq', { connection, prefix });
await queue.obliterate({ force: true });
for (let i = 0; i < n; i += 1000) {
  await queue.addBulk(Array.from({ length: Math.min(1000, n - i) }, () => ({ name: 'noop', data: {} })));
}
let done = 0;
let finished;
const allDone = new Promise((r) => (finished = r));
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const worker = new Worker('bench-bullmq', async () => null, { connection, prefix, concurrency });
worker.on('completed', () => {
  if (++done === n) finished();
});
await allDone;
const elapsed = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const rssMb = process.resourceUsage().maxRSS / 1024;
await worker.close();
await queue.obliterate({ force: true });
await queue.close();
console.log(JSON.stringify({ rate: (n / elapsed) * 1000, cpuPerTask: (cpu.user + cpu.system) / 1000 / n, rssMb }));
