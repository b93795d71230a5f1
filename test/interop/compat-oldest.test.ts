// The oldest supported Celery, proven on every `npm test`: a smoke subset of the interop tier
// (both directions on Redis and RabbitMQ, a failure re-raised in Python, a retry, a chord across
// languages, and the beat feeding a Python worker) runs in a child test runner against its venv
// (scripts/setup-python.sh <oldest>). The newest runs the whole tier; `npm run test:matrix`
// runs the whole tier against every supported minor.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { runInterop } from '../helpers/interop-run.js';
import { REPO_ROOT } from '../helpers/python.js';

const oldest = execFileSync('bash', [resolve(REPO_ROOT, 'scripts/celery-versions.sh'), 'oldest'], { encoding: 'utf8' }).trim();
const venv = `.venv-celery/${oldest}`;

/** file → the tests of it that make up the smoke subset (exact names). */
const SMOKE: Record<string, string[]> = {
  'test/interop/worker-python-producer.test.ts': [
    'apply_async / delay / signature from Python stubs run on our worker',
    'failures: Python get() raises the mapped exception type with the message; traceback is a string',
  ],
  'test/interop/core-python-worker.test.ts': [
    'args and kwargs of every JSON type come back equal from a Python echo task',
    'FAILURE: get() rejects with TaskError ValueError carrying the Python traceback',
  ],
  'test/interop/worker-execution.test.ts': ['a retry our worker published is continued by a Python worker, and the reverse'],
  'test/interop/worker-canvas.test.ts': ['a chord whose header runs on both workers sends its body once, with the results in order'],
  'test/interop/worker-rabbitmq.test.ts': [
    'a Python producer on RabbitMQ reaches our worker: values, errors and state as Python reads them',
    'our producer on RabbitMQ reaches a Python worker',
  ],
  'test/interop/beat-python-worker.test.ts': ['a TypeScript beat feeds a Python worker: interop.add runs every second'],
};

test(`Celery ${oldest} (oldest supported): the smoke subset passes`, { skip: oldest === '' && 'no matrix version' }, async () => {
  assert.ok(existsSync(resolve(REPO_ROOT, venv, 'bin/python')), `${venv} is missing; run scripts/setup-python.sh ${oldest}`);
  const names = Object.values(SMOKE).flat();
  const run = await runInterop({ version: oldest, venv, files: Object.keys(SMOKE), names });
  const ran = run.outcomes.filter((o) => names.includes(o.name));
  const report = ran.map((o) => `${o.status} - ${o.name}${o.reason ? ` (${o.reason})` : ''}`).join('\n');
  console.log(`# Celery ${oldest} smoke:\n${report.replace(/^/gm, '#   ')}`);
  // Every listed test ran (a renamed test would otherwise drop out of the subset unnoticed) and passed.
  assert.deepEqual(ran.map((o) => o.name).sort(), [...names].sort(), `smoke tests missing from the run:\n${run.output.slice(-6000)}`);
  const failed = ran.filter((o) => o.status !== 'ok');
  assert.deepEqual(failed, [], `Celery ${oldest} smoke failures:\n${run.output.slice(-12000)}`);
});
