// `ts-celery beat` (the CLI command, in a child process) with a 1 s interval entry and
// -S redbeat on real Redis sends ordinary task messages that a real Python Celery worker runs;
// `--list` prints the entries with their next run time.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { pollUntil, REPO_ROOT, startPythonWorker, type PythonWorker } from '../helpers/python.js';
import { testRedisUrl, uniqueToken } from '../helpers/redis.js';

const url = testRedisUrl(13);
const token = uniqueToken();
const prefix = `${token}:`;
const queue = `q-beat-${token}`;
const redbeatPrefix = `redbeat-${token}:`;

// main.ts registration is the lead's; the child registers the command itself.
const RUNNER = `
import { Command } from 'commander';
import { registerBeatCommand } from ${JSON.stringify(resolve(REPO_ROOT, 'src/cli/commands/beat.ts'))};
const program = new Command('ts-celery');
registerBeatCommand(program);
await program.parseAsync(process.argv.slice(process.argv.indexOf('beat')), { from: 'user' });
`;

function runBeat(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', RUNNER, '--', 'beat', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, CELERY_BROKER_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c));
  child.stderr.on('data', (c: Buffer) => (out += c));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, log: () => out, exited };
}

test('a TypeScript beat feeds a Python worker: interop.add runs every second', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'beat-interop-'));
  const tasks = join(dir, 'beat-tasks.ts');
  await writeFile(
    tasks,
    `import { Celery } from ${JSON.stringify(resolve(REPO_ROOT, 'src/index.ts'))};
export const app = new Celery({
  broker_url: ${JSON.stringify(url)},
  broker_transport_options: { global_keyprefix: ${JSON.stringify(prefix)} },
  task_default_queue: ${JSON.stringify(queue)},
  beat_schedule: { 'add-every-second': { task: 'interop.add', schedule: 1, args: [2, 3], options: { expires: 30 } } },
});
`,
  );
  let worker: PythonWorker | undefined;
  let beat: ReturnType<typeof runBeat> | undefined;
  try {
    const list = runBeat(['-A', tasks, '--list']);
    assert.equal(await list.exited, 0, list.log());
    assert.match(list.log(), /^add-every-second {2}interop\.add {2}<freq: 1\.00 second> {2}next: \d{4}-.*Z {2}runs: 0$/m);

    worker = await startPythonWorker({
      app: 'interop_app',
      queues: [queue],
      nodeName: `beat-worker-${token}@localhost`,
      env: { BROKER_URL: url, KEYPREFIX: prefix, DEFAULT_QUEUE: queue },
    });
    beat = runBeat(['-A', tasks, '-S', 'redbeat', '--redbeat-key-prefix', redbeatPrefix, '--max-interval', '1', '-l', 'INFO']);
    await worker.waitForLog(/Task interop\.add\[[0-9a-f-]+\] succeeded in [\d.e-]+s: 5[\s\S]*Task interop\.add\[[0-9a-f-]+\] succeeded/, 20_000);
    assert.match(beat.log(), /INFO\/MainProcess\] Scheduler: Sending due task add-every-second \(interop\.add\)/);
    const redis = new Redis(url);
    try {
      const meta = await pollUntil('redbeat meta', async () => JSON.parse((await redis.hget(`${redbeatPrefix}add-every-second`, 'meta')) ?? 'null'));
      assert.ok(meta.total_run_count >= 2);
    } finally {
      redis.disconnect();
    }
    beat.child.kill('SIGTERM');
    assert.equal(await beat.exited, 0, beat.log());
  } finally {
    if (beat?.child.pid && beat.child.exitCode === null) process.kill(beat.child.pid, 'SIGKILL');
    await worker?.stop();
    const redis = new Redis(url);
    try {
      const keys = [...(await redis.keys(`${prefix}*`)), ...(await redis.keys(`${redbeatPrefix}*`))];
      if (keys.length) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
    await rm(dir, { recursive: true, force: true });
  }
});
