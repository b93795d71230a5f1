// Interop: the REAL Python `celery inspect …` / `celery status` CLI and `app.events.Receiver`
// against a TypeScript pidbox node and event dispatcher living in this test process (a fake
// worker supplies the state): Python must see our node, its replies and our events as if they
// came from a Python worker.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { LamportClock } from '../../src/control/clock.js';
import { EventDispatcher } from '../../src/control/events/event-dispatcher.js';
import { softwareInfo } from '../../src/control/events/event.js';
import { WorkerHeartbeat } from '../../src/control/events/worker-heartbeat.js';
import { Mailbox } from '../../src/control/mailbox.js';
import { brokerInfo, poolInfo, queueInfo, requestInfo } from '../../src/control/worker-info.js';
import { RedisTransport } from '../../src/transport/redis/redis-transport.js';
import { idleControlledWorker } from '../helpers/control-fakes.js';
import { runPython } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';

const { url, token, prefix } = claimRedis('control-python-client');
const node = `ctl-ts-${token}@localhost`;
const env = { BROKER_URL: url, KEYPREFIX: prefix, DEFAULT_QUEUE: `ctl-${token}` };

const running = requestInfo({ id: 'aaaaaaaa-0000-4000-8000-000000000001', name: 'interop.sleep', args: [5], kwargs: {}, hostname: node, startedAtMs: 1_795_352_720_830, acknowledged: true, exchange: '', routingKey: `ctl-${token}`, priority: 0, redelivered: false, workerPid: process.pid });
const waiting = requestInfo({ id: 'aaaaaaaa-0000-4000-8000-000000000002', name: 'interop.add', args: [1, 2], kwargs: {}, hostname: node, startedAtMs: null, acknowledged: false, exchange: '', routingKey: `ctl-${token}`, priority: 0, redelivered: false, workerPid: null });
const held = requestInfo({ ...{ id: 'aaaaaaaa-0000-4000-8000-000000000003', name: 'interop.add', args: [3, 4], kwargs: {} }, hostname: node, startedAtMs: null, acknowledged: false, exchange: '', routingKey: `ctl-${token}`, priority: 0, redelivered: false, workerPid: null });

const worker = idleControlledWorker(node, {
  activeRequests: () => [running],
  reservedRequests: () => [waiting],
  scheduledRequests: () => [{ eta: '2030-01-01T00:00:00+00:00', request: held }],
  registeredTasks: () => [{ name: 'interop.sleep' }, { name: 'interop.add', attributes: { rate_limit: '10/m' } }, { name: 'celery.chord_unlock' }],
  stats: () => ({ total: { 'interop.add': 2 }, uptime: 3, pool: poolInfo({ implementation: 'ts-celery:AsyncPool', maxConcurrency: 4, processes: [process.pid], maxTasksPerChild: null }), broker: brokerInfo(url), prefetch_count: 16 }),
  activeQueues: () => [queueInfo({ name: `ctl-${token}` })],
  conf: () => ({ broker_url: url }),
});

const transport = new RedisTransport(url, { global_keyprefix: prefix });
const clock = new LamportClock();
const software = softwareInfo('0.1.0');
const events = new EventDispatcher({ transport, hostname: node, clock, groups: [], bufferGroups: ['task'] });
const mailbox = new Mailbox({ transport, worker, clock, events, software });
const redis = new Redis(url);

before(async () => {
  await mailbox.start();
});

