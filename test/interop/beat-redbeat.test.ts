// A TypeScript beat and a real Python celery-redbeat beat on one Redis prefix, sharing one
// schedule table (the same JSON file, in redbeat's encoding) and one leader lock. The leader is
// killed twice (ts → Python → ts): every takeover happens within the lock timeout, no slot is
// sent twice, each new leader makes at most one catch-up run, and an entry Python saves at
// runtime (RedBeatSchedulerEntry.save) is run by the TypeScript beat.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { pollUntil, runPython, startPythonBeat } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';
import { startTsBeat } from '../helpers/ts-worker.js';

const redisClaim = claimRedis('beat-redbeat');
const { url, token, prefix } = redisClaim;
const queue = `q-redbeat-${token}`;
const redbeatPrefix = `${token}-redbeat:`;
const LOCK_TIMEOUT_S = 3;
const crontab = (minute: string, hour: string) => ({ __type__: 'crontab', minute, hour, day_of_week: '*', day_of_month: '*', month_of_year: '*' });
const TABLE = {
  tick: { task: 'interop.beat_tick', schedule: { __type__: 'interval', every: 1.0, relative: false }, args: [], kwargs: {}, options: { expires: 30 } },
  nightly: { task: 'interop.nightly', schedule: crontab('0', '3'), args: [1], kwargs: {}, options: {} },
};
const env = { BROKER_URL: url, KEYPREFIX: prefix, DEFAULT_QUEUE: queue, REDBEAT_PREFIX: redbeatPrefix, BEAT_TABLE: JSON.stringify(TABLE), LOCK_TIMEOUT: String(LOCK_TIMEOUT_S) };

after(() => redisClaim.deleteKeys(redbeatPrefix));

interface Arrival {
  /** When the beat sent it: the message's `expires` minus the entry's 30 s (the beat's clock, so a
   * stall of this collector cannot squeeze two sends together). */
  at: number;
  id: string;
  task: string;
}

/** Pops every message beat publishes to the queue, with its arrival time (own connection). */
function collect() {
  const redis = new Redis(url);
  const arrivals: Arrival[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const popped = await redis.brpop(`${prefix}${queue}`, 0.2);
      if (!popped) continue;
      const headers = JSON.parse(popped[1]).headers as { id: string; task: string; expires: string | null };
      const sentAt = headers.expires ? Date.parse(headers.expires) - 30_000 : Number.NaN;
      arrivals.push({ at: headers.task === 'interop.beat_tick' ? sentAt : Date.now(), id: headers.id, task: headers.task });
    }
  })();
  const stop = async () => {
    running = false;
    await done;
    redis.disconnect();
  };
  return { arrivals, stop };
}

