// Silent network loss between a worker and Redis (issue #16, scenario 2): a proxy on the path
// stops forwarding without closing anything, as a failover or a dead NAT does. The worker must
// notice within a bounded time (broker_transport_options.health_check_interval / socket_timeout,
// redis_socket_timeout), not hang, reconnect once the path is back, and lose nothing
// (acks_late). Short timeouts here keep the file fast; the README gives the default times.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { Celery } from '../../src/app.js';
import { createLogger } from '../../src/log.js';
import { watchLiveness } from '../../src/transport/redis/liveness.js';
import type { TransportEvent } from '../../src/transport/transport.js';
import { Worker } from '../../src/worker/worker.js';
import { type BlackholeProxy, startBlackholeProxy } from '../helpers/blackhole-proxy.js';
import { claimRedis } from '../helpers/redis.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

// Everything runs on a private redis-server; the claim keeps the file in the isolation checks.
const { token } = claimRedis('redis-network-faults');
const closers: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
});

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function setUp(): Promise<{ server: RedisServer; proxy: BlackholeProxy; admin: Redis }> {
  const server = await startRedisServer();
  closers.push(() => server.kill());
  const proxy = await startBlackholeProxy({ host: '127.0.0.1', port: server.port });
  closers.push(() => proxy.close());
  const admin = new Redis(server.url);
  closers.push(async () => admin.disconnect());
  return { server, proxy, admin };
}

/** No client blocked in BRPOP on the server: a message pushed now cannot go to a dead connection. */
async function noBlockedClient(admin: Redis): Promise<boolean> {
  const list = String(await admin.client('LIST'));
  return !list.split('\n').some((line) => / flags=\S*b/.test(line));
}

const report = (what: string, ms: number) => console.log(`# ${what}: ${(ms / 1000).toFixed(2)} s`);

test('a worker notices a blackholed path within ~brpop_timeout + health_check_interval, reconnects, loses nothing', async () => {
  const { server, proxy, admin } = await setUp();
  const queue = `nf-${token}`;
  const viaProxy = `redis://127.0.0.1:${proxy.port}/0`;
  const app = new Celery({
    broker_url: viaProxy,
    result_backend: viaProxy,
    broker_transport_options: { health_check_interval: 1, socket_connect_timeout: 1 },
    redis_socket_timeout: 1,
    redis_socket_connect_timeout: 1,
    task_acks_late: true,
    task_default_queue: queue,
  });
  closers.push(() => app.close());
  const ran: string[] = [];
  app.task('nf.sleep', async (tag: string, ms: number) => {
    ran.push(tag);
    await new Promise((r) => setTimeout(r, ms));
    return tag;
  });
  const events: { type: TransportEvent['type']; at: number }[] = [];
  app.transport.onEvent((e) => events.push({ type: e.type, at: Date.now() }));
  const worker = new Worker(app, { mingle: false, concurrency: 2, logger: createLogger({ level: 'critical' }) });
  closers.push(() => worker.stop());
  await worker.start();
  // The producer reaches Redis by another path (it is the worker's path that dies).
  const producer = new Celery({ broker_url: server.url, result_backend: server.url, task_default_queue: queue });
  closers.push(() => producer.close());

  // A task in progress when the path dies: its result and its ack travel on the dead path.
  const running = await producer.sendTask('nf.sleep', ['running', 1500]);
  await until(() => worker.activeRequests().length === 1, 'the task to start');
  const holedAt = Date.now();
  proxy.blackhole();
  await until(() => events.some((e) => e.type === 'connection-lost'), 'the worker to notice');
  const noticed = events.find((e) => e.type === 'connection-lost')!.at - holedAt;
  report('time to notice (brpop_timeout 1 + health_check_interval 1)', noticed);
  assert.ok(noticed < 4000, `noticed after ${noticed} ms`);

  // Sent while the worker is cut off, once no dead connection is blocked on the queue (a BRPOP
  // already on the server when the path died takes what arrives within its brpop_timeout).
  await until(() => noBlockedClient(admin), 'the dead BRPOP to time out on the server');
  const during = await Promise.all(Array.from({ length: 5 }, (_, i) => producer.sendTask('nf.sleep', [`during-${i}`, 10])));
  await new Promise((r) => setTimeout(r, 1500)); // the outage lasts: the worker keeps retrying
  const resumedAt = Date.now();
  proxy.resume();
  await until(() => events.some((e) => e.type === 'reconnected' && e.at > resumedAt), 'the worker to reconnect');
  const back = events.find((e) => e.type === 'reconnected' && e.at > resumedAt)!.at - resumedAt;
  report('time to resume after the path returns', back);
  assert.ok(back < 5000, `reconnected after ${back} ms`);

  assert.equal(await running.get({ timeout: 15 }), 'running');
  assert.deepEqual(await Promise.all(during.map((r) => r.get({ timeout: 15 }))), during.map((_, i) => `during-${i}`));
  await until(async () => (await admin.hlen('unacked')) === 0, 'every ack to land');
  assert.deepEqual([...ran].sort(), ['running', ...during.map((_, i) => `during-${i}`)].sort(), 'each task ran exactly once');
});

