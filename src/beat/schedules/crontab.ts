// Celery's `crontab` schedule (celery/schedules.py `crontab.remaining_delta`, ≥5.5.2): the next
// slot is found on local wall time in the app timezone and the difference taken in UTC
// (celery/utils/time.py `remaining`), so DST changes cost nothing. Nonexistent wall times resolve
// forward, ambiguous ones to the first occurrence (Python's zoneinfo with `fold=0`).
import { type TimeZone, type WallMs, daysInMonth, toTimeZone, wallFields, wallOf } from '../time-zone.js';
import { type CronSpec, CrontabParseError, expandCronspec } from './crontab-parser.js';
import type { AppScheduleDefaults, SchedState, Schedule } from './schedule.js';

export interface CrontabSpec {
  minute?: CronSpec;
  hour?: CronSpec;
  day_of_week?: CronSpec;
  day_of_month?: CronSpec;
  month_of_year?: CronSpec;
}

export interface CrontabOptions {
  /**
   * A zone of its own. Left out, the schedule follows the app that runs it (its `timezone`),
   * as a Python `crontab()` made without `app=` does; UTC outside an app.
   */
  timezone?: string | TimeZone;
  /** `beat_cron_starting_deadline` in seconds (Celery ≥5.3), null = always catch up once; left out, the app's. */
  startingDeadline?: number | null;
}

const CRON_DAYS_IN_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const DAY_MS = 86_400_000;

export class Crontab implements Schedule {
  readonly minute: readonly number[];
  readonly hour: readonly number[];
  readonly dayOfWeek: ReadonlySet<number>;
  readonly dayOfMonth: readonly number[];
  readonly monthOfYear: readonly number[];
  readonly tz: TimeZone;
  private readonly orig: Required<CrontabSpec>;
  private readonly startingDeadline: number | null;
  private readonly options: CrontabOptions;

