// The exceptions a worker raises on its own — hard and soft time limits, a lost worker process,
// an unregistered task, revoked and expired tasks, retries exhausted, Reject and Ignore — stored
// by OUR worker (`-P threads`) exactly as a real Python Celery 5.7 worker (`-P prefork`) stores
// them in the same situations: the same fault_driver.py runs against each, and the stored metas
// are compared field by field (only ids, times, stacks and the way the process died differ).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type PythonWorker, runPython, startPythonWorker } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';
import { startTsWorker, type TsWorker } from '../helpers/ts-worker.js';

const claim = claimRedis('worker-own-exceptions');
const { url, token, prefix } = claim;
const env = { BROKER_URL: url, RESULT_BACKEND: url, KEYPREFIX: prefix, DEFAULT_QUEUE: `fault-${token}` };
const pyNode = `fault-py-${token}@localhost`;
const tsNode = `fault-ts-${token}@localhost`;

type Metas = Record<string, Record<string, unknown> | null>;
let python: Metas = {};
let ours: Metas = {};
let pyWorker: PythonWorker | undefined;
let tsWorker: TsWorker | undefined;

before(async () => {
  [pyWorker, tsWorker] = await Promise.all([
    startPythonWorker({ app: 'fault_tasks', queues: [`fault-py-${token}`], nodeName: pyNode, env, pool: 'prefork', concurrency: 1 }),
    startTsWorker({ app: 'test/interop/ts/fault-tasks.ts', queues: [`fault-ts-${token}`], nodeName: tsNode, env, concurrency: 1, extraArgs: ['-P', 'threads'] }),
  ]);
  const drive = async (queue: string, node: string) => (await runPython(`import fault_driver; fault_driver.run('${queue}', '${node}')`, env, 120_000)).json as Metas;
  [python, ours] = await Promise.all([drive(`fault-py-${token}`, pyNode), drive(`fault-ts-${token}`, tsNode)]);
});

after(async () => {
  try {
    await Promise.all([pyWorker?.stop(), tsWorker?.stop()]);
  } finally {
    pyWorker?.kill();
    tsWorker?.kill();
    await claim.deleteKeys();
  }
});

/** What may differ between two runs: ids, times, stack text, and how the process died. */
function normalize(meta: Record<string, unknown> | null): unknown {
  if (meta === null) return null;
  const { task_id: id, date_done: doneAt, traceback, ...rest } = meta;
  const text = JSON.stringify({ ...rest, traceback: traceback === null ? null : 'a traceback', date_done: doneAt === null ? null : 'set' })
    .replaceAll(String(id), '<id>')
    .replace(/Worker exited prematurely: (?:signal \d+ \(\w+\)|exitcode \d+) Job: \d+\./, 'Worker exited prematurely: <how> Job: <n>.');
  return JSON.parse(text);
}

const CASES = ['time_limit', 'soft_time_limit', 'worker_lost', 'not_registered', 'expired', 'revoked_command', 'revoked_on_arrival', 'max_retries', 'reject', 'ignore'];

for (const name of CASES) {
  test(`${name}: our stored meta matches Python's field by field`, () => {
    assert.ok(name in python && name in ours, `driver output lacks ${name}`);
    assert.deepEqual(normalize(ours[name]!), normalize(python[name]!), `python: ${JSON.stringify(python[name])}\nours:   ${JSON.stringify(ours[name])}`);
  });
}

test('the args Python re-raises with: TimeLimitExceeded(1), SoftTimeLimitExceeded(), Reject(reason, False)', () => {
  assert.deepEqual((ours.time_limit!.result as { exc_message: unknown }).exc_message, [1]);
  assert.deepEqual((ours.soft_time_limit!.result as { exc_message: unknown }).exc_message, []);
  assert.deepEqual((ours.reject!.result as { exc_message: unknown }).exc_message, ['not for us', false]);
});