after(async () => {
  await mailbox.close();
  await events.close();
  await transport.close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

test('celery inspect ping|stats|registered|active|reserved|scheduled and celery status see our node', async () => {
  const cmds = ['ping', 'stats', 'registered', 'active', 'reserved', 'scheduled', 'revoked', 'active_queues', 'query_task'];
  const code = `
from control_probe import run_cli, dumps
out = {c: run_cli('inspect', c, *( ['${running.id}', '${waiting.id}'] if c == 'query_task' else []), '-j', '-t', '10', '-d', '${node}') for c in ${JSON.stringify(cmds)}}
out['status'] = run_cli('status', '-t', '10', '-d', '${node}')
dumps(out)`;
  const { json } = await runPython(code, env, 60_000);
  const out = json as Record<string, { exit_code: number; output: string }>;
  const reply = (c: string) => {
    assert.equal(out[c]!.exit_code, 0, `${c}: ${out[c]!.output}`);
    return (JSON.parse(out[c]!.output.trim().split('\n')[0]!) as Record<string, unknown>)[node];
  };
  assert.deepEqual(reply('ping'), { ok: 'pong' });
  const stats = reply('stats') as Record<string, unknown>;
  assert.deepEqual(Object.keys(stats), ['total', 'pid', 'clock', 'uptime', 'pool', 'broker', 'prefetch_count', 'rusage']);
  assert.equal(stats.pid, process.pid);
  assert.deepEqual(reply('registered'), ['interop.add [rate_limit=10/m]', 'interop.sleep']);
  assert.deepEqual(reply('active'), [running]);
  assert.deepEqual(reply('reserved'), [waiting]);
  assert.deepEqual(reply('scheduled'), [{ eta: '2030-01-01T00:00:00+00:00', priority: 6, request: held }]);
  assert.deepEqual(reply('revoked'), []);
  assert.equal((reply('active_queues') as { name: string }[])[0]!.name, `ctl-${token}`);
  assert.deepEqual(reply('query_task'), { [running.id]: ['active', running], [waiting.id]: ['reserved', waiting] });
  assert.equal(out.status!.exit_code, 0, out.status!.output);
  assert.match(out.status!.output, new RegExp(`->\\s+${node.replace(/[.@-]/g, '\\$&')}: OK`));
  assert.match(out.status!.output, /1 node online\./);
});

test('Python control.revoke / rate_limit / unknown command reach our node with Celery replies', async () => {
  const code = `
from interop_app import app
from control_probe import dumps
d = ['${node}']
dumps({
  'revoke': app.control.revoke('dead-1', destination=d, reply=True, timeout=2),
  'rate': app.control.rate_limit('interop.add', '5/s', destination=d, reply=True, timeout=2),
  'unknown': app.control.broadcast('no_such_cmd', destination=d, reply=True, timeout=2),
  'clock': app.control.inspect(destination=d, timeout=2).clock(),
})`;
  const { json } = await runPython(code, env, 30_000);
  const out = json as Record<string, unknown>;
  assert.deepEqual(out.revoke, [{ [node]: { ok: "tasks {'dead-1'} flagged as revoked" } }]);
  assert.deepEqual(out.rate, [{ [node]: { ok: 'new rate limit set successfully' } }]);
  assert.deepEqual(out.unknown, [{ [node]: { error: "KeyError('no_such_cmd')" } }]);
  assert.ok(typeof ((out.clock as Record<string, { clock: number }>)[node]!.clock) === 'number');
  assert.deepEqual(worker.revoked.toList(), ['dead-1']);
});

test('a Python app.events.Receiver sees our worker-heartbeat and a task.multi batch', async () => {
  const heart = new WorkerHeartbeat({ dispatcher: events, software, counters: () => ({ active: 1, processed: 2 }), freq: 0.2 });
  // Keep publishing until the Python receiver has what it wants: it subscribes at its own pace.
  const ticker = setInterval(() => {
    events.send('task-received', { uuid: 'bbbb', name: 'interop.add', args: '(1, 2)', kwargs: '{}', root_id: 'bbbb', parent_id: null, retries: 0, eta: null, expires: null });
    events.send('task-started', { uuid: 'bbbb' });
    events.send('task-succeeded', { uuid: 'bbbb', result: '3', runtime: 0.001 });
  }, 200);
  heart.start();
  try {
    const code = `
from control_probe import receive_events, dumps
dumps(receive_events('${node}', ['worker-heartbeat', 'task-received', 'task-started', 'task-succeeded'], timeout=20))`;
    const { json } = await runPython(code, env, 40_000);
    const got = json as Record<string, unknown>[];
    const types = new Set(got.map((e) => e.type));
    for (const t of ['worker-heartbeat', 'task-received', 'task-started', 'task-succeeded']) assert.ok(types.has(t), `${t} in ${[...types].join(', ')}`);
    const hb = got.find((e) => e.type === 'worker-heartbeat')!;
    assert.equal(hb.sw_ident, 'ts-celery');
    assert.equal(typeof hb.local_received, 'number');
    assert.equal(hb.hostname, node);
  } finally {
    clearInterval(ticker);
    heart.stop();
  }
});
