// A Redis ACL user limited to what Celery needs (issue #16, scenario 7): the key and channel
// patterns of one global_keyprefix and only the command categories the broker, the result
// backend, pidbox/events pub/sub and the visibility sweep use — the README's ACL, verbatim.
// A TS worker and producer run tasks, acks_late, results, remote control and events with it,
// and the server's ACL LOG stays empty (nothing was refused, even where a failure is tolerated).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { Celery } from '../../src/app.js';
import { EventReceiver } from '../../src/control/events/event-receiver.js';
import { createLogger } from '../../src/log.js';
import { Worker } from '../../src/worker/worker.js';
import { claimRedis } from '../helpers/redis.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { readFileSync } from 'node:fs';
import { README } from '../helpers/readme.js';

// A private redis-server; the claim keeps the file in the isolation checks.
const { token } = claimRedis('redis-acl');
const closers: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
});

/** The `ACL SETUSER` line the README gives, with its user, password and prefix placeholders. */
function readmeAcl(): string {
  const line = readFileSync(README, 'utf8').split('\n').find((l) => l.trim().startsWith('ACL SETUSER celery '));
  assert.ok(line, 'README Security section names the minimal ACL');
  return line.trim();
}

test("the README's minimal ACL user runs a TS worker and producer: tasks, results, remote control, events", async () => {
  const server = await startRedisServer();
  closers.push(() => server.kill());
  const admin = new Redis(server.url);
  closers.push(async () => admin.disconnect());
  const prefix = `app-${token}:`;
  const password = `pw-${token}`;
  const acl = readmeAcl().replace('>CHANGE-ME', `>${password}`).replaceAll('myapp:', prefix);
  assert.equal(await admin.call(...(acl.split(/\s+/) as [string, ...string[]])), 'OK');
  const url = `redis://celery:${password}@127.0.0.1:${server.port}/0`;
  const queue = `acl-${token}`;
  const conf = {
    broker_url: url,
    result_backend: url,
    broker_transport_options: { global_keyprefix: prefix },
    result_backend_transport_options: { global_keyprefix: prefix },
    task_default_queue: queue,
    task_acks_late: true,
    worker_send_task_events: true,
  };
  const app = new Celery(conf);
  closers.push(() => app.close());
  app.task('acl.add', (a: number, b: number) => a + b);
  const worker = new Worker(app, { concurrency: 2, nodeName: `acl-${token}@localhost`, logger: createLogger({ level: 'critical' }) });
  closers.push(() => worker.stop());
  await worker.start();
  const producer = new Celery(conf);
  closers.push(() => producer.close());
  // An event monitor (celery events / flower) with the same user.
  const seen: string[] = [];
  const receiver = new EventReceiver({ transport: producer.transport, onEvent: (e) => seen.push(String(e.type)) });
  closers.push(() => receiver.close());
  await receiver.start();
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => producer.sendTask('acl.add', [i, i])));
  assert.deepEqual(await Promise.all(results.map((r) => r.get({ timeout: 10 }))), Array.from({ length: 10 }, (_, i) => 2 * i));
  const pongs = await producer.control.ping({ timeout: 2 });
  assert.deepEqual(pongs.map((p) => Object.keys(p)[0]), [`acl-${token}@localhost`]);
  const deadline = Date.now() + 5000;
  while (!seen.includes('task-succeeded') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.ok(seen.includes('task-succeeded'), `events seen: ${[...new Set(seen)].join(', ')}`);
  await worker.stop();
  assert.deepEqual(await admin.call('ACL', 'LOG'), [], 'nothing was refused');
  // Everything it wrote is under the prefix; the user can reach nothing else.
  const keys = (await admin.keys('*')) as string[];
  assert.deepEqual(keys.filter((k) => !k.startsWith(prefix)), []);
  const outsider = new Redis(url);
  closers.push(async () => outsider.disconnect());
  await assert.rejects(outsider.get('other-app:secret'), /NOPERM/);
  await assert.rejects(outsider.flushdb(), /NOPERM/);
});
