// The metrics port as an operator uses it: `ts-celery worker --metrics-port` and `ts-celery beat
// --metrics-port` started through the CLI on a private redis-server, scraped over HTTP; beat's
// /readyz is ready as leader and as standby, and flips when its Redis goes away and comes back.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Celery } from '../../src/app.js';
import { type RedisServer, sparePort, startRedisServer } from '../helpers/redis-server.js';
import { probe, scrape, total } from '../helpers/prometheus.js';
import { uniqueToken } from '../helpers/redis.js';
import { startTsBeat, startTsWorker, type TsProcess } from '../helpers/ts-worker.js';

const token = uniqueToken();
const processes: TsProcess[] = [];
let redis: RedisServer | undefined;

after(async () => {
  for (const p of processes) await p.stop().catch(() => {});
  await redis?.kill();
});

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('ts-celery worker --metrics-port: curl /metrics shows the counts of what it ran', async () => {
  redis ??= await startRedisServer();
  const port = await sparePort();
  const queue = `cli-metrics-${token}`;
  const worker = await startTsWorker({
    app: 'test/interop/ts/tasks.ts',
    queues: [queue],
    nodeName: `metrics-${token}@probe-host`,
    env: { BROKER_URL: redis.url, RESULT_BACKEND: redis.url },
    concurrency: 4,
    extraArgs: ['--metrics-port', String(port)],
  });
  processes.push(worker);
  assert.match(worker.logs(), new RegExp(`serving /metrics, /healthz and /readyz on port ${port}`));
  assert.equal(await probe(port, '/readyz'), 200);
  const app = new Celery({ broker_url: redis.url, result_backend: redis.url, task_default_queue: queue });
  try {
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => app.sendTask('ts.add', [i, 1])));
    await Promise.all(results.map((r) => r.get({ timeout: 15 })));
  } finally {
    await app.close();
  }
  const { samples } = await scrape(port);
  const labels = { name: 'ts.add', hostname: 'probe-host', queue_name: queue };
  assert.equal(total(samples, 'celery_task_received_total', labels), 40);
  assert.equal(total(samples, 'celery_task_succeeded_total', labels), 40);
  assert.equal(total(samples, 'celery_task_runtime_count', labels), 40);
  assert.equal(total(samples, 'celery_worker_up', { hostname: 'probe-host' }), 1);
  await worker.stop();
});

test('ts-celery beat --metrics-port: leader and standby are ready; both flip with their Redis', async () => {
  redis ??= await startRedisServer();
  const ports = [await sparePort(), await sparePort()];
  for (const port of ports) {
    const beat = await startTsBeat(['-b', redis.url, '--metrics-port', String(port), '--lock-timeout', '3']);
    processes.push(beat);
    await beat.waitForLog(/leads: acquired lock|is standing by/);
  }
  for (const port of ports) assert.equal(await probe(port, '/readyz'), 200);
  const leaders = await Promise.all(ports.map(async (port) => total((await scrape(port)).samples, 'celery_beat_leader')));
  assert.deepEqual(leaders.sort(), [0, 1], 'one leader, one standby');

  await redis.kill();
  for (const port of ports) await until(async () => (await probe(port, '/readyz')) === 503, `beat on ${port}: /readyz to fail`);
  for (const port of ports) assert.equal(await probe(port, '/healthz'), 200);

  await redis.restart();
  for (const port of ports) await until(async () => (await probe(port, '/readyz')) === 200, `beat on ${port}: /readyz to recover`);
});
