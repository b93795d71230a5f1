// A Django shop's schedule run by our beat: a real Django project (test/interop/python/djangoproj)
// migrates django-celery-beat's tables into a PostgreSQL (then a MariaDB) database of this file's own; a periodic
// task created through Django's ORM, as the admin does, is sent by `ts-celery beat -S django` on
// time and run by a Python worker (whose results land in django-celery-results' table); an edit
// and a disable made through the ORM take effect without a restart; a second beat on the same
// database stands by on the advisory lock and takes over when the leader dies, no slot sent twice.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { pollUntil, runPython, startPythonWorker } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';
import { createTestDatabase, type SqlServer, type TestDatabase } from '../helpers/sql-database.js';
import { startTsBeat } from '../helpers/ts-worker.js';

const redisClaim = claimRedis('django-beat');
const { url: brokerUrl, token, prefix } = redisClaim;
let queue: string;
let db: TestDatabase;
let env: Record<string, string>;

/** A database of this test's own, with Django's `migrate` run once into it. */
async function setUp(server: SqlServer): Promise<void> {
  queue = `q-djbeat-${server}-${token}`;
  db = await createTestDatabase(server, `django_beat_${server}`);
  env = { BROKER_URL: brokerUrl, KEYPREFIX: prefix, DEFAULT_QUEUE: queue, DJANGO_DB_URL: db.url };
  await django(`from django.core.management import call_command
call_command('migrate', verbosity=0)
print('{}')`);
}

after(() => redisClaim.deleteKeys(prefix));

/** A snippet in the Django project (django_app sets it up), as the admin's ORM calls are. */
const django = (code: string) => runPython(`import json\nimport django_app\nfrom django_celery_beat.models import *\n${code}`, env);

interface TickResult {
  value: number;
  expires: string;
  periodic_task_name: string | null;
}

/** What the Python worker stored for the beat's sends, oldest first, with the beat's send time. */
async function results(): Promise<(TickResult & { sentAt: number; taskId: string })[]> {
  const rows = await db.query<{ task_id: string; result: string; status: string }>(
    "SELECT task_id, result, status FROM django_celery_results_taskresult WHERE task_name = 'interop.django_tick' AND status = 'SUCCESS'",
  );
  return rows
    .map((r) => {
      const value = JSON.parse(r.result) as TickResult;
      // The entry's expire_seconds is 30: the beat's clock at the send, whoever observes it later.
      return { ...value, taskId: r.task_id, sentAt: Date.parse(value.expires) - 30_000 };
    })
    .sort((a, b) => a.sentAt - b.sentAt);
}

async function scenario(server: SqlServer): Promise<void> {
  await setUp(server);
  try {
    await run();
  } finally {
    await db.drop();
  }
}

for (const server of ['postgres', 'mariadb'] as const) {
  test(`${server}: an ORM-created periodic task is sent by our beat, edits and disables take effect, two beats send each slot once`, () => scenario(server));
}

async function run(): Promise<void> {
  await django(`every, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
nightly, _ = CrontabSchedule.objects.get_or_create(minute='0', hour='3', timezone='Europe/Berlin')
PeriodicTask.objects.create(name='tick', task='interop.django_tick', interval=every, args=json.dumps([1]), expire_seconds=30, headers=json.dumps({'origin': 'admin'}))
PeriodicTask.objects.create(name='nightly', task='interop.django_tick', crontab=nightly, args=json.dumps([99]))
print('{}')`);
  const worker = await startPythonWorker({ app: 'django_app', queues: [queue], nodeName: `djbeat-${token}@localhost`, env });
  // The tasks module's app reads the broker, key prefix and default queue from the same variables.
  const beatArgs = ['-A', 'test/interop/ts/tasks.ts', '-S', 'django', '--database-url', db.url, '--max-interval', '1', '--lock-timeout', '1.5'];
  const beatEnv = env;
  let leader, standby;
  try {
    leader = await startTsBeat(beatArgs, beatEnv);
    await leader.waitForLog(/leads: acquired lock/, 10_000);
    standby = await startTsBeat(beatArgs, beatEnv);
    await standby.waitForLog(/standing by/, 10_000);

    await pollUntil('two runs by the Python worker', async () => (await results()).length >= 2, { timeoutMs: 15_000 });
    const first = (await results())[0]!;
    assert.equal(first.value, 1);
    assert.equal(first.periodic_task_name, 'tick', 'the periodic_task_name header reaches the worker');

    // The admin edits the arguments: the change marker moves, the next sends carry them.
    await django(`t = PeriodicTask.objects.get(name='tick'); t.args = json.dumps([2]); t.save(); print('{}')`);
    await pollUntil('a run with the edited arguments', async () => (await results()).some((r) => r.value === 2), { timeoutMs: 10_000 });

    // The leader dies: the standby holds the advisory lock as soon as the connection is gone.
    leader.kill();
    const killedAt = Date.now();
    await standby.waitForLog(/took over as leader/, 10_000);
    await pollUntil('runs sent by the new leader', async () => (await results()).filter((r) => r.sentAt > killedAt).length >= 2, { timeoutMs: 10_000 });

    // The admin disables it: no send after the beat saw the change.
    await django(`t = PeriodicTask.objects.get(name='tick'); t.enabled = False; t.save(); print('{}')`);
    await standby.waitForLog(/Schedule changed/, 10_000);
    const seen = Date.now();
    const countAtDisable = (await results()).length;
    // A negative can only be waited out: three intervals, with the worker draining what was sent before.
    await new Promise((r) => setTimeout(r, 3000));
    const afterDisable = (await results()).filter((r) => r.sentAt > seen + 200);
    assert.deepEqual(afterDisable, [], 'nothing sent after the disable was seen');

    assert.equal((await standby.stop()).code, 0, standby.logs());
    const all = await results();
    assert.ok(all.length >= countAtDisable);
    assert.equal(new Set(all.map((r) => r.taskId)).size, all.length);
    for (let i = 1; i < all.length; i++) {
      const gap = all[i]!.sentAt - all[i - 1]!.sentAt;
      assert.ok(gap >= 500, `sends ${i - 1}→${i} only ${gap} ms apart (a slot sent twice): ${JSON.stringify(all)}`);
    }
    const [row] = await db.query<{ total_run_count: number; last_run_at: Date | null; enabled: boolean | number }>(
      "SELECT total_run_count, last_run_at, enabled FROM django_celery_beat_periodictask WHERE name = 'tick'",
    );
    // Every send was counted before it was published (a killed leader may have counted one it never
    // sent), but each of the two admin saves above writes every column, total_run_count included, as
    // Django's Model.save does: one that read the row just before a send puts the old count back.
    assert.ok(row!.total_run_count >= all.length - 2 && row!.total_run_count <= all.length + 1, `total_run_count ${row!.total_run_count} for ${all.length} runs`);
    assert.equal(Boolean(row!.enabled), false);
    assert.equal(row!.last_run_at, null, 'disabling clears last_run_at, as PeriodicTask.save does');
    assert.match(standby.logs(), /Scheduler: Sending due task tick \(interop\.django_tick\)/);
  } finally {
    leader?.kill();
    standby?.kill();
    await worker.stop();
  }
}
