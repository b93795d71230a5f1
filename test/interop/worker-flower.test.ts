// Interop, real Flower (pinned in test/interop/requirements.txt) watching a real ts-celery worker:
// online from our heartbeats, its inspect replies on refresh, and our tasks with their states,
// runtimes and results from our task events.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { Celery } from '../../src/index.js';
import { PYTHON_DIR, pollUntil, requirePython } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';
import { sparePort } from '../helpers/redis-server.js';
import { startTsWorker, type TsWorker } from '../helpers/ts-worker.js';
import { configFromEnv } from './ts/env-config.js';

const { url, token, prefix } = claimRedis('worker-flower');
const queue = `fl-${token}`;
const node = `fl-${token}@localhost`;
const env = { BROKER_URL: url, RESULT_BACKEND: url, KEYPREFIX: prefix, DEFAULT_QUEUE: queue };
let worker: TsWorker;
let flower: ChildProcess;
let port: number;
let flowerLog = '';
let app: Celery;

async function api<T>(path: string): Promise<T | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return res.ok ? ((await res.json()) as T) : undefined;
  } catch {
    return undefined; // not listening yet
  }
}

before(async () => {
  port = await sparePort();
  worker = await startTsWorker({ app: 'test/interop/ts/control-tasks.ts', queues: [queue], nodeName: node, env, concurrency: 2, extraArgs: ['-E'] });
  flower = spawn(requirePython(), ['-m', 'celery', '-A', 'interop_app', 'flower', `--port=${port}`, '--address=127.0.0.1'], {
    cwd: PYTHON_DIR,
    env: { ...process.env, ...env, PYTHONPATH: PYTHON_DIR, FLOWER_UNAUTHENTICATED_API: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  flower.stdout!.on('data', (c: Buffer) => (flowerLog += c.toString()));
  flower.stderr!.on('data', (c: Buffer) => (flowerLog += c.toString()));
  app = new Celery(configFromEnv(env));
});

after(async () => {
  if (flower && flower.exitCode === null) {
    const exited = new Promise((r) => flower.once('exit', r));
    flower.kill('SIGTERM');
    const timer = setTimeout(() => flower.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  await app?.close();
  await worker?.stop().catch(() => {});
  const redis = new Redis(url);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

test('Flower lists our worker online, shows its inspect replies, and our tasks with states, runtimes and results', async () => {
  const online = await pollUntil(
    `Flower to see ${node} online\n${flowerLog.slice(-1500)}`,
    async () => ((await api<Record<string, boolean>>('/api/workers?status=true'))?.[node] === true ? true : undefined),
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  assert.equal(online, true);

  const refreshed = await pollUntil(
    'the refreshed inspect replies',
    async () => (await api<Record<string, Record<string, unknown>>>('/api/workers?refresh=true'))?.[node],
    { timeoutMs: 20_000, intervalMs: 500 },
  );
  assert.deepEqual(refreshed.registered, ['ctl.add', 'ctl.block']);
  assert.equal((refreshed.stats as { prefetch_count: number }).prefetch_count, 8);
  assert.equal((refreshed.active_queues as { name: string }[])[0]!.name, queue);

  const results = await Promise.all([1, 2, 3].map((i) => app.sendTask('ctl.add', [i, i])));
  await Promise.all(results.map((r) => r.get({ timeout: 10 })));
  const tasks = await pollUntil(
    'Flower to show our tasks as SUCCESS',
    async () => {
      const all = await api<Record<string, { state: string; runtime: number | null; result: string; worker: string; name: string }>>('/api/tasks');
      const ours = results.map((r) => all?.[r.id]);
      return ours.every((t) => t?.state === 'SUCCESS') ? ours : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 250 },
  );
  assert.deepEqual(tasks.map((t) => t!.result), ['2', '4', '6']);
  assert.ok(tasks.every((t) => t!.name === 'ctl.add' && t!.worker === node && typeof t!.runtime === 'number'));
});
