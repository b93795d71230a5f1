// Two beats on one real Redis with celery-redbeat's layout and a 2 s leader lock: only the
// leader sends, a killed leader is replaced within the lock timeout, no slot is sent twice and
// the new leader makes at most one catch-up run (celery/beat.py `Scheduler.tick`;
// redbeat/schedulers.py `RedBeatScheduler.tick`). Entries that other redbeat clients saved run
// too; disabled, vanished and undecodable ones don't.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { Beat, systemClock } from '../../src/beat/beat.js';
import { RedisLeaderLock } from '../../src/beat/leader-lock.js';
import { RedbeatScheduler } from '../../src/beat/redbeat-scheduler.js';
import { buildScheduleTable } from '../../src/beat/schedule-table.js';
import { NotLeaderError } from '../../src/beat/scheduler.js';
import { redbeatKeys, RedisStore } from '../../src/beat/stores/redis-store.js';
import { TimeZone } from '../../src/beat/time-zone.js';
import { type Logger, silentLogger } from '../../src/log.js';
import { pollUntil } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';

const { url, token } = claimRedis('beat-redis-leader');
const keys = redbeatKeys(`${token}-redbeat:`);
const lockKey = keys.lock ?? assert.fail('the default keys include a lock');
const LOCK_MS = 2000;
const table = { tick: { task: 'beat.tick', schedule: 1, options: { expires: 10 } } };
const clients: Redis[] = [];

after(async () => {
  const redis = new Redis(url);
  try {
    const found = await redis.keys(`${token}-redbeat:*`);
    if (found.length) await redis.del(...found);
  } finally {
    redis.disconnect();
    for (const c of clients) c.disconnect();
  }
});

type Sent = { beat: string; at: number };

function startBeat(id: string, sent: Sent[], opts: { crash?: boolean } = {}) {
  const redis = new Redis(url);
  clients.push(redis);
  const lock = new RedisLeaderLock(redis, lockKey, LOCK_MS);
  // A crashed beat never releases its lock: the standby must wait for it to expire.
  if (opts.crash) lock.release = async () => {};
  const entries = buildScheduleTable(table);
  const store = new RedisStore(redis, { keys, timezone: new TimeZone('UTC'), lockToken: lock.token });
  const scheduler = new RedbeatScheduler({
    app: { sendTask: async () => (sent.push({ beat: id, at: Date.now() }), { id: `${id}-${sent.length}` }) },
    statics: entries,
    store,
    tableOptions: {},
    now: () => Date.now(),
    logger: silentLogger,
    maxIntervalMs: 1000,
  });
  const beat = new Beat({ scheduler, clock: systemClock, logger: silentLogger, lock, lockRetryMs: 200 });
  const controller = new AbortController();
  const done = beat.run(controller.signal);
  return { beat, lock, redis, stop: async () => (controller.abort(), await done) };
}

test('leader killed → standby takes over within the lock timeout; no slot twice, no burst', async () => {
  const sent: Sent[] = [];
  const a = startBeat('a', sent, { crash: true });
  await pollUntil('a leads', () => a.beat.isLeader, { timeoutMs: 5000 });
  const b = startBeat('b', sent);
  try {
    await pollUntil('3 sends by a', () => sent.length >= 3, { timeoutMs: 8000 });
    assert.equal(b.beat.isLeader, false);
    assert.ok(sent.every((s) => s.beat === 'a'));
    const killedAt = Date.now();
    await a.stop(); // crash: lock left to expire
    const lastA = sent.filter((s) => s.beat === 'a').length;
    await pollUntil('3 sends by b', () => sent.filter((s) => s.beat === 'b').length >= 3, { timeoutMs: 10_000 });
    const firstB = sent.find((s) => s.beat === 'b')!;
    // Lock expiry (2 s) + a 0.2 s retry + one 1 s interval ≈ 3.2 s, with 1.8 s of room for a
    // loaded machine: a standby that waits for a whole further lock period (2 s) or more fails.
    assert.ok(firstB.at - killedAt <= LOCK_MS + 3000, `takeover took ${firstB.at - killedAt} ms`);
    // Consecutive sends never closer than half the interval: a duplicate slot would come within
    // milliseconds, and the takeover catch-up is a single run. (The recorded time follows the
    // Redis round trip of the advance, so on a loaded machine a gap can look 50+ ms short.)
    for (let i = 1; i < sent.length; i++) {
      const gap = sent[i]!.at - sent[i - 1]!.at;
      assert.ok(gap >= 500, `sends ${i - 1}→${i} only ${gap} ms apart: ${JSON.stringify(sent)}`);
    }
    const meta = JSON.parse((await b.redis.hget(keys.prefix + 'tick', 'meta'))!);
    await b.stop();
    const total = sent.length;
    assert.equal(meta.total_run_count >= lastA + 3, true);
    assert.ok(meta.total_run_count <= total);
    assert.equal(await b.redis.get(lockKey), null, 'a clean stop releases the lock');
    assert.deepEqual(await b.redis.smembers(keys.statics), ['tick']);
    const def = JSON.parse((await b.redis.hget(keys.prefix + 'tick', 'definition'))!);
    assert.deepEqual(def.schedule, { __type__: 'interval', every: 1, relative: false });
    assert.equal(meta.last_run_at.__type__, 'datetime');
    assert.ok((await b.redis.zscore(keys.schedule, keys.prefix + 'tick')) !== null);
  } finally {
    await a.stop().catch(() => {});
    await b.stop().catch(() => {});
  }
});

