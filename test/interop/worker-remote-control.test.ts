// Interop, a real ts-celery worker process seen through Python's own tools: `celery inspect`,
// `celery status`, `celery control revoke|terminate|shutdown`, and an event receiver as Flower's.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { runPython } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';
import { startTsWorker, type TsWorker } from '../helpers/ts-worker.js';

const { url, token, prefix } = claimRedis('worker-remote-control');
const queue = `rc-${token}`;
const node = `rc-${token}@localhost`;
const env = { BROKER_URL: url, RESULT_BACKEND: url, KEYPREFIX: prefix, DEFAULT_QUEUE: queue };
let worker: TsWorker;

before(async () => {
  worker = await startTsWorker({ app: 'test/interop/ts/control-tasks.ts', queues: [queue], nodeName: node, env, concurrency: 1, extraArgs: ['-E'] });
});

after(async () => {
  await worker?.stop().catch(() => {});
  const redis = new Redis(url);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const py = async (code: string) => (await runPython(`import json\nfrom interop_app import app\nfrom control_probe import run_cli, receive_events\n${code}`, env, 60_000)).json;

test('celery inspect ping|registered|stats|active and celery status list our worker', async () => {
  const blocked = (await py(`print(json.dumps(app.send_task('ctl.block').id))`)) as string;
  const out = (await py(`
import time
res = {}
for cmd in ['ping', 'registered', 'stats', 'active', 'active_queues']:
    res[cmd] = run_cli('inspect', cmd, '-j', '-t', '10', '-d', '${node}')
res['status'] = run_cli('status', '-t', '10', '-d', '${node}')
print(json.dumps(res))`)) as Record<string, { exit_code: number; output: string }>;
  const reply = (cmd: string) => {
    assert.equal(out[cmd]!.exit_code, 0, `${cmd}: ${out[cmd]!.output}`);
    return (JSON.parse(out[cmd]!.output.trim().split('\n')[0]!) as Record<string, unknown>)[node];
  };
  assert.deepEqual(reply('ping'), { ok: 'pong' });
  assert.deepEqual(reply('registered'), ['ctl.add', 'ctl.block']);
  const stats = reply('stats') as { total: Record<string, number>; pool: Record<string, unknown>; prefetch_count: number };
  assert.equal(stats.prefetch_count, 4);
  assert.equal(stats.pool['max-concurrency'], 1);
  const active = reply('active') as { id: string; name: string; acknowledged: boolean }[];
  assert.deepEqual(active.map((r) => [r.id, r.name, r.acknowledged]), [[blocked, 'ctl.block', true]]);
  assert.equal((reply('active_queues') as { name: string }[])[0]!.name, queue);
  assert.match(out.status!.output, new RegExp(`->\\s+${node.replace(/[.@-]/g, '\\$&')}: OK`));
  // celery control terminate SIGTERM <id> ends it: REVOKED (terminated), and the slot is free again.
  const term = (await py(`
r = run_cli('control', 'terminate', 'SIGTERM', '${blocked}', '-t', '10', '-d', '${node}')
res = app.AsyncResult('${blocked}')
try:
    res.get(timeout=10)
except Exception as exc:
    pass
print(json.dumps({'cli': r, 'state': res.state, 'result': repr(res.result), 'next': app.send_task('ctl.add', args=[2, 3]).get(timeout=10)}))`)) as { cli: { exit_code: number }; state: string; result: string; next: number };
  assert.equal(term.cli.exit_code, 0);
  assert.equal(term.state, 'REVOKED');
  assert.match(term.result, /terminated/);
  assert.equal(term.next, 5);
});

test('celery control revoke keeps a task from running; events reach a Python receiver', async () => {
  const out = (await py(`
from uuid import uuid4
tid = str(uuid4())
cli = run_cli('control', 'revoke', tid, '-t', '10', '-d', '${node}')
r = app.send_task('ctl.add', args=[1, 1], task_id=tid)
try:
    r.get(timeout=10)
except Exception:
    pass
ok = app.send_task('ctl.add', args=[20, 22])
events = receive_events('${node}', ['worker-heartbeat'], timeout=8)
print(json.dumps({'cli': cli, 'state': r.state, 'ok': ok.get(timeout=10), 'events': [e['type'] for e in events]}))`)) as { cli: { exit_code: number }; state: string; ok: number; events: string[] };
  assert.equal(out.cli.exit_code, 0);
  assert.equal(out.state, 'REVOKED');
  assert.equal(out.ok, 42);
  assert.ok(out.events.includes('worker-heartbeat'), `events: ${out.events.join(',')}`);
});

test('celery control -d <node> shutdown stops only that worker, warm (exit 0)', async () => {
  await py(`print(json.dumps(run_cli('control', 'shutdown', '-d', '${node}')))`);
  await worker.waitForLog('Warm shutdown', 10_000);
  const status = await worker.exited();
  assert.equal(status.code, 0);
});
