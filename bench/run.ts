// `npm run bench`: publish throughput, worker drain throughput, round-trip latency and worker
// memory, each against Python Celery and the raw Redis floor measured in the same run on the
// same Redis (db 15, key prefix `bench:`), then the same on RabbitMQ. Prints ratios; not a test.
//   `npm run bench -- publish|drain|memory|latency|rabbitmq|scale|worker` runs one section (scale and worker
//   are not in the default run: scale = -c and process curves, I/O-bound tasks, backlog growth,
//   ETA-held messages; worker = our worker alone, no flags, BENCH_REPEAT times, to compare a change).
//   BENCH_BACKLOG (default 10000,100000; add 1000000 for the large point) for scale's backlog curve.
//   BENCH_N (default 20000) tasks for our runs, BENCH_PY_N (default 5000) for Python's.
//   BENCH_WORKER_NODE_OPTIONS: NODE_OPTIONS for our worker only (e.g. V8 heap flags).
// Our worker runs as shipped: the compiled CLI (dist/, built by `npm ci`/`npm run build`).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { once } from 'node:events';
import amqplib from 'amqplib';
import { Redis } from 'ioredis';
import { Celery } from '../src/index.js';
import { encodeRedisEnvelope } from '../src/protocol/envelope.js';
import { newId } from '../src/protocol/ids.js';
import { buildTaskMessage } from '../src/protocol/task-message.js';
import { REPO_ROOT, requirePython } from '../test/helpers/python.js';

const URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/15';
const PREFIX = process.env.BENCH_PREFIX ?? 'bench:';
const N = Number(process.env.BENCH_N ?? 20000);
const PY_N = Number(process.env.BENCH_PY_N ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const env: NodeJS.ProcessEnv = { ...process.env, BENCH_REDIS_URL: URL, BENCH_PREFIX: PREFIX, CELERY_BROKER_URL: '', CELERY_RESULT_BACKEND: '' };
const redis = new Redis(URL);
const rows: [string, string][] = [];

const rate = (n: number, ms: number) => (n / ms) * 1000;
const fmt = (r: number) => `${Math.round(r).toLocaleString('en-US')}/s`;
function report(label: string, value: string): void {
  rows.push([label, value]);
  console.log(`${label.padEnd(58)} ${value}`);
}

async function reset(): Promise<void> {
  const keys = await redis.keys(`${PREFIX}*`);
  for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
}

function app(): Celery {
  return new Celery({
    broker_url: URL,
    result_backend: URL,
    broker_transport_options: { global_keyprefix: PREFIX },
    result_backend_transport_options: { global_keyprefix: PREFIX },
  });
}

async function inFlight(n: number, batch: number, send: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < n; i += batch) await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, j) => send(i + j)));
}

// ---------------------------------------------------------------------------------------------
// Publish

async function publishBench(): Promise<void> {
  console.log(`\n== publish (${N.toLocaleString()} tasks; Python ${PY_N.toLocaleString()}) ==`);
  const id = newId();
  const sample = encodeRedisEnvelope(
    buildTaskMessage({ id, task: 'bench.noop', args: [], kwargs: {}, replyTo: newId(), origin: 'gen1@bench' }),
    { exchange: '', routingKey: 'bench-pub', deliveryTag: newId() },
  );
  const key = `${PREFIX}bench-raw`;
  let t = performance.now();
  for (let i = 0; i < N; i++) await redis.lpush(key, sample);
  const rawSeq = rate(N, performance.now() - t);
  await redis.del(key);
  t = performance.now();
  await inFlight(N, 1000, () => redis.lpush(key, sample));
  const rawPar = rate(N, performance.now() - t);
  await redis.del(key);

  const a = app();
  await a.sendTask('bench.noop', [], {}, { queue: 'bench-pub' }); // connect + declare
  t = performance.now();
  for (let i = 0; i < N; i++) await a.sendTask('bench.noop', [], {}, { queue: 'bench-pub' });
  const oursSeq = rate(N, performance.now() - t);
  t = performance.now();
  await inFlight(N, 1000, () => a.sendTask('bench.noop', [], {}, { queue: 'bench-pub' }));
  const oursPar = rate(N, performance.now() - t);
  await a.close();

  const py = JSON.parse(await runPython(['bench/python/send_tasks.py', String(PY_N), 'bench-pub'])) as { rate: number };
  await reset();
  report('raw Redis LPUSH, awaited one by one', fmt(rawSeq));
  report('raw Redis LPUSH, 1000 in flight', fmt(rawPar));
  report('Python send_task (celery 5.7), sequential', fmt(py.rate));
  report('ts-celery sendTask, awaited one by one', `${fmt(oursSeq)}  = ${(oursSeq / py.rate).toFixed(1)}× Python, ${((oursSeq / rawSeq) * 100).toFixed(0)}% of raw`);
  report('ts-celery sendTask, 1000 in flight', `${fmt(oursPar)}  = ${(oursPar / py.rate).toFixed(1)}× Python, ${((oursPar / rawPar) * 100).toFixed(0)}% of raw`);
}

