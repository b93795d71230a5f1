// Issue 11 §1, against real Python `celery inspect conf|report|stats` and a real worker process:
// no configured password appears in any pidbox reply, event, the banner or the worker's log.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runPython } from '../helpers/python.js';
import { claimRedis, REDIS_HOST, REDIS_PORT } from '../helpers/redis.js';
import { startTsWorker, type TsWorker } from '../helpers/ts-worker.js';

const claim = claimRedis('security-secrets');
const { url, token, prefix } = claim;
const queue = `sec-${token}`;
const node = `sec-${token}@localhost`;
// The shared Redis has no password: ioredis warns and goes on, so the worker really runs with these.
const PASSWORDS = { broker: 's3cretPW', backend: 'b4ckendPW', redbeat: 'red/beat@PW9', sentinel: 'sentinelPW7', key: 'keyPW5555' };
const withPassword = (pw: string) => `redis://:${pw}@${REDIS_HOST}:${REDIS_PORT}/${claim.db}`;
const pyEnv = { BROKER_URL: url, RESULT_BACKEND: url, KEYPREFIX: prefix, DEFAULT_QUEUE: queue };
let worker: TsWorker;

before(async () => {
  worker = await startTsWorker({
    app: 'test/interop/ts/secret-tasks.ts',
    queues: [queue],
    nodeName: node,
    concurrency: 1,
    extraArgs: ['-E'],
    env: {
      ...pyEnv,
      SECRET_BROKER_URL: withPassword(PASSWORDS.broker),
      SECRET_BACKEND_URL: withPassword(PASSWORDS.backend),
      REDBEAT_URL: withPassword(PASSWORDS.redbeat),
      SENTINEL_PASSWORD: PASSWORDS.sentinel,
      KEY_PASSWORD: PASSWORDS.key,
    },
  });
});

after(async () => {
  await worker?.stop().catch(() => {});
  await claim.deleteKeys();
});

const leaks = (text: string) => Object.values(PASSWORDS).filter((pw) => text.includes(pw) || text.includes(encodeURIComponent(pw)));

test('celery inspect conf|report|stats, events and the worker log show no password', async () => {
  const { stdout } = await runPython(
    `import json
from interop_app import app
from control_probe import run_cli, receive_events
res = {}
for cmd in ['conf', 'report', 'stats']:
    res[cmd] = run_cli('inspect', cmd, '-j', '-t', '3', '-d', '${node}')
res['add'] = app.send_task('sec.add', args=[2, 3]).get(timeout=15)
import threading
sent = []
threading.Timer(1.0, lambda: sent.append(app.send_task('sec.leak'))).start()
res['events'] = receive_events('${node}', ['worker-heartbeat', 'task-failed'], timeout=10)
try:
    sent[0].get(timeout=15)
except Exception as exc:
    res['leak'] = type(exc).__name__
print(json.dumps(res, default=repr))`,
    pyEnv,
    90_000,
  );
  const out = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  const reply = (cmd: string) => {
    const r = out[cmd] as { exit_code: number; output: string };
    assert.equal(r.exit_code, 0, `${cmd}: ${r.output}`);
    return (JSON.parse(r.output.trim().split('\n')[0]!) as Record<string, unknown>)[node] as Record<string, unknown>;
  };
  const conf = reply('conf');
  // Celery's own masking format (`filter_hidden_settings`, mask '********').
  assert.equal(conf.broker_url, `redis://:********@${REDIS_HOST}:${REDIS_PORT}/${claim.db}`);
  assert.equal(conf.result_backend, `redis://:********@${REDIS_HOST}:${REDIS_PORT}/${claim.db}`);
  assert.equal(conf.redbeat_redis_url, `redis://:********@${REDIS_HOST}:${REDIS_PORT}/${claim.db}`);
  assert.deepEqual((conf.broker_transport_options as Record<string, unknown>).sentinel_kwargs, { password: '********' });
  assert.match(String(reply('report').ok), /software -> /);
  assert.equal(typeof (reply('stats').broker as Record<string, unknown>).hostname, 'string');
  assert.equal(out.add, 5);
  assert.ok(out.leak, 'sec.leak failed');
  const events = out.events as { type: string }[];
  assert.ok(events.some((e) => e.type === 'task-failed'), JSON.stringify(events.map((e) => e.type)));
  // The whole transcript: every reply, every event, and the worker's banner and log lines.
  await worker.waitForLog('sec.leak');
  assert.deepEqual(leaks(stdout), [], 'a password in the Python side’s replies or events');
  assert.match(worker.logs(), /cannot reach redis:\/\/:\*\*@/);
  assert.deepEqual(leaks(worker.logs()), [], 'a password in the worker log');
});
