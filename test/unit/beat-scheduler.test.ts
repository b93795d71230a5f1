// The beat tick loop on a fake clock (celery/beat.py `Scheduler.tick`): first run one interval
// after start, one task per tick, state advanced before publishing, one catch-up run after
// downtime, options applied to the message, stores, schedule-table validation, solar entries, the
// beat set-up.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Celery } from '../../src/app.js';
import type { SendTaskOptions } from '../../src/send-task-options.js';
import { Beat, type BeatClock } from '../../src/beat/beat.js';
import { schedulerKind, setUpBeat } from '../../src/beat/beat-setup.js';
import type { EntryState, ScheduleEntry } from '../../src/beat/schedule-entry.js';
import { buildScheduleTable } from '../../src/beat/schedule-table.js';
import { NotLeaderError, Scheduler } from '../../src/beat/scheduler.js';
import { type SolarEvent, solar } from '../../src/beat/schedules/solar.js';
import { FileStore } from '../../src/beat/stores/file-store.js';
import { redbeatKeys } from '../../src/beat/stores/redis-store.js';
import { MemoryStore, type ScheduleStore } from '../../src/beat/stores/schedule-store.js';
import type { Logger } from '../../src/log.js';

const T0 = Date.parse('2024-03-04T10:00:00.000Z');

function fakeClock(start = T0) {
  let now = start;
  let stopAt = Infinity;
  const controller = new AbortController();
  const clock: BeatClock = {
    now: () => now,
    sleep: async (ms) => {
      if (now + ms > stopAt) {
        now = stopAt;
        controller.abort();
        return;
      }
      now += ms;
    },
  };
  return {
    clock,
    set: (t: number) => (now = t),
    /** Run `beat` until the fake clock reaches `until`. */
    runUntil: (beat: Beat, until: number) => {
      stopAt = until;
      return beat.run(controller.signal);
    },
  };
}

function recorder() {
  const sent: { name: string; args: unknown[]; kwargs: Record<string, unknown>; options: SendTaskOptions; at: number }[] = [];
  const lines: string[] = [];
  const logger: Logger = {
    debug: () => {},
    info: (m) => lines.push(m),
    warn: (m) => lines.push(m),
    error: (m) => lines.push(m),
    isEnabled: () => true,
  };
  return { sent, lines, logger };
}

function setup(table: Record<string, unknown>, store: ScheduleStore = new MemoryStore(), start = T0, timezone = 'UTC') {
  const fc = fakeClock(start);
  const rec = recorder();
  const entries = buildScheduleTable(table, { timezone });
  let ids = 0;
  const scheduler = new Scheduler({
    app: {
      sendTask: async (name, args, kwargs, options) => {
        rec.sent.push({ name, args, kwargs, options, at: fc.clock.now() });
        return { id: `id-${++ids}` };
      },
    },
    entries,
    store,
    now: fc.clock.now,
    logger: rec.logger,
    maxIntervalMs: 300_000,
  });
  const beat = new Beat({ scheduler, clock: fc.clock, logger: rec.logger });
  return { ...fc, ...rec, scheduler, beat, entries };
}

test('interval entry: first run one interval after start, then on the grid, with its options', async () => {
  const s = setup({
    'every-2s': { task: 'wirefx.add', schedule: 2, args: [1, 2], options: { queue: 'wirefx.beat', expires: 30, priority: 3, headers: { h: 1 } } },
  });
  await s.runUntil(s.beat, T0 + 10_500);
  assert.deepEqual(
    s.sent.map((m) => (m.at - T0) / 1000),
    [2, 4, 6, 8, 10], // Celery wakes 10 ms early (adjust); the re-check lands on the slot
  );
  assert.deepEqual(s.sent[0]!.options, { queue: 'wirefx.beat', expires: 30, priority: 3, headers: { h: 1 } });
  assert.deepEqual(s.sent[0]!.args, [1, 2]);
  assert.ok(s.lines.includes('Scheduler: Sending due task every-2s (wirefx.add)'), s.lines.join('\n'));
  assert.equal(s.scheduler.entryStates.get('every-2s')!.totalRunCount, 5);
});

