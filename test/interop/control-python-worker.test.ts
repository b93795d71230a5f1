// Interop: our control client and CLI (`ts-celery inspect ping|stats|registered|active`,
// `control revoke`, `status`) against a REAL Python Celery worker: the replies Python's worker
// sends must come back intact through our reply queue.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { Celery } from '../../src/app.js';
import { ControlClient } from '../../src/control/control-client.js';
import { pollUntil, REPO_ROOT, startPythonWorker, type PythonWorker } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';

const { url, token, prefix } = claimRedis('control-python-worker');
const queue = `ctlw-${token}`;
const node = `ctl-py-${token}@localhost`;
const env = { BROKER_URL: url, KEYPREFIX: prefix, DEFAULT_QUEUE: queue };
const redis = new Redis(url);
let python: PythonWorker | undefined;
let app: Celery;
let client: ControlClient;

before(async () => {
  app = new Celery({ broker_url: url, broker_transport_options: { global_keyprefix: prefix }, task_default_queue: queue });
  client = new ControlClient(app.transport, { oid: app.oid });
  python = await startPythonWorker({ app: 'interop_app', queues: [queue], nodeName: node, env, pool: 'threads', concurrency: 2 });
});

after(async () => {
  try {
    await client?.close();
    await app?.close();
  } finally {
    await python?.stop();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
});

/** Our CLI subcommands, registered on a fresh commander program in a child process (script on stdin). */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = `
import { Command } from 'commander';
import { registerInspectCommand } from './src/cli/commands/inspect.ts';
import { registerControlCommand } from './src/cli/commands/control.ts';
import { registerStatusCommand } from './src/cli/commands/status.ts';
const program = new Command('ts-celery');
registerInspectCommand(program); registerControlCommand(program); registerStatusCommand(program);
await program.parseAsync(process.argv.slice(2), { from: 'user' });`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-', ...args, '-A', 'test/interop/ts/tasks.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end(script);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c));
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    }),
  );
}

test('library: ping, stats, registered from the Python worker', async () => {
  assert.deepEqual(await client.ping({ destination: [node], timeout: 10 }), [{ [node]: { ok: 'pong' } }]);
  const stats = (await client.inspect('stats', {}, { destination: [node], timeout: 10 }))[node] as Record<string, unknown>;
  assert.equal(stats.pid, python!.pid);
  assert.equal(typeof stats.clock, 'string');
  const registered = (await client.inspect('registered', { taskinfoitems: [] }, { destination: [node], timeout: 10 }))[node] as string[];
  assert.ok(registered.includes('interop.add') && registered.includes('interop.sleep'), registered.join(', '));
});

test('library: active shows a running Python task; revoke answers as Celery does', async () => {
  const result = await app.sendTask('interop.sleep', [3], {}, { queue });
  const active = await pollUntil('the task to be active', async () => {
    const list = (await client.inspect('active', { safe: null }, { destination: [node], timeout: 10 }))[node] as { id: string; name: string }[] | undefined;
    return list?.find((r) => r.id === result.id);
  }, { timeoutMs: 15_000, intervalMs: 100 });
  assert.equal(active.name, 'interop.sleep');
  const replies = await client.revoke(result.id, { reply: true, destination: [node], timeout: 10 });
  assert.deepEqual(replies, [{ [node]: { ok: `tasks {'${result.id}'} flagged as revoked` } }]);
  const revoked = (await client.inspect('revoked', {}, { destination: [node], timeout: 10 }))[node] as string[];
  assert.ok(revoked.includes(result.id));
});

test('CLI: inspect ping/stats/registered --json, control revoke, status', async () => {
  const ping = await cli(['inspect', 'ping', '-j', '-d', node, '-t', '10']);
  assert.equal(ping.code, 0, ping.stderr);
  assert.deepEqual(JSON.parse(ping.stdout), { [node]: { ok: 'pong' } });

  const human = await cli(['inspect', 'registered', '-d', node, '-t', '10']);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, new RegExp(`^->  ${node}: OK\\n(.|\\n)*    \\* interop\\.add\\n`));
  assert.match(human.stdout, /\n1 node online\.\n$/);

  const stats = await cli(['inspect', 'stats', '-j', '-d', node, '-t', '10']);
  assert.equal((JSON.parse(stats.stdout)[node] as { pid: number }).pid, python!.pid);

  const revoke = await cli(['control', 'revoke', 'cafe0000-0000-4000-8000-000000000000', '-j', '-d', node, '-t', '10']);
  assert.equal(revoke.code, 0, revoke.stderr);
  assert.deepEqual(JSON.parse(revoke.stdout), { [node]: { ok: "tasks {'cafe0000-0000-4000-8000-000000000000'} flagged as revoked" } });

  const status = await cli(['status', '-d', node, '-t', '10']);
  assert.equal(status.stdout, `->  ${node}: OK\n\n1 node online.\n`);

  const nobody = await cli(['status', '-d', `nobody-${token}@nowhere`, '-t', '0.3']);
  assert.equal(nobody.code, 69);
  assert.match(nobody.stderr, /No nodes replied within time constraint/);
});
