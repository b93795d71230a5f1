// `ts-celery beat` (the CLI command, in a child process) with a 1 s interval entry and
// -S redbeat on real Redis sends ordinary task messages that a real Python Celery worker runs;
// `--list` prints the entries with their next run time.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { pollUntil, REPO_ROOT, startPythonWorker, type PythonWorker } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';
import { runCli, startTsBeat, type TsProcess } from '../helpers/ts-worker.js';

const redisClaim = claimRedis('beat-python-worker');
const { url, token, prefix } = redisClaim;
const queue = `q-beat-${token}`;
const redbeatPrefix = `${token}-redbeat:`;

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
  let beat: TsProcess | undefined;
  try {
    const list = await runCli(['beat', '-A', tasks, '--list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^add-every-second {2}interop\.add {2}<freq: 1\.00 second> {2}next: \d{4}-.*Z {2}runs: 0$/m);
    // No result backend (Celery's DisabledBackend does not expire results): the daily cleanup entry
    // Python's beat adds too.
    assert.match(list.stdout, /^celery\.backend_cleanup {2}celery\.backend_cleanup {2}<crontab: 0 4 \* \* \* \(m\/h\/dM\/MY\/d\)> {2}next: \d{4}-\d\d-\d\dT04:00:00\.000Z {2}runs: 0$/m);

    worker = await startPythonWorker({
      app: 'interop_app',
      queues: [queue],
      nodeName: `beat-worker-${token}@localhost`,
      env: { BROKER_URL: url, KEYPREFIX: prefix, DEFAULT_QUEUE: queue },
    });
    beat = await startTsBeat(['-A', tasks, '-S', 'redbeat', '--redbeat-key-prefix', redbeatPrefix, '--max-interval', '1']);
    await worker.waitForLog(/Task interop\.add\[[0-9a-f-]+\] succeeded in [\d.e-]+s: 5[\s\S]*Task interop\.add\[[0-9a-f-]+\] succeeded/, 20_000);
    assert.match(beat.logs(), /INFO\/MainProcess\] Scheduler: Sending due task add-every-second \(interop\.add\)/);
    const redis = new Redis(url);
    try {
      const meta = await pollUntil('redbeat meta', async () => JSON.parse((await redis.hget(`${redbeatPrefix}add-every-second`, 'meta')) ?? 'null'));
      assert.ok(meta.total_run_count >= 2);
    } finally {
      redis.disconnect();
    }
    assert.equal((await beat.stop()).code, 0, beat.logs());
  } finally {
    beat?.kill();
    await worker?.stop();
    await redisClaim.deleteKeys(redbeatPrefix);
    await rm(dir, { recursive: true, force: true });
  }
});