test('crontab entry fires at its slots, one task per tick', async () => {
  const s = setup({
    minutely: { task: 't.a', schedule: { crontab: {} } },
    'every-15': { task: 't.b', schedule: { __type__: 'crontab', minute: '*/15' } },
  }, new MemoryStore(), T0 + 30_000);
  await s.runUntil(s.beat, T0 + 16 * 60_000 + 1);
  const a = s.sent.filter((m) => m.name === 't.a').map((m) => (m.at - T0) / 60_000);
  const b = s.sent.filter((m) => m.name === 't.b').map((m) => (m.at - T0) / 60_000);
  assert.deepEqual(a, Array.from({ length: 16 }, (_, i) => i + 1));
  assert.deepEqual(b, [15]);
});

test('after 3 days down: one catch-up run, then back on the grid (no burst)', async () => {
  const store = new MemoryStore();
  const table = { hourly: { task: 't.h', schedule: { crontab: { minute: 0 } } } };
  const [entry] = buildScheduleTable(table);
  await store.load([entry!], T0 - 3 * 86_400_000);
  const s = setup(table, store, T0 + 30 * 60_000);
  await s.runUntil(s.beat, T0 + 150 * 60_000);
  assert.deepEqual(s.sent.map((m) => (m.at - T0) / 60_000), [30, 60, 120]);
});

test('state is advanced (and persisted) before the message is published', async () => {
  const fc = fakeClock();
  const seen: EntryState[] = [];
  const store = new MemoryStore();
  const entries = buildScheduleTable({ e: { task: 't', schedule: 5 } });
  const scheduler = new Scheduler({
    app: {
      sendTask: async () => {
        seen.push({ ...(await store.load(entries, 0)).get('e')! });
        return { id: 'x' };
      },
    },
    entries,
    store,
    now: fc.clock.now,
    logger: recorder().logger,
  });
  await scheduler.start();
  fc.set(T0 + 5_000);
  assert.equal(await scheduler.tick(), 0);
  assert.deepEqual(seen, [{ lastRunAt: T0 + 5_000, totalRunCount: 1 }]);
  assert.equal(await scheduler.tick(), 5_000 - 10); // next check, 10 ms early as Celery's adjust
});

test('max interval caps the wait; a fenced advance sends nothing and raises NotLeaderError', async () => {
  const fc = fakeClock();
  const rec = recorder();
  const entries = buildScheduleTable({ daily: { task: 't', schedule: { crontab: { minute: 0, hour: 3 } } }, fast: { task: 'f', schedule: 1 } });
  const store = new (class extends MemoryStore {
    override async advance() {
      return 'fenced' as const;
    }
  })();
  const scheduler = new Scheduler({ app: { sendTask: async () => ({ id: 'x' }) }, entries: entries.slice(0, 1), store, now: fc.clock.now, logger: rec.logger, maxIntervalMs: 1000 });
  await scheduler.start();
  assert.equal(await scheduler.tick(), 1000);
  const fenced = new Scheduler({ app: { sendTask: async () => assert.fail('must not send') }, entries: entries.slice(1), store, now: fc.clock.now, logger: rec.logger });
  await fenced.start();
  fc.set(T0 + 1_000);
  await assert.rejects(fenced.tick(), NotLeaderError);
});