test('a producer and a result read on a blackholed path wait, then complete once it returns (no hang, no loss)', async () => {
  const { server, proxy, admin } = await setUp();
  const queue = `nfp-${token}`;
  const viaProxy = `redis://127.0.0.1:${proxy.port}/0`;
  const producer = new Celery({
    broker_url: viaProxy,
    result_backend: viaProxy,
    broker_transport_options: { health_check_interval: 1, socket_connect_timeout: 1 },
    redis_socket_timeout: 1,
    redis_socket_connect_timeout: 1,
    task_default_queue: queue,
  });
  closers.push(() => producer.close());
  await producer.transport.connect();
  const lost: number[] = [];
  producer.transport.onEvent((e) => e.type === 'connection-lost' && lost.push(Date.now()));
  // Idle: only the health check can find out.
  const holedAt = Date.now();
  proxy.blackhole();
  await until(() => lost.length > 0, 'the idle producer to notice');
  report('idle producer: time to notice (health_check_interval 1 + socket_timeout 1)', lost[0]! - holedAt);
  const sent = producer.sendTask('nf.sleep', ['x', 0]);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(await admin.llen(queue), 0);
  proxy.resume();
  const result = await sent;
  await until(async () => (await admin.llen(queue)) === 1, 'the message to arrive once');
  // A result stored by someone else is read through the recovered path.
  const stored = new Celery({ broker_url: server.url, result_backend: server.url });
  closers.push(() => stored.close());
  await stored.backend!.storeResult({ task_id: result.id, status: 'SUCCESS', result: 42, traceback: null, children: [], date_done: null });
  assert.equal(await result.get({ timeout: 10 }), 42);
  assert.equal(await admin.llen(queue), 1);
});

test('a command written during a handshake that never finishes is sent once a connection is ready, not lost', async () => {
  const { proxy } = await setUp();
  // New connections are accepted but never answered: the handshake hangs until it is given up.
  proxy.blackhole();
  const redis = new Redis({ host: '127.0.0.1', port: proxy.port, lazyConnect: true, retryStrategy: () => 100 });
  closers.push(async () => redis.disconnect());
  watchLiveness(redis, { replyTimeoutMs: 1000, healthCheckMs: 0, connectTimeoutMs: 300 });
  redis.connect().catch(() => undefined);
  await until(() => redis.status === 'connect', 'the TCP connection to the proxy');
  // ioredis writes a PUBLISH at once, handshake or not (Redis allows it while loading).
  const published = redis.publish(`stragglers-${token}`, 'x');
  await until(() => redis.status !== 'connect', 'the handshake to be given up');
  proxy.resume();
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([published.then((n) => `published to ${n}`), new Promise((r) => (timer = setTimeout(() => r('never settled'), 5000)))]);
  clearTimeout(timer);
  assert.equal(settled, 'published to 0');
});