// ---------------------------------------------------------------------------------------------
// Drain

async function prefill(queue: string, n: number, ignoreResult: boolean, task = 'bench.noop', options: { countdown?: number } = {}): Promise<void> {
  const a = app();
  await inFlight(n, 1000, () => a.sendTask(task, [], {}, { queue, ignore_result: ignoreResult, ...options }));
  await a.close();
}

/** Until `n` results are stored (a drain with ETA-held messages in the unacked hash). */
async function waitResults(n: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (((await redis.eval(COUNT_RESULTS, 0, `${PREFIX}celery-task-meta-*`)) as number) < n) {
    if (Date.now() > deadline) throw new Error(`${n} results were not stored in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Lua: how many result keys exist (to know when a drain with results is complete). */
const COUNT_RESULTS = `return #redis.call('keys', ARGV[1])`;

async function waitDrained(queue: string, n: number, withResults: boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [len, unacked] = await Promise.all([redis.llen(`${PREFIX}${queue}`), redis.hlen(`${PREFIX}unacked`)]);
    if (len === 0 && unacked === 0) {
      if (!withResults) return;
      const count = (await redis.eval(COUNT_RESULTS, 0, `${PREFIX}celery-task-meta-*`)) as number;
      if (count >= n) return;
    }
    if (Date.now() > deadline) throw new Error(`drain of ${queue} did not finish in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function startProcess(cmd: string, args: string[], readyPattern: RegExp): Promise<{ child: ChildProcess }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const onData = (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-20_000);
      if (readyPattern.test(log)) resolvePromise({ child });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${cmd} exited with ${code} before ready:\n${log.slice(-2000)}`)));
  });
}

