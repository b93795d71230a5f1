// A worker and a beat started before their broker wait for it, as Celery's do
// (broker_connection_retry_on_startup): a private redis-server started by this file on a spare
// port appears after the worker and beat have logged Celery's retry lines; on RabbitMQ the
// "server appearing" is a TCP proxy to the real RabbitMQ that starts listening late.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { Celery } from '../../src/index.js';
import { REPO_ROOT } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';
import { type RedisServer, sparePort, startRedisServer } from '../helpers/redis-server.js';
import { runCli, startTsBeat, startTsWorker, type TsProcess } from '../helpers/ts-worker.js';
import { configFromEnv } from '../interop/ts/env-config.js';

const claim = claimRedis('startup-retry');
const { token } = claim;
const TASKS = 'test/interop/ts/tasks.ts';
const processes: TsProcess[] = [];
const servers: RedisServer[] = [];
const scratch = mkdtempSync(join(tmpdir(), `ts-celery-startup-${token}-`));

after(async () => {
  for (const p of processes) p.kill();
  await Promise.all(servers.map((s) => s.kill()));
  rmSync(scratch, { recursive: true, force: true });
});

test('a worker started before its Redis waits with Celery\'s retry lines, then runs a task', async () => {
  const port = await sparePort();
  const url = `redis://127.0.0.1:${port}/0`;
  const queue = `startup-${token}`;
  const nodeName = `startup-${token}@localhost`;
  const env = { BROKER_URL: url, RESULT_BACKEND: url, DEFAULT_QUEUE: queue };
  const worker = await startTsWorker({ app: TASKS, queues: [queue], nodeName, env, concurrency: 1, readyText: 'consumer: Cannot connect to' });
  processes.push(worker);
  await worker.waitForLog('Trying again in 2.00 seconds... (1/100)');
  assert.match(worker.logs(), new RegExp(`ERROR/MainProcess\\] consumer: Cannot connect to redis://127\\.0\\.0\\.1:${port}/0: connect ECONNREFUSED`));
  servers.push(await startRedisServer(port));
  await worker.waitForLog(`${nodeName} ready.`, 60_000);
  const client = new Celery(configFromEnv(env));
  try {
    const result = await client.sendTask('ts.add', [2, 3], {}, { queue });
    assert.equal(await result.get({ timeout: 10 }), 5);
  } finally {
    await client.close();
  }
  assert.deepEqual(await worker.stop(), { code: 0, signal: null });
});

test('beat started before its Redis waits with Celery\'s beat retry line, then sends its entries', async () => {
  const port = await sparePort();
  const url = `redis://127.0.0.1:${port}/0`;
  const queue = `startup-beat-${token}`;
  const module = join(scratch, 'schedule.ts');
  writeFileSync(
    module,
    `import { Celery } from ${JSON.stringify(resolve(REPO_ROOT, 'src/index.ts'))};\n` +
      `export const app = new Celery({ broker_url: ${JSON.stringify(url)}, beat_schedule: { tick: { task: 'ts.add', schedule: 1, args: [1, 2], options: { queue: ${JSON.stringify(queue)} } } } });\n`,
  );
  const beat = await startTsBeat(['-A', module], {}, 'beat: Connection error');
  processes.push(beat);
  await beat.waitForLog(new RegExp(`ERROR/MainProcess\\] beat: Connection error: Cannot connect to redis://127\\.0\\.0\\.1:${port}/0: connect ECONNREFUSED [^\\n]*\\. Trying again in 2\\.0 seconds\\.\\.\\.`));
  servers.push(await startRedisServer(port));
  const redis = new Redis(url);
  try {
    const deadline = Date.now() + 30_000;
    while ((await redis.llen(queue)) === 0) {
      assert.ok(Date.now() < deadline, `beat sent nothing after Redis came up; log:\n${beat.logs()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    redis.disconnect();
  }
  assert.deepEqual(await beat.stop(), { code: 0, signal: null });
});

test('a worker started before RabbitMQ answers waits, then runs a task; without retries it exits at once', async () => {
  const port = await sparePort();
  const broker = `amqp://guest:guest@127.0.0.1:${port}//`;
  const backend = claim.url;
  const queue = `startup-amqp-${token}`;
  const nodeName = `startup-amqp-${token}@localhost`;
  const env = { BROKER_URL: broker, RESULT_BACKEND: backend, DEFAULT_QUEUE: queue, KEYPREFIX: `${token}:` };
  const worker = await startTsWorker({ app: TASKS, queues: [queue], nodeName, env, concurrency: 1, readyText: 'Trying again in 2.00 seconds... (1/100)' });
  processes.push(worker);
  // The password is masked (here it equals the user name, which the log redaction masks with it).
  assert.match(worker.logs(), new RegExp(`consumer: Cannot connect to amqp://[^:/]*:\\*\\*@127\\.0\\.0\\.1:${port}//: .*ECONNREFUSED`));
  // RabbitMQ "comes up" on the port: a proxy to the real one starts listening.
  const sockets = new Set<Socket>();
  const proxy: Server = createServer((inbound) => {
    const outbound = createConnection(5672, '127.0.0.1');
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((r) => proxy.listen(port, '127.0.0.1', r));
  const client = new Celery(configFromEnv(env));
  try {
    await worker.waitForLog(`${nodeName} ready.`, 60_000);
    const result = await client.sendTask('ts.add', [20, 22], {}, { queue });
    assert.equal(await result.get({ timeout: 10 }), 42);
    assert.deepEqual(await worker.stop(), { code: 0, signal: null });
  } finally {
    await client.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => proxy.close(r));
    await claim.deleteKeys();
  }
  // broker_connection_retry_on_startup: false fails the start at once, naming the broker.
  const noRetry = join(scratch, 'no-retry.ts');
  writeFileSync(noRetry, `import { Celery } from ${JSON.stringify(resolve(REPO_ROOT, 'src/index.ts'))};\nexport const app = new Celery({ broker_url: ${JSON.stringify(broker)}, broker_connection_retry_on_startup: false });\n`);
  const run = await runCli(['worker', '-A', noRetry, '-n', `noretry-${token}@localhost`]);
  assert.notEqual(run.code, 0);
  assert.doesNotMatch(run.stdout + run.stderr, /Trying again/);
  assert.match(run.stderr, new RegExp(`Cannot connect to amqp://[^:/]*:\\*\\*@127\\.0\\.0\\.1:${port}//`));
});
