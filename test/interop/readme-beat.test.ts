// The README's Beat example, as written there (extracted at test time): `ts-celery beat -A
// <example> --list` prints the next run Python Celery computes for the same table and timezone
// (a celery.beat.Scheduler over it, `remaining_estimate` at the instant --list ran), the
// celery.backend_cleanup entry beat adds included.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import type { Celery } from '../../src/app.js';
import { BACKEND_CLEANUP_ENTRY, BACKEND_CLEANUP_TASK, needsBackendCleanup } from '../../src/backend/cleanup.js';
import { appTimeZoneName, buildScheduleTable } from '../../src/beat/schedule-table.js';
import { runPython } from '../helpers/python.js';
import { readmeBlocks, runnableSource, typeCheckReadme } from '../helpers/readme.js';
import { runCli } from '../helpers/ts-worker.js';

const PY = String.raw`
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo
from celery import Celery
from celery.beat import Scheduler
from celery.schedules import crontab, solar
req = json.loads(REQ)
US = timedelta(microseconds=1)
app = Celery('readme', set_as_current=False)
table = {}
for name, s in req['table'].items():
    kind = s.pop('__type__')
    entry = {'task': 't'}
    if kind == 'crontab':
        entry['schedule'] = crontab(**s)
    elif kind == 'solar':
        entry['schedule'] = solar(s['event'], s['lat'], s['lon'])
    else:
        entry['schedule'] = s['every']
        entry['relative'] = s.get('relative', False)
    table[name] = entry
app.conf.update(timezone=req['zone'], enable_utc=True, beat_schedule=table, result_expires=None)
sched = Scheduler(app)
out = []
for ms in req['instants']:
    now = datetime.fromtimestamp(ms / 1000, tz=ZoneInfo(req['zone']))
    app.now = lambda: now
    out.append({name: ms + (sched.schedule[name].schedule.remaining_estimate(now) // US) / 1000 for name in req['table']})
print(json.dumps(out))
`;

test("the README's Beat example: ts-celery beat --list gives Python Celery's next runs", async () => {
  const examples = typeCheckReadme(readmeBlocks()).filter((c) => c.selfContained && /\bbeat_schedule\b/.test(c.block.code));
  assert.ok(examples.length >= 1, 'README.md has no self-contained Beat example');
  const dir = await mkdtemp(join(tmpdir(), 'readme-beat-'));
  try {
    for (const { block } of examples) {
      const where = `README.md:${block.line}`;
      const file = join(dir, `readme-line-${block.line}.ts`);
      await writeFile(file, runnableSource(block.code));
      const module = (await import(pathToFileURL(file).href)) as { app?: Celery; default?: Celery };
      const app = module.app ?? module.default ?? assert.fail(`${where}: the example exports no app`);
      const zone = appTimeZoneName({ timezone: app.conf.timezone, enableUtc: app.conf.enable_utc });
      // With no result backend that expires results itself, beat adds Celery's daily cleanup entry
      // (celery/beat.py `install_default_entries`): compared with Python's next run as well.
      const cleanup = needsBackendCleanup(app.conf.result_backend, app.conf.result_expires) ? { [BACKEND_CLEANUP_TASK]: BACKEND_CLEANUP_ENTRY } : {};
      const entries = buildScheduleTable({ ...app.conf.beat_schedule, ...cleanup }, { timezone: zone });
      const before = Date.now();
      // --no-lock: the example's broker is the reader's Redis, which --list needs not read.
      const run = await runCli(['beat', '-A', file, '--list', '--no-lock'], { timeoutMs: 30_000 });
      const after = Date.now();
      assert.equal(run.code, 0, `${where}: ${run.stderr}`);
      const listed = new Map(
        run.stdout
          .trim()
          .split('\n')
          .map((line) => /^(\S+)\s.*\snext: (\S+)\s/.exec(line) ?? assert.fail(`${where}: unexpected --list line: ${line}`))
          .map((m) => [m[1]!, Date.parse(m[2]!)]),
      );
      const table = Object.fromEntries(entries.map((e) => [e.name, e.schedule.toJSON()]));
      const { json } = await runPython(`REQ = ${JSON.stringify(JSON.stringify({ table, zone, instants: [before, after] }))}\n${PY}`);
      const [lo, hi] = json as Record<string, number>[];
      assert.deepEqual([...listed.keys()].sort(), entries.map((e) => e.name).sort());
      for (const e of entries) {
        const got = listed.get(e.name)!;
        const [a, b] = [lo![e.name]!, hi![e.name]!];
        // --list read the clock between before and after; a next run only grows with it.
        const ok = table[e.name]!.__type__ === 'interval' ? got >= a && got <= b : got === a || got === b;
        assert.ok(ok, `${where} ${e.name} (${zone}): --list says ${new Date(got).toISOString()}, Python ${new Date(a).toISOString()}…${new Date(b).toISOString()}`);
      }
      console.log(`# ${where}: ${entries.length} entries in ${zone} match Python Celery`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