/** Drain timing starts at the first fetch (start-up excluded, for Python and us alike). */
async function firstFetch(queue: string, n: number, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while ((await redis.llen(`${PREFIX}${queue}`)) >= n) {
    if (Date.now() > deadline) throw new Error(`nobody consumed ${queue}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return performance.now();
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** User + system CPU of a process so far, in ms (/proc/<pid>/stat utime + stime, clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The process and its descendants (a `--processes N` supervisor's workers). */
function processTree(pid: number): number[] {
  const children = readdirSync(`/proc/${pid}/task`).flatMap((tid) => readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number));
  return [pid, ...children.flatMap(processTree)];
}

const treeCpuMs = (pid: number) => processTree(pid).reduce((sum, p) => sum + cpuMs(p), 0);

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/** Proportional set size: shared pages (prefork children share the parent's) counted once in all. */
function pssMb(pid: number): number {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) / 1024;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

interface DrainFigures {
  rate: number;
  rssMb: number;
  /** Worker CPU (user + system) per task during the drain, in ms. */
  cpuPerTask: number;
}

interface DrainSetup {
  task?: string;
  /** ETA-held messages (countdown 1 h) queued before the n to drain. */
  etaHeld?: number;
}

async function drainOurs(n: number, withResults: boolean, workerArgs: string[] = ['-c', String(CONCURRENCY)], setup: DrainSetup = {}): Promise<DrainFigures & { idleRssMb: number }> {
  const queue = 'bench-drain';
  await reset();
  if (setup.etaHeld) await prefill(queue, setup.etaHeld, false, 'bench.noop', { countdown: 3600 });
  await prefill(queue, n, !withResults, setup.task);
  const total = n + (setup.etaHeld ?? 0);
  const { child } = await startProcess(
    process.execPath,
    [...(process.env.BENCH_WORKER_NODE_OPTIONS?.split(' ').filter(Boolean) ?? []), 'dist/cli/main.js', 'worker', '-A', 'bench/tasks.mjs', '-Q', queue, ...workerArgs, '-l', 'warning', '-n', 'bench-ts@%h'],
    /\[tasks\]/,
  );
  try {
    const idleRssMb = processTree(child.pid!).reduce((sum, p) => sum + rssMb(p), 0);
    const cpuBefore = treeCpuMs(child.pid!);
    const started = await firstFetch(queue, total);
    if (setup.etaHeld) await waitResults(n, 600_000);
    else await waitDrained(queue, n, withResults, 600_000);
    const elapsed = performance.now() - started;
    const peakMb = processTree(child.pid!).reduce((sum, p) => sum + peakRssMb(p), 0);
    return { rate: rate(n, elapsed), rssMb: peakMb, idleRssMb, cpuPerTask: (treeCpuMs(child.pid!) - cpuBefore) / n };
  } finally {
    await stopProcess(child);
  }
}

async function drainPython(n: number, pool: 'prefork' | 'threads'): Promise<number> {
  const queue = 'bench-drain';
  await reset();
  await prefill(queue, n, false);
  const { child } = await startProcess(
    requirePython(),
    ['-m', 'celery', '-A', 'bench_app', 'worker', '-P', pool, '-c', '2', '--without-mingle', '--without-gossip', '-Q', queue, '-n', `bench-py-${pool}@%h`, '-l', 'INFO'],
    /ready\./,
  );
  try {
    const started = await firstFetch(queue, n);
    await waitDrained(queue, n, true, 600_000);
    return rate(n, performance.now() - started);
  } finally {
    await stopProcess(child);
  }
}

/** RSS and PSS of a process tree once ready and after `settleMs` with nothing to do. */
async function idleMemory(command: string, args: string[], ready: RegExp, settleMs: number): Promise<{ readyRss: number; rss: number; pss: number }> {
  await reset();
  const { child } = await startProcess(command, args, ready);
  try {
    const readyRss = processTree(child.pid!).reduce((sum, p) => sum + rssMb(p), 0);
    await new Promise((r) => setTimeout(r, settleMs));
    const tree = processTree(child.pid!);
    return { readyRss, rss: tree.reduce((sum, p) => sum + rssMb(p), 0), pss: tree.reduce((sum, p) => sum + pssMb(p), 0) };
  } finally {
    await stopProcess(child);
  }
}

/** Idle memory of a worker with nothing queued: ours (no flags) beside Python prefork -c 2. */
async function memoryBench(): Promise<void> {
  const settleMs = 12_000;
  console.log(`\n== idle worker memory (empty queue; at ready and after ${settleMs / 1000} s idle) ==`);
  const ours = await idleMemory(process.execPath, ['dist/cli/main.js', 'worker', '-A', 'bench/tasks.mjs', '-Q', 'bench-idle', '-l', 'warning', '-n', 'bench-idle@%h'], /\[tasks\]/, settleMs);
  const py = await idleMemory(requirePython(), ['-m', 'celery', '-A', 'bench_app', 'worker', '-P', 'prefork', '-c', '2', '--without-mingle', '--without-gossip', '-Q', 'bench-idle', '-n', 'bench-py-idle@%h', '-l', 'INFO'], /ready\./, settleMs);
  report('Python worker -P prefork -c 2 (3 processes), idle', `RSS ${py.rss.toFixed(0)} MB, PSS ${py.pss.toFixed(0)} MB`);
  // Our PSS is left out: it would split the node binary's pages with the bench's own Node process.
  report('ts-celery worker, no flags, idle', `RSS ${ours.readyRss.toFixed(0)} MB at ready, ${ours.rss.toFixed(0)} MB settled`);
}

async function rawDrainFloor(n: number): Promise<number> {
  const key = `${PREFIX}bench-raw-drain`;
  const a = app();
  const sample = encodeRedisEnvelope(
    buildTaskMessage({ id: newId(), task: 'bench.noop', args: [], kwargs: {}, replyTo: newId(), origin: 'gen1@bench' }),
    { exchange: '', routingKey: 'bench-raw-drain', deliveryTag: newId() },
  );
  await inFlight(n, 1000, () => redis.lpush(key, sample));
  await a.close();
  // The floor: pop every message (100 per round trip) and write one result key each — no
  // bookkeeping, no decoding: what Redis itself allows a consumer on this machine.
  const t = performance.now();
  let popped = 0;
  while (popped < n) {
    const batch = (await redis.rpop(key, 100)) ?? [];
    if (batch.length === 0) break;
    const pipe = redis.pipeline();
    for (let i = 0; i < batch.length; i++) pipe.set(`${PREFIX}raw-result-${popped + i}`, '{"status":"SUCCESS"}', 'EX', 60);
    await pipe.exec();
    popped += batch.length;
  }
  return rate(popped, performance.now() - t);
}

async function drainBench(): Promise<void> {
  console.log(`\n== worker drain (${N.toLocaleString()} no-op tasks pre-filled; Python ${PY_N.toLocaleString()}) ==`);
  const floor = await rawDrainFloor(N);
  report('raw Redis floor (RPOP 100/round trip + SET result)', fmt(floor));
  const pyPrefork = await drainPython(PY_N, 'prefork');
  report('Python worker -P prefork -c 2, results on', fmt(pyPrefork));
  const pyThreads = await drainPython(PY_N, 'threads');
  report('Python worker -P threads -c 2, results on', fmt(pyThreads));
  const cpu = (f: DrainFigures) => `${f.cpuPerTask.toFixed(3)} ms CPU/task`;
  const noFlags = await drainOurs(N, true, []);
  report('ts-celery worker, no flags, results on', `${fmt(noFlags.rate)}  = ${(noFlags.rate / pyPrefork).toFixed(1)}× prefork, ${(noFlags.rate / pyThreads).toFixed(1)}× threads, ${((noFlags.rate / floor) * 100).toFixed(0)}% of floor, ${cpu(noFlags)}`);
  report('ts-celery worker, no flags: idle RSS / peak RSS', `${noFlags.idleRssMb.toFixed(0)} MB / ${noFlags.rssMb.toFixed(0)} MB`);
  const withResults = await drainOurs(N, true);
  report(`ts-celery worker -c ${CONCURRENCY}, results on`, `${fmt(withResults.rate)}  ${cpu(withResults)}`);
  const late = await drainOurs(N, true, [], { task: 'bench.noop_late' });
  report('ts-celery worker, no flags, acks_late task', `${fmt(late.rate)}  = ${((late.rate / noFlags.rate) * 100).toFixed(0)}% of early ack, ${cpu(late)}`);
  const noResults = await drainOurs(N, false, []);
  report('ts-celery worker, no flags, results off', `${fmt(noResults.rate)}  = ${(noResults.rate / pyPrefork).toFixed(1)}× prefork, ${cpu(noResults)}`);
  report('ts-celery worker peak RSS', `${Math.max(noFlags.rssMb, withResults.rssMb, late.rssMb, noResults.rssMb).toFixed(0)} MB`);
  await reset();
  const bull = JSON.parse(await runNode(['bench/bullmq.mjs', String(N), '50'])) as { rate: number; cpuPerTask: number; rssMb: number };
  report('BullMQ Worker concurrency 50, results kept', `${fmt(bull.rate)}  ${bull.cpuPerTask.toFixed(3)} ms CPU/task, peak RSS ${bull.rssMb.toFixed(0)} MB; ts-celery no flags = ${(noFlags.rate / bull.rate).toFixed(2)}×`);
}

/** `npm run bench -- worker`: our worker alone, no flags, BENCH_REPEAT times (default 3) — for
 * comparing a change, BENCH_WORKER_NODE_OPTIONS or BENCH_WORKER_ARGS (worker flags) without the
 * Python and BullMQ runs. BENCH_TASK names the task (bench/tasks.mjs; default bench.noop). */
async function workerBench(): Promise<void> {
  const repeat = Number(process.env.BENCH_REPEAT ?? 3);
  const args = process.env.BENCH_WORKER_ARGS?.split(' ').filter(Boolean) ?? [];
  const task = process.env.BENCH_TASK ?? 'bench.noop';
  console.log(`\n== our worker alone, ${args.length ? args.join(' ') : 'no flags'} (${N.toLocaleString()} ${task} tasks, results on, ${repeat} runs) ==`);
  for (let i = 1; i <= repeat; i++) {
    const f = await drainOurs(N, true, args, { task });
    report(`run ${i}`, `${fmt(f.rate).padStart(9)}  ${f.cpuPerTask.toFixed(3)} ms CPU/task, idle RSS ${f.idleRssMb.toFixed(0)} MB, peak RSS ${f.rssMb.toFixed(0)} MB`);
  }
}

// ---------------------------------------------------------------------------------------------
// Scale: -c and process curves, I/O-bound tasks, backlog growth, ETA-held messages

async function scaleBench(): Promise<void> {
  const n = Math.min(N, 10_000);
  console.log(`\n== scale (${n.toLocaleString()} no-op tasks per point unless said; results on) ==`);
  const point = (f: DrainFigures) => `${fmt(f.rate).padStart(9)}  ${f.cpuPerTask.toFixed(3)} ms CPU/task, peak RSS ${f.rssMb.toFixed(0)} MB`;
  for (const c of [1, 4, 16, 50, 100, 256]) report(`no-op, -c ${c}`, point(await drainOurs(n, true, ['-c', String(c)])));
  const ioN = 2000;
  for (const c of [10, 50, 100, 200, 500]) report(`20 ms I/O task (${ioN}), -c ${c}`, point(await drainOurs(ioN, true, ['-c', String(c)], { task: 'bench.io' })));
  for (const p of [1, 2, 3, 4]) report(`no-op, --processes ${p} (${N.toLocaleString()}), total`, point(await drainOurs(N, true, ['--processes', String(p)])));
  const backlogs = (process.env.BENCH_BACKLOG ?? '10000,100000').split(',').map(Number);
  for (const b of backlogs) report(`no-op, backlog ${b.toLocaleString()} pending`, point(await drainOurs(b, true, [])));
  env.BENCH_ETA_LIMIT = '20000';
  try {
    report(`no-op (${n.toLocaleString()}) beside 10,000 ETA-held messages`, point(await drainOurs(n, true, [], { etaHeld: 10_000 })));
  } finally {
    delete env.BENCH_ETA_LIMIT;
  }
}

// ---------------------------------------------------------------------------------------------
// RabbitMQ (broker amqp://, results on Redis)

const AMQP_URL = process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672//';

async function amqpQueue(op: 'purge' | 'size' | 'delete', queue: string): Promise<number> {
  const conn = await amqplib.connect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    if (op === 'purge') return (await ch.purgeQueue(queue).catch(() => ({ messageCount: 0 }))).messageCount;
    if (op === 'size') return (await ch.checkQueue(queue).catch(() => ({ messageCount: 0 }))).messageCount;
    await ch.deleteQueue(queue).catch(() => undefined);
    await ch.deleteExchange(queue).catch(() => undefined);
    return 0;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

async function waitAmqpSize(queue: string, n: number): Promise<void> {
  while ((await amqpQueue('size', queue)) < n) await new Promise((r) => setTimeout(r, 20));
}

/** As firstFetch: timing starts once the worker has taken its first messages (start-up excluded). */
async function firstDelivery(queue: string, n: number, timeoutMs = 60_000): Promise<number> {
  const conn = await amqplib.connect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    const deadline = Date.now() + timeoutMs;
    while ((await ch.checkQueue(queue)).messageCount >= n) {
      if (Date.now() > deadline) throw new Error(`nobody consumed ${queue}`);
      await new Promise((r) => setTimeout(r, 2));
    }
    return performance.now();
  } finally {
    await conn.close().catch(() => undefined);
  }
}

async function drainOnRabbit(cmd: string, args: string[], n: number, withEnv: NodeJS.ProcessEnv, queueType: 'classic' | 'quorum' = 'classic'): Promise<{ rate: number; rssMb: number; cpuPerTask: number }> {
  const queue = queueType === 'quorum' ? 'bench-amqp-drain-quorum' : 'bench-amqp-drain';
  await reset();
  await amqpQueue('purge', queue);
  // A quorum queue is declared so by the producer (task_default_queue_type); the worker finds it quorum.
  const a = new Celery({ broker_url: AMQP_URL, result_backend: URL, result_backend_transport_options: { global_keyprefix: PREFIX }, task_default_queue_type: queueType });
  await inFlight(n, 1000, () => a.sendTask('bench.noop', [], {}, { queue }));
  await a.close();
  await waitAmqpSize(queue, n);
  const saved = { ...env };
  Object.assign(env, withEnv);
  const { child } = await startProcess(cmd, [...args, '-Q', queue], cmd === process.execPath ? /\[tasks\]/ : /ready\./);
  Object.assign(env, saved);
  try {
    const cpuBefore = treeCpuMs(child.pid!);
    const started = await firstDelivery(queue, n);
    const deadline = Date.now() + 600_000;
    for (;;) {
      const count = (await redis.eval(COUNT_RESULTS, 0, `${PREFIX}celery-task-meta-*`)) as number;
      if (count >= n) break;
      if (Date.now() > deadline) throw new Error('RabbitMQ drain did not finish');
      await new Promise((r) => setTimeout(r, 20));
    }
    const elapsed = performance.now() - started;
    return { rate: rate(n, elapsed), rssMb: peakRssMb(child.pid!), cpuPerTask: (treeCpuMs(child.pid!) - cpuBefore) / n };
  } finally {
    await stopProcess(child);
    await amqpQueue('delete', queue);
  }
}

async function rabbitBench(): Promise<void> {
  console.log(`\n== RabbitMQ broker, results on Redis (${N.toLocaleString()} tasks; Python ${PY_N.toLocaleString()}) ==`);
  const queue = 'bench-amqp-pub';
  const amqpEnv = { BENCH_BROKER_URL: AMQP_URL };
  // Floor: the same message published with amqplib alone, with backpressure, until all are queued.
  const sample = buildTaskMessage({ id: newId(), task: 'bench.noop', args: [], kwargs: {}, replyTo: newId(), origin: 'gen1@bench' });
  const a = new Celery({ broker_url: AMQP_URL, result_backend: URL, result_backend_transport_options: { global_keyprefix: PREFIX } });
  await a.sendTask('bench.noop', [], {}, { queue }); // connect + declare
  await amqpQueue('purge', queue);
  const conn = await amqplib.connect(AMQP_URL);
  const ch = await conn.createChannel();
  let t = performance.now();
  for (let i = 0; i < N; i++) {
    if (!ch.publish('', queue, sample.body, { contentType: sample.contentType, contentEncoding: sample.contentEncoding, headers: sample.headers, deliveryMode: 2 })) await once(ch, 'drain');
  }
  await waitAmqpSize(queue, N);
  const raw = rate(N, performance.now() - t);
  await conn.close();
  await amqpQueue('purge', queue);
  t = performance.now();
  await inFlight(N, 1000, () => a.sendTask('bench.noop', [], {}, { queue }));
  await waitAmqpSize(queue, N);
  const ours = rate(N, performance.now() - t);
  await a.close();
  await amqpQueue('purge', queue);
  const saved = { ...env };
  Object.assign(env, amqpEnv);
  const py = JSON.parse(await runPython(['bench/python/send_tasks.py', String(PY_N), queue])) as { rate: number };
  Object.assign(env, saved);
  await amqpQueue('delete', queue);
  report('raw amqplib publish (backpressure), until queued', fmt(raw));
  report('Python send_task over RabbitMQ, sequential', fmt(py.rate));
  report('ts-celery sendTask over RabbitMQ, 1000 in flight', `${fmt(ours)}  = ${(ours / py.rate).toFixed(1)}× Python, ${((ours / raw) * 100).toFixed(0)}% of raw`);
  const pyDrain = await drainOnRabbit(requirePython(), ['-m', 'celery', '-A', 'bench_app', 'worker', '-P', 'prefork', '-c', '2', '--without-mingle', '--without-gossip', '-n', 'bench-py-amqp@%h', '-l', 'INFO'], PY_N, amqpEnv);
  report('Python worker on RabbitMQ -P prefork -c 2, results on', fmt(pyDrain.rate));
  const ourArgs = (flags: string[]) => ['dist/cli/main.js', 'worker', '-A', 'bench/tasks.mjs', ...flags, '-l', 'warning', '-n', 'bench-ts-amqp@%h'];
  const figures = (f: { rate: number; rssMb: number; cpuPerTask: number }) => `${f.cpuPerTask.toFixed(3)} ms CPU/task, peak RSS ${f.rssMb.toFixed(0)} MB`;
  const ourDrain = await drainOnRabbit(process.execPath, ourArgs([]), N, amqpEnv);
  report('ts-celery worker on RabbitMQ, no flags, results on', `${fmt(ourDrain.rate)}  = ${(ourDrain.rate / pyDrain.rate).toFixed(1)}× prefork, ${figures(ourDrain)}`);
  const small = await drainOnRabbit(process.execPath, ourArgs(['-c', String(CONCURRENCY)]), N, amqpEnv);
  report(`ts-celery worker on RabbitMQ -c ${CONCURRENCY}, results on`, `${fmt(small.rate)}  ${figures(small)}`);
  // The same drain from a quorum queue (per-consumer prefetch; every message replicated through Raft).
  const quorumDrain = await drainOnRabbit(process.execPath, ourArgs([]), N, amqpEnv, 'quorum');
  report('ts-celery worker on RabbitMQ, no flags, QUORUM queue', `${fmt(quorumDrain.rate)}  = ${((quorumDrain.rate / ourDrain.rate) * 100).toFixed(0)}% of the classic-queue drain, ${figures(quorumDrain)}`);
}

// ---------------------------------------------------------------------------------------------
// Latency

async function latencyBench(): Promise<void> {
  const calls = 1000;
  console.log(`\n== round trip (send → result), ${calls} sequential calls ==`);
  await reset();
  const { child } = await startProcess(
    process.execPath,
    [...(process.env.BENCH_WORKER_NODE_OPTIONS?.split(' ').filter(Boolean) ?? []), 'dist/cli/main.js', 'worker', '-A', 'bench/tasks.mjs', '-Q', 'bench-rtt', '-l', 'warning', '-n', 'bench-rtt@%h'],
    /\[tasks\]/,
  );
  const a = app();
  try {
    await (await a.sendTask('bench.add', [1, 1], {}, { queue: 'bench-rtt' })).get({ timeout: 10 });
    const samples: number[] = [];
    for (let i = 0; i < calls; i++) {
      const t = performance.now();
      await (await a.sendTask('bench.add', [i, 1], {}, { queue: 'bench-rtt' })).get({ timeout: 10 });
      samples.push(performance.now() - t);
    }
    samples.sort((x, y) => x - y);
    const pct = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!;
    report('ts-celery → ts-celery worker round trip p50', `${pct(0.5).toFixed(2)} ms`);
    report('ts-celery → ts-celery worker round trip p99', `${pct(0.99).toFixed(2)} ms`);
    const fromPython = JSON.parse(await runPython(['bench/python/round_trip.py', String(calls), 'bench-rtt'])) as { p50: number; p99: number };
    report('Python client → ts-celery worker round trip p50 / p99', `${fromPython.p50.toFixed(2)} / ${fromPython.p99.toFixed(2)} ms`);
  } finally {
    await a.close();
    await stopProcess(child);
  }
  // The same Python client against a Python worker (prefork -c 2), for the ratio.
  const python = await startProcess(
    requirePython(),
    ['-m', 'celery', '-A', 'bench_app', 'worker', '-P', 'prefork', '-c', '2', '--without-mingle', '--without-gossip', '-Q', 'bench-rtt-py', '-n', 'bench-rtt-py@%h', '-l', 'INFO'],
    /ready\./,
  );
  try {
    const pyToPy = JSON.parse(await runPython(['bench/python/round_trip.py', String(calls), 'bench-rtt-py'])) as { p50: number; p99: number };
    report('Python client → Python worker (prefork -c 2) round trip p50 / p99', `${pyToPy.p50.toFixed(2)} / ${pyToPy.p99.toFixed(2)} ms`);
  } finally {
    await stopProcess(python.child);
  }
}

function runNode(args: string[]): Promise<string> {
  return runProcess(process.execPath, args, env);
}

function runPython(args: string[]): Promise<string> {
  return runProcess(requirePython(), args, { ...env, PYTHONPATH: resolve(REPO_ROOT, 'bench/python') });
}

function runProcess(cmd: string, args: string[], childEnv: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env: childEnv });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('exit', (code) => (code === 0 ? resolvePromise(out.trim().split('\n').at(-1)!) : reject(new Error(err.slice(-2000)))));
  });
}

env.PYTHONPATH = resolve(REPO_ROOT, 'bench/python');
requirePython();
if (!existsSync(resolve(REPO_ROOT, 'dist/cli/main.js'))) throw new Error('run `npm run build` first: the bench measures the compiled CLI');
await reset();
try {
  const only = process.argv[2];
  if (!only || only === 'publish') await publishBench();
  if (!only || only === 'drain') await drainBench();
  if (!only || only === 'memory') await memoryBench();
  if (!only || only === 'latency') await latencyBench();
  if (!only || only === 'rabbitmq') await rabbitBench();
  if (only === 'scale') await scaleBench();
  if (only === 'worker') await workerBench();
} finally {
  await reset();
  redis.disconnect();
}
console.log('\nsummary');
for (const [label, value] of rows) console.log(`  ${label}: ${value}`);