  constructor(spec: CrontabSpec = {}, options: CrontabOptions = {}) {
    const orig = {
      minute: spec.minute ?? '*',
      hour: spec.hour ?? '*',
      day_of_week: spec.day_of_week ?? '*',
      day_of_month: spec.day_of_month ?? '*',
      month_of_year: spec.month_of_year ?? '*',
    };
    // Keep iterables as arrays so toJSON / repr can show them after a one-shot iterator is used.
    for (const key of Object.keys(orig) as (keyof CrontabSpec)[]) {
      const v = orig[key];
      if (typeof v !== 'number' && typeof v !== 'string') orig[key] = [...v];
    }
    this.orig = orig;
    const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);
    this.hour = sorted(expandCronspec(orig.hour, 24));
    this.minute = sorted(expandCronspec(orig.minute, 60));
    this.dayOfWeek = expandCronspec(orig.day_of_week, 7);
    this.dayOfMonth = sorted(expandCronspec(orig.day_of_month, 31, 1));
    this.monthOfYear = sorted(expandCronspec(orig.month_of_year, 12, 1));
    if (!this.monthOfYear.some((m) => this.dayOfMonth.some((d) => d <= CRON_DAYS_IN_MONTH[m]!))) {
      throw new CrontabParseError(
        `Invalid crontab: day_of_month ${pyLiteral(orig.day_of_month)} never occurs in month_of_year ${pyLiteral(orig.month_of_year)}.`,
      );
    }
    this.tz = toTimeZone(options.timezone);
    this.startingDeadline = options.startingDeadline ?? null;
    this.options = options;
  }

  /** This crontab in the app's zone and deadline, unless it was given its own. */
  forApp(defaults: AppScheduleDefaults): Crontab {
    const own = this.options;
    return new Crontab(this.orig, {
      timezone: own.timezone ?? defaults.timezone,
      startingDeadline: own.startingDeadline !== undefined ? own.startingDeadline : defaults.startingDeadline,
    });
  }

  /** The spec as given (strings, ints or arrays), as celery-redbeat stores it. */
  get spec(): Required<CrontabSpec> {
    return this.orig;
  }

  /** The wall time of the next slot after `lastRunAt` (`last_run_at + ffwd`, remaining_delta). */
  nextWall(lastRunAt: number): WallMs {
    const lastWall = this.tz.toWall(lastRunAt);
    const last = wallFields(lastWall);
    const maxMinute = this.minute[this.minute.length - 1]!;
    const maxHour = this.hour[this.hour.length - 1]!;
    const executeThisDate =
      this.monthOfYear.includes(last.month) && this.dayOfMonth.includes(last.day) && this.dayOfWeek.has(last.dow);
    const sameDay = (hour: number, minute: number) => wallOf(last.year, last.month, last.day, hour, minute);

    if (executeThisDate && this.hour.includes(last.hour) && last.minute < maxMinute) {
      return sameDay(last.hour, this.minute.find((m) => m > last.minute)!);
    }
    const nextMinute = this.minute[0]!;
    if (executeThisDate && last.hour < maxHour) {
      return sameDay(this.hour.find((h) => h > last.hour)!, nextMinute);
    }
    const nextHour = this.hour[0]!;
    if (this.orig.day_of_month === '*' && this.orig.month_of_year === '*') {
      // ffwd(weeks=add_week, weekday=(next_day - 1) % 7): the next allowed weekday, a week on
      // when it is the same weekday.
      const days = [...this.dayOfWeek].sort((a, b) => a - b);
      const nextDay = days.find((d) => d > last.dow) ?? days[0]!;
      const ahead = (nextDay - last.dow + 7) % 7 || 7;
      return sameDay(nextHour, nextMinute) + ahead * DAY_MS;
    }
    return this.deltaToNext(lastWall, nextHour, nextMinute);
  }

  /** `crontab._delta_to_next`: scan months and days, rolling years, at most 2000 rolls each. */
  private deltaToNext(lastWall: WallMs, nextHour: number, nextMinute: number): WallMs {
    const last = wallFields(lastWall);
    const days = this.dayOfMonth;
    const months = this.monthOfYear;
    let year = last.year;
    let dom: number;
    let moy: number;
    if (months.includes(last.month)) {
      dom = bisectRight(days, last.day);
      moy = bisectLeft(months, last.month);
    } else {
      // Celery wraps moy to 0 without bumping the year; roll_over then skips the past date.
      dom = 0;
      moy = bisectRight(months, last.month);
      if (moy === months.length) moy = 0;
    }
    const rollOver = () => {
      for (let i = 0; i < 2000; i++) {
        const flag =
          dom === days.length ||
          days[dom]! > daysInMonth(year, months[moy]!) ||
          wallOf(year, months[moy]!, days[dom]!, nextHour, nextMinute) < lastWall;
        if (!flag) return;
        dom = 0;
        moy += 1;
        if (moy === months.length) {
          moy = 0;
          year += 1;
        }
      }
      throw new Error('unable to rollover, time specification is probably invalid');
    };
    rollOver();
    for (;;) {
      const candidate = wallOf(year, months[moy]!, days[dom]!, nextHour, nextMinute);
      if (this.dayOfWeek.has(new Date(candidate).getUTCDay())) return candidate;
      dom += 1;
      rollOver();
    }
  }

  nextRunAt(lastRunAt: number): number {
    // ffwd.__radd__ ends with `+ timedelta(days=...)`, which resets fold to 0.
    return this.tz.toInstant(this.nextWall(lastRunAt), 0);
  }

  remainingEstimate(lastRunAt: number, now: number): number {
    return this.nextRunAt(lastRunAt) - now;
  }

  isDue(lastRunAt: number, now: number): SchedState {
    const remMs = this.remainingEstimate(lastRunAt, now);
    let due = remMs <= 0;
    let rem = Math.max(remMs, 0);
    let passedDeadline = false;
    if (this.startingDeadline !== null && remMs < 0) {
      // No slot in [now - deadline, now]: the missed run is too stale to catch up (Celery
      // subtracts one more microsecond; at ms resolution that is one ms).
      const since = now - this.startingDeadline * 1000 - 1;
      if (this.remainingEstimate(since, now) > 0) {
        passedDeadline = true;
        due = false;
      }
    }
    if (due || passedDeadline) rem = Math.max(this.remainingEstimate(now, now), 0);
    return { isDue: due, nextInMs: rem };
  }

  toJSON(): Record<string, unknown> {
    return { __type__: 'crontab', ...Object.fromEntries(Object.entries(this.orig).map(([k, v]) => [k, String(v)])) };
  }

  toString(): string {
    const f = (v: CronSpec) => (typeof v === 'object' ? [...v].join(',') : String(v));
    const o = this.orig;
    return `<crontab: ${f(o.minute)} ${f(o.hour)} ${f(o.day_of_month)} ${f(o.month_of_year)} ${f(o.day_of_week)} (m/h/dM/MY/d)>`;
  }
}

/**
 * Celery's `crontab(...)` factory. In `beat_schedule` it runs in the app's `timezone` unless
 * given one of its own.
 * @example crontab({ minute: 0, hour: '9-17', day_of_week: 'mon-fri' })
 */
export function crontab(spec: CrontabSpec = {}, options: CrontabOptions = {}): Crontab {
  return new Crontab(spec, options);
}

function bisectRight(values: readonly number[], x: number): number {
  let i = 0;
  while (i < values.length && values[i]! <= x) i++;
  return i;
}

function bisectLeft(values: readonly number[], x: number): number {
  let i = 0;
  while (i < values.length && values[i]! < x) i++;
  return i;
}

function pyLiteral(v: CronSpec): string {
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'number') return String(v);
  return `[${[...v].join(', ')}]`;
}

