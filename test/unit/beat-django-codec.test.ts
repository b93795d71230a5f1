// django-celery-beat rows as beat entries (src/beat/django/django-codec.ts), as
// django_celery_beat/schedulers.py ModelEntry reads them; and the database URLs we accept.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { driverUrl, numberPlaceholders, sqlDialect } from '../../src/backend/sql/sql-client.js';
import { decodeDjangoRow, DjangoRowError, dueStartTime, type DjangoTaskRow } from '../../src/beat/django/django-codec.js';
import { Clocked } from '../../src/beat/schedules/clocked.js';
import { Crontab } from '../../src/beat/schedules/crontab.js';
import { Interval } from '../../src/beat/schedules/interval.js';
import { TimeZone } from '../../src/beat/time-zone.js';
import { advisoryKey } from '../../src/beat/sql-leader-lock.js';

const now = Date.parse('2026-01-10T12:00:00Z');
const options = { timezone: new TimeZone('UTC'), cronStartingDeadline: null, now };
const row = (over: Partial<DjangoTaskRow> = {}): DjangoTaskRow => ({
  id: 7, name: 'tick', task: 'proj.tick', args: '[1, "a"]', kwargs: '{"k": true}', queue: null, exchange: null, routing_key: null,
  headers: '{}', priority: null, expires: null, expire_seconds: null, one_off: false, start_time: null, enabled: true,
  last_run_at: null, total_run_count: 3, date_changed: new Date('2026-01-10T11:00:00Z'), i_every: null, i_period: null,
  c_minute: null, c_hour: null, c_day_of_week: null, c_day_of_month: null, c_month_of_year: null, c_timezone: null,
  s_event: null, s_latitude: null, s_longitude: null, k_clocked_time: null, ...over,
});

test('an interval row: JSON args/kwargs, only the options that are set, the periodic_task_name header, last_run_at from date_changed', () => {
  const e = decodeDjangoRow(row({ i_every: 2, i_period: 'minutes', queue: 'reports', priority: 5, expire_seconds: 30, headers: '{"x": 1}' }), options);
  assert.ok(e.entry.schedule instanceof Interval);
  assert.equal((e.entry.schedule as Interval).everyMs, 120_000);
  assert.deepEqual(e.entry.args, [1, 'a']);
  assert.deepEqual(e.entry.kwargs, { k: true });
  assert.deepEqual(e.entry.options, { queue: 'reports', priority: 5, expires: 30, headers: { x: 1, periodic_task_name: 'tick' } });
  assert.deepEqual(e.state, { lastRunAt: Date.parse('2026-01-10T11:00:00Z'), totalRunCount: 3 });
});

test('a crontab row runs in its own zone; a start time puts a never-run task 30 years back and waits for the next slot', () => {
  const e = decodeDjangoRow(row({ c_minute: '0', c_hour: '3', c_day_of_week: '*', c_day_of_month: '*', c_month_of_year: '*', c_timezone: 'Europe/Berlin', start_time: '2026-01-11 00:00:00' }), options);
  assert.ok(e.entry.schedule instanceof Crontab);
  assert.equal((e.entry.schedule as Crontab).tz.name, 'Europe/Berlin');
  assert.equal(e.startTime, Date.parse('2026-01-11T00:00:00Z'));
  assert.equal(e.state.lastRunAt, Date.parse('2026-01-10T11:00:00Z') - 365 * 30 * 86_400_000);
  // 03:00 Berlin (winter, UTC+1) after midnight UTC.
  assert.equal(dueStartTime(e), Date.parse('2026-01-11T02:00:00Z'));
});

test('a clocked row is due once at its time; the expires datetime becomes the message expiry', () => {
  const e = decodeDjangoRow(row({ k_clocked_time: new Date(now + 5000), one_off: 1, expires: new Date(now + 60_000) }), options);
  assert.ok(e.entry.schedule instanceof Clocked);
  assert.deepEqual(e.entry.schedule.isDue(0, now), { isDue: false, nextInMs: 5000 });
  assert.equal(e.entry.schedule.isDue(0, now + 5000).isDue, true);
  assert.equal(e.oneOff, true);
  assert.deepEqual(e.entry.options.expires, new Date(now + 60_000));
});

test('bad arguments disable the task (as Django does); a row without a schedule is only reported', () => {
  assert.throws(() => decodeDjangoRow(row({ i_every: 1, i_period: 'seconds', args: '[1,' }), options), (e: unknown) => e instanceof DjangoRowError && e.disable);
  assert.throws(() => decodeDjangoRow(row(), options), (e: unknown) => e instanceof DjangoRowError && !e.disable && /has no schedule/.test(e.message));
});

test('database URLs: Django / SQLAlchemy spellings, placeholders, advisory keys', () => {
  assert.equal(sqlDialect('postgresql+psycopg://u@h/db'), 'postgres');
  assert.equal(sqlDialect('mariadb://root@h/db'), 'mysql');
  assert.equal(sqlDialect('redis://h/0'), null);
  assert.deepEqual(driverUrl('mysql+pymysql://root:p%40ss@h:3306/shop'), { dialect: 'mysql', url: 'mysql://root:p%40ss@h:3306/shop', database: 'shop' });
  assert.throws(() => driverUrl('postgresql://h/'), /names no database/);
  assert.equal(numberPlaceholders('a = ? AND b = ?'), 'a = $1 AND b = $2');
  assert.equal(advisoryKey('x'), advisoryKey('x'));
  assert.notEqual(advisoryKey('x'), advisoryKey('y'));
});