test('file store (-s): state survives a restart; entries dropped from the config disappear', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'beat-'));
  try {
    const path = join(dir, 'celerybeat-schedule.json');
    const table = { e: { task: 't', schedule: 2 }, gone: { task: 'g', schedule: 100 } };
    const s1 = setup(table, new FileStore(path, { timezone: 'UTC', enableUtc: true }));
    await s1.runUntil(s1.beat, T0 + 4_500);
    assert.equal(s1.sent.filter((m) => m.name === 't').length, 2);
    const saved = JSON.parse(await readFile(path, 'utf8'));
    assert.deepEqual(saved.entries.e, { last_run_at: new Date(T0 + 4_000).toISOString(), total_run_count: 2 });
    // Restart 10 s later with only `e`: one catch-up run at once, count continues.
    const s2 = setup({ e: table.e }, new FileStore(path, { timezone: 'UTC', enableUtc: true }), T0 + 14_500);
    await s2.runUntil(s2.beat, T0 + 15_000);
    assert.deepEqual(s2.sent.map((m) => m.at - T0), [14_500]);
    const after = JSON.parse(await readFile(path, 'utf8'));
    assert.deepEqual(Object.keys(after.entries), ['e']);
    assert.equal(after.entries.e.total_run_count, 3);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('beat_schedule validation names the entry and the field', () => {
  assert.throws(() => buildScheduleTable({ bad: { schedule: 5 } }), /beat_schedule\["bad"\]\["task"\]/);
  assert.throws(() => buildScheduleTable({ bad: { task: 't', schedule: { crontab: { day_of_week: 7 } } } }), /beat_schedule\["bad"\]\.schedule: Invalid crontab pattern/);
  assert.throws(() => buildScheduleTable({ bad: { task: 't', schedule: 5, options: { priority: 'high' } } }), /\["options"\]\["priority"\]/);
  const [e] = buildScheduleTable({ r: { task: 't', schedule: 3600, relative: true } }) as [ScheduleEntry];
  assert.deepEqual(e.schedule.toJSON(), { __type__: 'interval', every: 3600, relative: true });
});

test('beat_sync_every: the file store is written after that many sent tasks, not only every 3 minutes', async () => {
  const fc = fakeClock();
  const syncs: number[] = [];
  const store = new (class extends MemoryStore {
    override async sync() {
      syncs.push(fc.clock.now() - T0);
    }
  })();
  const entries = buildScheduleTable({ e: { task: 't', schedule: 1 } });
  const scheduler = new Scheduler({ app: { sendTask: async () => ({ id: 'x' }) }, entries, store, now: fc.clock.now, logger: recorder().logger, syncEveryTasks: 2 });
  const beat = new Beat({ scheduler, clock: fc.clock, logger: recorder().logger });
  await fc.runUntil(beat, T0 + 5_500);
  // Sends at 1…5 s: synced after the 2nd and 4th, then once more at shutdown.
  assert.deepEqual(syncs, [2_000, 4_000, 5_500]);
});

test('solar entries: Celery forms, validation with Celery wording, redbeat-style JSON', () => {
  const [a, b] = buildScheduleTable({
    a: { task: 't', schedule: { solar: { event: 'sunset', lat: 51.5, lon: -0.12 } } },
    b: { task: 't', schedule: { __type__: 'solar', event: 'dawn_civil', lat: -33.9, lon: 151.2 } },
  }) as [ScheduleEntry, ScheduleEntry];
  assert.equal(String(a.schedule), '<solar: sunset at latitude 51.5, longitude: -0.12>');
  assert.deepEqual(b.schedule.toJSON(), { __type__: 'solar', event: 'dawn_civil', lat: -33.9, lon: 151.2 });
  assert.throws(() => buildScheduleTable({ bad: { task: 't', schedule: { solar: { event: 'noon', lat: 0, lon: 0 } } } }), /beat_schedule\["bad"\]\["schedule"\]/);
  assert.throws(() => solar('sunrise', 91, 0), /Argument latitude 91 is invalid, must be between -90 and 90\./);
  assert.throws(() => solar('sunrise', 0, -181), /Argument longitude -181 is invalid, must be between -180 and 180\./);
  assert.throws(() => solar('teatime' as SolarEvent, 0, 0), /Argument event "teatime" is invalid, must be one of dawn_astronomical, dawn_civil/);
});

test('solar is_due: due once the event has passed, then the next check is the following event', () => {
  // London, 2024-06-21: sunset 21:21 BST = 20:21 UTC (published almanac time, to the minute).
  const s = solar('sunset', 51.5072, -0.1276);
  const last = Date.parse('2024-06-21T12:00:00Z');
  const sunset = s.nextRunAt(last);
  assert.ok(Math.abs(sunset - Date.parse('2024-06-21T20:21:30Z')) <= 60_000, new Date(sunset).toISOString());
  assert.deepEqual(s.isDue(last, sunset - 5_000), { isDue: false, nextInMs: 5_000 });
  const due = s.isDue(last, sunset + 1_000);
  assert.equal(due.isDue, true);
  assert.ok(Math.abs(due.nextInMs - 86_400_000) < 120_000, `next sunset in ${due.nextInMs} ms`);
});

test('beat set-up: Celery scheduler names, redbeat lock key rules, clear errors', () => {
  assert.equal(schedulerKind('celery.beat:PersistentScheduler'), 'default');
  assert.equal(schedulerKind('redbeat.RedBeatScheduler'), 'redbeat');
  assert.equal(schedulerKind('django_celery_beat.schedulers:DatabaseScheduler'), 'django');
  assert.throws(() => schedulerKind('django_celery_beat.schedulers:Nope'), /unknown beat scheduler 'django_celery_beat/);
  const djangoApp = new Celery({ broker_url: 'amqp://guest@localhost//', beat_scheduler: 'django' });
  assert.throws(() => setUpBeat(djangoApp, { logger: recorder().logger }), /django scheduler needs the Django database: set database_url/);
  assert.equal(redbeatKeys('rb:').lock, 'rb::lock');
  assert.equal(redbeatKeys('rb:', 'mylock').lock, 'rb:mylock', "redbeat prefixes a lock key that lacks the prefix");
  assert.equal(redbeatKeys('rb:', 'rb:custom').lock, 'rb:custom');
  assert.equal(redbeatKeys('rb:', null).lock, null);
  const app = new Celery({ broker_url: 'amqp://guest@localhost//', beat_scheduler: 'redbeat' });
  assert.throws(() => setUpBeat(app, { logger: recorder().logger }), /redbeat scheduler needs a Redis URL: set redbeat_redis_url/);
  assert.throws(() => new Celery({ beat_cron_starting_deadline: -5 }), /beat_cron_starting_deadline/);
});

test('file store refuses a file that is not its JSON (e.g. Celery\'s pickled shelve) without touching it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'beat-'));
  try {
    const path = join(dir, 'celerybeat-schedule');
    await writeFile(path, Buffer.from([0x80, 0x04, 0x95, 0x00]));
    const store = new FileStore(path, { timezone: 'UTC', enableUtc: true });
    await assert.rejects(store.load(buildScheduleTable({ e: { task: 't', schedule: 1 } }), T0), /is not ts-celery's JSON \(a Python celerybeat-schedule shelve\?\)/);
    assert.deepEqual(await readFile(path), Buffer.from([0x80, 0x04, 0x95, 0x00]));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a conflicting advance (another beat sent the slot) sends nothing and moves on to the next slot', async () => {
  const fc = fakeClock();
  const rec = recorder();
  const entries = buildScheduleTable({ e: { task: 't', schedule: 2 } });
  const store = new (class extends MemoryStore {
    override async advance() {
      return 'conflict' as const;
    }
  })();
  const scheduler = new Scheduler({ app: { sendTask: async () => assert.fail('must not send') }, entries, store, now: fc.clock.now, logger: rec.logger });
  await scheduler.start();
  fc.set(T0 + 2_000);
  assert.equal(await scheduler.tick(), 0);
  assert.equal(await scheduler.tick(), 2_000 - 10, 'next slot, no busy loop');
});

test('a leader lock stuck on an unreachable Redis does not hold up shutdown', async () => {
  const rec = recorder();
  const never = new Promise<boolean>(() => {});
  const lock = { key: 'k', token: 't', timeoutMs: 3000, acquire: () => never, renew: () => never, release: async () => {} };
  const scheduler = new Scheduler({ app: { sendTask: async () => ({ id: 'x' }) }, entries: [], store: new MemoryStore(), now: () => T0, logger: rec.logger });
  const beat = new Beat({ scheduler, clock: fakeClock().clock, logger: rec.logger, lock });
  const controller = new AbortController();
  const running = beat.run(controller.signal);
  await new Promise((r) => setImmediate(r));
  controller.abort();
  await running;
  assert.deepEqual(rec.lines, ['beat: Starting...', 'beat: Shutting down...']);
});

test('leader and standby say who leads; a standby that takes over says so', async () => {
  let holder: string | null = 'vm:1';
  let free = false;
  const rec = recorder();
  const lock = {
    key: 'k',
    token: 'vm:2/x',
    owner: 'vm:2',
    timeoutMs: 3000,
    acquire: async () => free,
    renew: async () => true,
    release: async () => {},
    holder: async () => holder,
  };
  const fc = fakeClock();
  const scheduler = new Scheduler({ app: { sendTask: async () => ({ id: 'x' }) }, entries: [], store: new MemoryStore(), now: fc.clock.now, logger: rec.logger });
  const beat = new Beat({ scheduler, clock: { ...fc.clock, sleep: async (ms, signal) => ((free = true), (holder = null), fc.clock.sleep(ms, signal)) }, logger: rec.logger, lock });
  await fc.runUntil(beat, T0 + 10_000);
  assert.deepEqual(rec.lines.slice(0, 3), [
    'beat: Starting...',
    'beat: vm:2 is standing by: vm:1 leads (lock k); taking over if its lock expires (3 s)',
    'beat: vm:2 took over as leader: the lock k was free (the previous leader stopped or died)',
  ]);
});

test('without Redis the beat says that no lock is held', async () => {
  const rec = recorder();
  const setup = setUpBeat(new Celery({ beat_schedule: {} }), { logger: rec.logger, clock: fakeClock().clock });
  const controller = new AbortController();
  controller.abort();
  await setup.beat.run(controller.signal);
  await setup.close();
  assert.match(rec.lines.join('\n'), /no leader lock held: no Redis configured \(broker memory:\/\/, no result backend\)/);
  const off = recorder();
  const optedOut = setUpBeat(new Celery({ broker_url: 'redis://127.0.0.1:6379/15', beat_leader_lock: false }), { logger: off.logger, clock: fakeClock().clock });
  await optedOut.beat.run(controller.signal);
  await optedOut.close();
  assert.match(off.lines.join('\n'), /no leader lock held: the leader lock is off \(beat_leader_lock = false \/ --no-lock\)/);
});

test('beat adds celery.backend_cleanup (daily 04:00, expires 12 h) where results do not expire on their own, as Celery\'s install_default_entries does', async () => {
  const cleanupOf = (config: Record<string, unknown>) => {
    const setup = setUpBeat(new Celery({ beat_leader_lock: false, ...config }), { logger: recorder().logger });
    return setup.entries.find((e) => e.name === 'celery.backend_cleanup');
  };
  // No result backend (Celery's DisabledBackend) and the database backends: added.
  for (const result_backend of [undefined, 'db+sqlite:///results.db', 'db+postgresql://u@h/db', 'django-db']) {
    const entry = cleanupOf({ result_backend, database_url: 'postgresql://u@h/db' });
    assert.ok(entry, `added for ${result_backend}`);
    assert.equal(entry.task, 'celery.backend_cleanup');
    assert.equal(String(entry.schedule), '<crontab: 0 4 * * * (m/h/dM/MY/d)>');
    assert.deepEqual(entry.options, { expires: 43200 });
  }
  // In the app's time zone, as every crontab entry.
  const tokyo = cleanupOf({ timezone: 'Asia/Tokyo' })!;
  assert.equal(new Date(tokyo.schedule.nextRunAt(T0)).toISOString(), '2024-03-04T19:00:00.000Z');
  // Stores that expire results themselves, result_expires off, or an entry of that name configured: not added (or not replaced).
  for (const result_backend of ['redis://127.0.0.1:6379/15', 'rediss://h:6380/0', 'rpc://', 'memory://']) assert.equal(cleanupOf({ result_backend }), undefined, result_backend);
  assert.equal(cleanupOf({ result_expires: null }), undefined);
  assert.equal(cleanupOf({ result_expires: 0 }), undefined);
  const own = cleanupOf({ beat_schedule: { 'celery.backend_cleanup': { task: 'celery.backend_cleanup', schedule: 3600 } } })!;
  assert.equal(String(own.schedule), '<freq: 1.00 hour>');
});
