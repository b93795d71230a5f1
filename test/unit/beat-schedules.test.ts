// Crontab parsing and next-run computation against the beat-crontab-parse and beat-schedule-cases
// fixtures captured from Celery 5.2 (rows that changed: the 5.6 "other_celery" answer) and 5.7.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crontab } from '../../src/beat/schedules/crontab.js';
import { expandCronspec } from '../../src/beat/schedules/crontab-parser.js';
import { every } from '../../src/beat/schedules/interval.js';
import { appTimeZoneName, buildScheduleTable } from '../../src/beat/schedule-table.js';
import { TimeZone } from '../../src/beat/time-zone.js';
import { loadFixtures } from '../helpers/fixtures.js';

const FIELD_RANGE: Record<string, [number, number]> = {
  minute: [60, 0],
  hour: [24, 0],
  day_of_week: [7, 0],
  day_of_month: [31, 1],
  month_of_year: [12, 1],
};

/** The answer of the newest Celery the fixture knows. */
// biome-ignore lint: fixtures are free-form captured JSON
const current = (c: any) => (c.same_in_other_celery === false ? { ...c, error: undefined, values: undefined, ...c.other_celery } : c);

// 5.6 → 5.7 changed two DST rows (last_run_at is normalised into the app zone first); the pinned
// 5.7 capture is the authority where it has the same row.
// biome-ignore lint: fixtures are free-form captured JSON
const pinned = new Map<string, any>(
  loadFixtures('beat-schedule-cases')
    .filter((f) => f.folder === 'celery-5.7')
    // biome-ignore lint: fixtures are free-form captured JSON
    .flatMap((f) => f.data.cases.map((c: any) => [c.label, c])),
);

for (const fx of loadFixtures('beat-crontab-parse')) {
  test(`${fx.folder} beat-crontab-parse: ${fx.data.cases.length} field specs`, () => {
    for (const raw of fx.data.cases) {
      const c = current(raw);
      const [max, min] = FIELD_RANGE[c.field]!;
      const label = `${c.field}=${JSON.stringify(c.spec)}`;
      if (c.error) {
        assert.throws(() => expandCronspec(c.spec, max, min), (e: Error) => `${e.name}: ${e.message}` === c.error, label);
      } else {
        assert.deepEqual([...expandCronspec(c.spec, max, min)].sort((a, b) => a - b), c.values, label);
        crontab({ [c.field]: c.spec }); // the schedule accepts it too
      }
    }
  });
}

for (const fx of loadFixtures('beat-schedule-cases')) {
  test(`${fx.folder} beat-schedule-cases: remaining_estimate, is_due, next run`, () => {
    for (const raw of fx.data.cases) {
      const c = pinned.get(raw.label) ?? current(raw);
      const tz = new TimeZone(c.timezone);
      const schedule =
        'every' in c.schedule
          ? every(c.schedule.every, { relative: c.schedule.relative ?? false, timezone: tz })
          : crontab(c.schedule, { timezone: tz });
      const last = Date.parse(c.last_run_at);
      const now = Date.parse(c.now);
      assert.equal(schedule.remainingEstimate(last, now) / 1000, c.remaining_estimate_s, `${c.label}: remaining`);
      assert.deepEqual(schedule.isDue(last, now), { isDue: c.is_due, nextInMs: c.is_due_next_s * 1000 }, `${c.label}: is_due`);
      if (c.next_run_at_utc) assert.equal(new Date(schedule.nextRunAt(last)).toISOString(), new Date(c.next_run_at_utc).toISOString(), c.label);
    }
  });
}

test('crontab rejects impossible dates and day_of_week 7, as Celery does', () => {
  assert.throws(() => crontab({ day_of_month: 30, month_of_year: 2 }), /never occurs in month_of_year 2/);
  assert.throws(() => crontab({ day_of_week: 7 }), /Valid range is 0-6. '7' was found/);
  assert.throws(() => crontab({ day_of_week: '7' }), /Invalid end range: 7 > 6/);
  assert.deepEqual([...crontab({ day_of_week: 'mar' }).dayOfWeek], [3]); // 5.5+ month-name quirk
});

test('DST: nonexistent slot resolves forward, ambiguous slot to its first occurrence', () => {
  const berlin = { timezone: 'Europe/Berlin' };
  const at0230 = crontab({ minute: 30, hour: 2 }, berlin);
  // 2024-03-31 02:30 does not exist in Berlin → 03:30 CEST (01:30 UTC).
  assert.equal(new Date(at0230.nextRunAt(Date.parse('2024-03-30T02:30:00+01:00'))).toISOString(), '2024-03-31T01:30:00.000Z');
  // 2024-10-27 02:30 happens twice → the first one (CEST, 00:30 UTC).
  assert.equal(new Date(at0230.nextRunAt(Date.parse('2024-10-26T02:30:00+02:00'))).toISOString(), '2024-10-27T00:30:00.000Z');
  assert.equal(crontab({}, berlin).toString(), '<crontab: * * * * * (m/h/dM/MY/d)>');
});

test('a schedule without its own zone or deadline follows the app; one with them keeps them', () => {
  const table = buildScheduleTable(
    {
      follows: { task: 't', schedule: crontab({ hour: 3, minute: 0 }) },
      own: { task: 't', schedule: crontab({ hour: 3, minute: 0 }, { timezone: 'UTC', startingDeadline: null }) },
      relative: { task: 't', schedule: every(3600, { relative: true }) },
    },
    { timezone: 'Asia/Kolkata', cronStartingDeadline: 60 },
  );
  const at = (name: string) => table.find((e) => e.name === name)!.schedule;
  const last = Date.parse('2026-01-05T12:00:00Z');
  assert.equal(new Date(at('follows').nextRunAt(last)).toISOString(), '2026-01-05T21:30:00.000Z'); // 03:00 IST
  assert.equal(new Date(at('own').nextRunAt(last)).toISOString(), '2026-01-06T03:00:00.000Z');
  assert.equal(new Date(at('relative').nextRunAt(Date.parse('2026-01-05T12:10:00Z'))).toISOString(), '2026-01-05T12:30:00.000Z'); // :00 IST
  // The app's beat_cron_starting_deadline: a slot missed by more than 60 s is not caught up.
  assert.equal(at('follows').isDue(last, Date.parse('2026-01-05T21:35:00Z')).isDue, false);
  assert.equal(at('own').isDue(last, Date.parse('2026-01-06T03:05:00Z')).isDue, true);
});

test("Celery's app.timezone: the setting, else UTC with enable_utc, else the local zone", () => {
  assert.equal(appTimeZoneName({ timezone: 'Asia/Kolkata', enableUtc: false }), 'Asia/Kolkata');
  assert.equal(appTimeZoneName({ timezone: null }), 'UTC');
  assert.equal(appTimeZoneName({ timezone: null, enableUtc: false }), Intl.DateTimeFormat().resolvedOptions().timeZone);
});