test('one schedule, one lock: ts beat and Python RedBeat hand over leadership without sending a slot twice', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'redbeat-'));
  const table = join(dir, 'table.json');
  await writeFile(table, JSON.stringify(TABLE));
  const tsArgs = ['-A', 'test/interop/ts/tasks.ts', '--schedule-table', table, '-S', 'redbeat', '--redbeat-key-prefix', redbeatPrefix, '--lock-timeout', String(LOCK_TIMEOUT_S), '--max-interval', '1'];
  const redis = new Redis(url);
  const consumer = collect();
  const ticks = (from = 0) => consumer.arrivals.slice(from).filter((a) => a.task === 'interop.beat_tick').length;
  const sendLines = (log: string) => log.match(/Scheduler: Sending due task tick \(interop\.beat_tick\)/g)?.length ?? 0;
  let tsA, python, tsB;
  try {
    tsA = await startTsBeat(tsArgs, env);
    await pollUntil('ts beat sends', () => ticks() >= 2, { timeoutMs: 10_000 });
    // DEBUG for redbeat's "Acquiring lock..." (acquire_distributed_beat_lock), logged before it blocks.
    python = await startPythonBeat('redbeat_app', ['-S', 'redbeat.RedBeatScheduler', '-l', 'DEBUG'], env);
    await python.waitForLog('beat: Acquiring lock', 15_000);
    const whilePythonWaits = consumer.arrivals.length;
    await pollUntil('two more sends by ours while Python waits for the lock', () => ticks(whilePythonWaits) >= 2, { timeoutMs: 15_000 });
    assert.equal(sendLines(python.logs()), 0, 'the Python beat stands by while ours holds the lock');
    assert.doesNotMatch(python.logs(), /beat: Acquired lock/);

    // Leader 1 (ts) dies: Python takes over after the lock expires.
    tsA.kill();
    const killedTs = Date.now();
    await python.waitForLog(/Sending due task tick/, 15_000);
    const firstPython = consumer.arrivals.length;
    await pollUntil('Python beat sends', () => ticks(firstPython) >= 3, { timeoutMs: 10_000 });
    const pythonTakeover = consumer.arrivals.find((a) => a.at > killedTs)!.at - killedTs;

    // Leader 2 (Python) dies: a new ts beat, standing by meanwhile, takes over.
    tsB = await startTsBeat(tsArgs, env);
    const whileTsWaits = consumer.arrivals.length;
    await pollUntil('two more sends by Python while the new ts beat stands by', () => ticks(whileTsWaits) >= 2, { timeoutMs: 15_000 });
    assert.equal(sendLines(tsB.logs()), 0, 'the new ts beat stands by while Python holds the lock');
    assert.doesNotMatch(tsB.logs(), /beat: Acquired lock/);
    python.kill();
    const killedPython = Date.now();
    await tsB.waitForLog(/Sending due task tick/, 15_000);
    await pollUntil('ts beat sends again', () => consumer.arrivals.filter((a) => a.at > killedPython).length >= 3, { timeoutMs: 10_000 });
    const tsTakeover = consumer.arrivals.find((a) => a.at > killedPython)!.at - killedPython;

    // An entry a Python service adds at runtime is run by whichever beat leads (ours, now).
    await runPython(
      `from redbeat import RedBeatSchedulerEntry
from redbeat_app import app
RedBeatSchedulerEntry('py-dynamic', 'interop.dynamic', 2.0, args=[7], app=app).save()
print('{}')`,
      env,
    );
    await pollUntil('dynamic entry sent', () => consumer.arrivals.some((a) => a.task === 'interop.dynamic'), { timeoutMs: 10_000 });

    assert.equal((await tsB.stop()).code, 0, tsB.logs());
    await consumer.stop();

    const arrivals = consumer.arrivals.filter((a) => a.task === 'interop.beat_tick');
    assert.ok(arrivals.every((a) => Number.isFinite(a.at)), `every tick carries its expires: ${JSON.stringify(arrivals)}`);
    arrivals.sort((a, b) => a.at - b.at);
    assert.equal(new Set(arrivals.map((a) => a.id)).size, arrivals.length, 'every message is a new task id');
    for (let i = 1; i < arrivals.length; i++) {
      const gap = arrivals[i]!.at - arrivals[i - 1]!.at;
      assert.ok(gap >= 500, `sends ${i - 1}→${i} only ${gap} ms apart (a slot sent twice): ${JSON.stringify(arrivals)}`);
    }
    // Lock expiry + the standby's retry period + one interval, with room for a loaded machine.
    const limit = (LOCK_TIMEOUT_S + 4) * 1000;
    assert.ok(pythonTakeover <= limit, `Python took over after ${pythonTakeover} ms`);
    assert.ok(tsTakeover <= limit, `ts took over after ${tsTakeover} ms`);
    assert.ok(!consumer.arrivals.some((a) => a.task === 'interop.nightly'), 'the 03:00 entry was not due');
    // Both beats advanced one shared counter; a beat killed between advancing and publishing
    // loses that one run (at most once), so the count may exceed the messages by one per kill.
    const meta = JSON.parse((await redis.hget(`${redbeatPrefix}tick`, 'meta'))!);
    assert.ok(meta.total_run_count >= arrivals.length && meta.total_run_count <= arrivals.length + 2, `total_run_count ${meta.total_run_count} for ${arrivals.length} messages`);
    assert.equal(await redis.get(`${redbeatPrefix}:lock`), null, 'the last leader released the lock');
    assert.deepEqual((await redis.smembers(`${redbeatPrefix}:statics`)).sort(), ['nightly', 'tick']);
  } finally {
    tsA?.kill();
    python?.kill();
    tsB?.kill();
    await consumer.stop();
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  }
});
