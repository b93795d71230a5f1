// `ts-celery worker -B`: the beat runs inside the worker process (Celery's embedded beat), sends
// the module's beat_schedule entries, the same worker runs them, and SIGTERM stops both cleanly.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';
import { startTsWorker } from '../helpers/ts-worker.js';

const redisClaim = claimRedis('worker-embedded-beat');
const { url, token, prefix } = redisClaim;
const queue = `embedded-beat-${token}`;

test('worker -B sends the schedule and runs it in one process; SIGTERM stops both', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'embedded-beat-'));
  const tasks = join(dir, 'tasks.ts');
  await writeFile(
    tasks,
    `import { Celery } from ${JSON.stringify(resolve(REPO_ROOT, 'src/index.ts'))};
export const app = new Celery({
  broker_url: ${JSON.stringify(url)},
  result_backend: ${JSON.stringify(url)},
  broker_transport_options: { global_keyprefix: ${JSON.stringify(prefix)} },
  result_backend_transport_options: { global_keyprefix: ${JSON.stringify(prefix)} },
  task_default_queue: ${JSON.stringify(queue)},
  beat_schedule: { 'tick-every-second': { task: 'embedded.tick', schedule: 1, args: [7] } },
});
app.task('embedded.tick', (n: number) => n * 6);
`,
  );
  const worker = await startTsWorker({ app: tasks, queues: [queue], nodeName: `embedded-${token}@localhost`, env: {}, extraArgs: ['-B', '-S', 'default'] });
  try {
    await worker.waitForLog(/Scheduler: Sending due task tick-every-second \(embedded\.tick\)[\s\S]*Task embedded\.tick\[[0-9a-f-]+\] succeeded in [\d.e-]+s: 42[\s\S]*Task embedded\.tick\[[0-9a-f-]+\] succeeded/, 15_000);
    assert.match(worker.logs(), /beat: Starting\.\.\./);
    // `-S <scheduler>`, the old spelling: still the scheduler (on the worker, -S is Celery's --statedb).
    assert.match(worker.logs(), /-S default: -S is --statedb, as in Celery; give the embedded beat's scheduler with --scheduler default/);
    const status = await worker.stop();
    assert.equal(status.code, 0, worker.logs());
    assert.match(worker.logs(), /beat: Shutting down\.\.\./);
  } finally {
    worker.kill();
    await redisClaim.deleteKeys();
    await rm(dir, { recursive: true, force: true });
  }
});