test('an advance by a beat whose lock was taken is fenced: nothing is sent', async () => {
  const redis = new Redis(url);
  clients.push(redis);
  const lock = new RedisLeaderLock(redis, keys.lock + '-fence', 5000);
  const fenceKeys = { ...keys, lock: keys.lock + '-fence', prefix: `${keys.prefix}fence:` };
  const store = new RedisStore(redis, { keys: fenceKeys, timezone: new TimeZone('UTC'), lockToken: lock.token });
  let now = Date.now();
  let sends = 0;
  const scheduler = new RedbeatScheduler({
    app: { sendTask: async () => (sends++, { id: 'x' }) },
    statics: buildScheduleTable(table),
    store,
    tableOptions: {},
    now: () => now,
    logger: silentLogger,
    maxIntervalMs: 1000,
  });
  assert.equal(await lock.acquire(), true);
  await scheduler.start();
  await redis.set(fenceKeys.lock, 'someone-else'); // our lock expired and another beat took it
  now += 1000;
  await assert.rejects(scheduler.tick(), NotLeaderError);
  assert.equal(sends, 0);
  await redis.del(fenceKeys.lock);
});

test('entries saved by other redbeat clients run; disabled, vanished and undecodable ones do not', async () => {
  const redis = new Redis(url);
  clients.push(redis);
  const dynKeys = { ...keys, lock: null, prefix: `${keys.prefix}dyn:`, schedule: `${keys.prefix}dyn::schedule`, statics: `${keys.prefix}dyn::statics` };
  const store = new RedisStore(redis, { keys: dynKeys, timezone: new TimeZone('UTC'), lockToken: null });
  const now = Date.parse('2026-01-05T10:00:30Z');
  const sent: { name: string; args: unknown[]; options: unknown }[] = [];
  const errors: string[] = [];
  const logger: Logger = { ...silentLogger, error: (m: string) => errors.push(m), warn: (m: string) => errors.push(m) };
  // What Python's RedBeatSchedulerEntry(...).save() writes: crontab fields as given, no meta yet.
  const crontab = { __type__: 'crontab', minute: '*', hour: '*', day_of_week: '*', day_of_month: '*', month_of_year: '*' };
  const define = (name: string, definition: Record<string, unknown>) =>
    redis.multi().hset(dynKeys.prefix + name, 'definition', JSON.stringify({ name, ...definition })).zadd(dynKeys.schedule, 0, dynKeys.prefix + name).exec();
  await define('dyn', { task: 'reports.dyn', args: [42], kwargs: null, options: { queue: 'reports' }, schedule: crontab, enabled: true });
  await define('off', { task: 'reports.off', args: [], kwargs: {}, options: {}, schedule: crontab, enabled: false });
  await define('broken', { task: 'reports.broken', schedule: { __type__: 'rrule', freq: 3 }, enabled: true });
  await redis.zadd(dynKeys.schedule, 0, dynKeys.prefix + 'vanished');
  const scheduler = new RedbeatScheduler({
    app: { sendTask: async (name, args, _kwargs, options) => (sent.push({ name, args, options }), { id: 'x' }) },
    statics: [],
    store,
    tableOptions: {},
    now: () => now,
    logger,
    maxIntervalMs: 60_000,
  });
  await scheduler.start();
  const wait = await scheduler.tick();
  assert.deepEqual(sent, [{ name: 'reports.dyn', args: [42], options: { queue: 'reports' } }]);
  assert.equal(wait, 5000, 'a disabled entry is looked at again in 5 s');
  const meta = JSON.parse((await redis.hget(dynKeys.prefix + 'dyn', 'meta'))!);
  assert.equal(meta.total_run_count, 1);
  assert.equal(await redis.zscore(dynKeys.schedule, dynKeys.prefix + 'dyn'), String(Date.parse('2026-01-05T10:01:00Z') / 1000));
  assert.equal(await redis.zscore(dynKeys.schedule, dynKeys.prefix + 'vanished'), null, 'a key without a hash is unscheduled');
  assert.ok(errors.some((e) => e.includes('vanished')));
  assert.ok(errors.some((e) => e.includes('broken')));
  await scheduler.tick();
  assert.equal(sent.length, 1, 'nothing more is due in the same second');
  assert.equal(errors.filter((e) => e.includes('broken')).length, 1, 'an undecodable definition is reported once');
});