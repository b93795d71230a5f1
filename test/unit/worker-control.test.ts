// The worker side of remote control (no broker round trip here): revoked ids are never run,
// terminate ends a running task as REVOKED, pool_grow widens the pool, rate/time limits change.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Celery } from '../../src/app.js';
import type { TaskError } from '../../src/errors.js';
import { newId } from '../../src/protocol/ids.js';
import { silentLogger } from '../../src/log.js';
import { controlledWorker } from '../../src/worker/control-adapter.js';
import { Worker } from '../../src/worker/worker.js';

const app = new Celery({ broker_url: 'memory://', result_backend: 'memory://' });
const ran: string[] = [];
app.task({ name: 'c.record' }, ({ ctx }) => void ran.push(ctx.id));
app.task({ name: 'c.wait' }, ({ ctx }) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve('aborted'))));
app.task({ name: 'c.sleep' }, ({ args }) => new Promise((resolve) => setTimeout(resolve, args[0] as number)));
// Finishes only once `size` of them run at the same time: proof of concurrency without a clock.
const together = { size: 0, arrived: 0, open: () => {}, gate: Promise.resolve() };
app.task({ name: 'c.together' }, async () => {
  if (++together.arrived === together.size) together.open();
  await together.gate;
});

const worker = new Worker(app, { mingle: false, concurrency: 1, nodeName: 'ctl@test', logger: silentLogger });
const control = controlledWorker(worker, Date.now(), Date.now);
await worker.start();
after(() => worker.stop());

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a revoked id arriving later is discarded as REVOKED, never run (also when held for its ETA)', async () => {
  const id = newId();
  const held = newId();
  control.revoked.add(id);
  const r = await app.sendTask('c.record', [], {}, { task_id: id });
  await assert.rejects(r.get({ timeout: 20 }), (e: TaskError) => e.excType === 'TaskRevokedError' && e.excArgs[0] === 'revoked');
  const later = await app.sendTask('c.record', [], {}, { task_id: held, countdown: 0.3 });
  await until(() => worker.scheduledRequests().length === 1, 'the ETA hold');
  control.revoked.add(held);
  await assert.rejects(later.get({ timeout: 20 }), { excType: 'TaskRevokedError' });
  assert.deepEqual(ran.filter((x) => x === id || x === held), []);
});

test('markRevoked stores REVOKED for a pending id at once', async () => {
  const id = newId();
  await control.markRevoked([id]);
  assert.equal(await app.AsyncResult(id).state(), 'REVOKED');
});

test('terminate aborts a running task; its outcome is REVOKED whatever it returns', async () => {
  const r = await app.sendTask('c.wait');
  await until(() => control.activeRequests().length === 1, 'the task to start');
  assert.equal(control.activeRequests()[0]!.id, r.id);
  assert.deepEqual(control.terminate([r.id, 'unknown'], 'SIGTERM'), [r.id]);
  await assert.rejects(r.get({ timeout: 20 }), (e: TaskError) => e.excType === 'TaskRevokedError' && e.excArgs[0] === 'terminated');
});

test('pool_grow runs more tasks at once; stats and active_queues describe the worker', async () => {
  control.poolGrow(2);
  assert.equal(worker.concurrency, 3);
  together.size = 3;
  together.gate = new Promise((open) => (together.open = open));
  const rs = await Promise.all([1, 2, 3].map(() => app.sendTask('c.together')));
  // With one slot the first task would wait forever for the other two: the get would time out.
  await Promise.all(rs.map((r) => r.get({ timeout: 10 })));
  assert.equal(together.arrived, 3, 'three tasks ran side by side');
  control.poolShrink(2);
  assert.equal(worker.concurrency, 1);
  const stats = control.stats();
  assert.equal(stats.prefetch_count, 4);
  assert.equal(stats.total['c.together'], 3);
  assert.equal(control.activeQueues()[0]!.name, 'celery');
  assert.equal(control.setRateLimit('c.record', '100/m'), true);
  assert.equal(control.setRateLimit('nope', '1/s'), false);
  assert.equal(control.setTimeLimit('c.sleep', { soft: null, hard: 0.05 }), true);
  await assert.rejects((await app.sendTask('c.sleep', [300])).get({ timeout: 20 }), { excType: 'TimeLimitExceeded' });
});

test('app.control talks to the worker through its pidbox (ping, inspect active, revoke)', async () => {
  assert.deepEqual(await app.control.ping({ timeout: 10, limit: 1 }), [{ 'ctl@test': { ok: 'pong' } }]);
  const registered = await app.control.inspect('registered', {}, { timeout: 10, limit: 1 });
  assert.deepEqual(registered, { 'ctl@test': ['c.record', 'c.sleep', 'c.together', 'c.wait'] });
  const id = newId();
  await app.control.revoke(id);
  await until(() => control.revoked.has(id), 'the revoke to arrive');
});

test('mingle: a worker starting next to this one adopts its revoked ids (hello)', async () => {
  const id = newId();
  control.revoked.add(id);
  const second = new Worker(app, { concurrency: 1, nodeName: 'ctl2@test', logger: silentLogger, queues: ['c-other'] });
  await second.start();
  try {
    assert.ok(second.revoked.has(id));
  } finally {
    await second.stop();
  }
});
