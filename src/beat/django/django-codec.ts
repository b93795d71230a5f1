// A django-celery-beat PeriodicTask row (with its interval / crontab / solar / clocked schedule
// joined in) as a schedule entry, the way django_celery_beat/schedulers.py `ModelEntry.__init__`
// reads it: args / kwargs / headers as JSON, queue / exchange / routing_key / priority only when
// set, `expires_` (the expires datetime, else expire_seconds) as the message's expires, the
// `periodic_task_name` header, and a never-run task's last_run_at taken from date_changed (30
// years earlier when it has a start_time, so it runs at its start time). Pure: no I/O.
import type { EntryOptions, EntryState, ScheduleEntry } from '../schedule-entry.js';
import { Clocked } from '../schedules/clocked.js';
import { Crontab } from '../schedules/crontab.js';
import { Interval } from '../schedules/interval.js';
import type { Schedule } from '../schedules/schedule.js';
import { SOLAR_EVENTS, Solar, type SolarEvent } from '../schedules/solar.js';
import type { TimeZone } from '../time-zone.js';

/** The columns the scheduler selects (DJANGO_TASK_COLUMNS), as either driver returns them. */
export interface DjangoTaskRow {
  id: number | string;
  name: string;
  task: string;
  args: string | null;
  kwargs: string | null;
  queue: string | null;
  exchange: string | null;
  routing_key: string | null;
  headers: string | null;
  priority: number | null;
  expires: Date | string | null;
  expire_seconds: number | null;
  one_off: boolean | number;
  start_time: Date | string | null;
  enabled: boolean | number;
  last_run_at: Date | string | null;
  total_run_count: number | string;
  date_changed: Date | string | null;
  i_every: number | null;
  i_period: string | null;
  c_minute: string | null;
  c_hour: string | null;
  c_day_of_week: string | null;
  c_day_of_month: string | null;
  c_month_of_year: string | null;
  c_timezone: string | null;
  s_event: string | null;
  s_latitude: string | number | null;
  s_longitude: string | number | null;
  k_clocked_time: Date | string | null;
}

export const DJANGO_TASK_COLUMNS = `t.id, t.name, t.task, t.args, t.kwargs, t.queue, t.exchange, t.routing_key, t.headers,
  t.priority, t.expires, t.expire_seconds, t.one_off, t.start_time, t.enabled, t.last_run_at, t.total_run_count,
  t.date_changed, i.every AS i_every, i.period AS i_period, c.minute AS c_minute, c.hour AS c_hour,
  c.day_of_week AS c_day_of_week, c.day_of_month AS c_day_of_month, c.month_of_year AS c_month_of_year,
  c.timezone AS c_timezone, s.event AS s_event, s.latitude AS s_latitude, s.longitude AS s_longitude,
  k.clocked_time AS k_clocked_time`;

/** One enabled PeriodicTask as beat runs it. */
export interface DjangoEntry {
  id: number;
  entry: ScheduleEntry;
  state: EntryState;
  oneOff: boolean;
  /** `start_time`: not run before it. */
  startTime: number | null;
  /** `expires` (the datetime column): disabled once reached. */
  expires: number | null;
}

/** Why a row cannot run; `disable`: django-celery-beat disables such a task (bad JSON arguments). */
export class DjangoRowError extends Error {
  override readonly name = 'DjangoRowError';
  constructor(
    message: string,
    readonly disable: boolean,
  ) {
    super(message);
  }
}

// models.py PERIOD_CHOICES, in seconds.
const PERIOD_SECONDS: Record<string, number> = { days: 86_400, hours: 3_600, minutes: 60, seconds: 1, microseconds: 1e-6 };
const THIRTY_YEARS_MS = 365 * 30 * 86_400_000;

export function instant(value: Date | string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.getTime();
  // A DATETIME read as text is UTC (USE_TZ = True); an offset, when present, wins.
  const text = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value.replace(' ', 'T')}Z`;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

export interface DecodeOptions {
  /** The app zone: intervals round in it; a crontab has its own (its timezone column). */
  timezone: TimeZone;
  /** `beat_cron_starting_deadline` seconds. */
  cronStartingDeadline: number | null;
  now: number;
}

function json<T>(text: string | null, fallback: string, what: string, row: DjangoTaskRow): T {
  try {
    return JSON.parse(text || fallback) as T;
  } catch (error) {
    throw new DjangoRowError(`periodic task ${row.name}: ${what} is not JSON: ${(error as Error).message}`, true);
  }
}

export function rowSchedule(row: DjangoTaskRow, options: DecodeOptions): Schedule {
  if (row.i_every !== null && row.i_period !== null) {
    const unit = PERIOD_SECONDS[row.i_period];
    if (unit === undefined) throw new DjangoRowError(`periodic task ${row.name}: unknown interval period '${row.i_period}'`, false);
    return new Interval(Number(row.i_every) * unit, { timezone: options.timezone });
  }
  if (row.c_minute !== null) {
    // TzAwareCrontab: the crontab row's own zone, not the app's.
    return new Crontab(
      { minute: row.c_minute, hour: row.c_hour ?? '*', day_of_week: row.c_day_of_week ?? '*', day_of_month: row.c_day_of_month ?? '*', month_of_year: row.c_month_of_year ?? '*' },
      { timezone: row.c_timezone || 'UTC', startingDeadline: options.cronStartingDeadline },
    );
  }
  if (row.s_event !== null) {
    if (!(SOLAR_EVENTS as readonly string[]).includes(row.s_event)) throw new DjangoRowError(`periodic task ${row.name}: unknown solar event '${row.s_event}'`, false);
    return new Solar(row.s_event as SolarEvent, Number(row.s_latitude), Number(row.s_longitude));
  }
  const clocked = instant(row.k_clocked_time);
  if (clocked !== null) return new Clocked(clocked);
  throw new DjangoRowError(`periodic task ${row.name} has no schedule (interval, crontab, solar or clocked)`, false);
}

export function decodeDjangoRow(row: DjangoTaskRow, options: DecodeOptions): DjangoEntry {
  let schedule: Schedule;
  try {
    schedule = rowSchedule(row, options);
  } catch (error) {
    if (error instanceof DjangoRowError) throw error;
    throw new DjangoRowError(`periodic task ${row.name}: ${(error as Error).message}`, false);
  }
  const args = json<unknown>(row.args, '[]', 'args', row);
  const kwargs = json<unknown>(row.kwargs, '{}', 'kwargs', row);
  if (!Array.isArray(args)) throw new DjangoRowError(`periodic task ${row.name}: args must be a JSON list`, true);
  if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) throw new DjangoRowError(`periodic task ${row.name}: kwargs must be a JSON object`, true);
  const headers = json<Record<string, unknown>>(row.headers, '{}', 'headers', row);
  const entryOptions: EntryOptions = {};
  if (row.queue !== null) entryOptions.queue = row.queue;
  if (row.exchange !== null) entryOptions.exchange = row.exchange;
  if (row.routing_key !== null) entryOptions.routing_key = row.routing_key;
  if (row.priority !== null) entryOptions.priority = Number(row.priority);
  const expires = instant(row.expires);
  // `expires_`: the datetime, else the seconds (relative to the send, as apply_async reads it).
  if (expires !== null) entryOptions.expires = new Date(expires);
  else if (row.expire_seconds) entryOptions.expires = Number(row.expire_seconds);
  entryOptions.headers = { ...(headers && typeof headers === 'object' ? headers : {}), periodic_task_name: row.name };
  const startTime = instant(row.start_time);
  let lastRunAt = instant(row.last_run_at);
  if (lastRunAt === null) {
    lastRunAt = instant(row.date_changed) ?? options.now;
    if (startTime !== null) lastRunAt -= THIRTY_YEARS_MS;
  }
  return {
    id: Number(row.id),
    entry: { name: row.name, task: row.task, schedule, args, kwargs: kwargs as Record<string, unknown>, options: entryOptions },
    state: { lastRunAt, totalRunCount: Number(row.total_run_count) },
    oneOff: row.one_off === true || row.one_off === 1,
    startTime,
    expires,
  };
}

/**
 * `PeriodicTask.due_start_time`: when a task with a start time first runs — a crontab's next
 * slot after it, anything else the start time itself.
 */
export function dueStartTime(entry: DjangoEntry): number {
  const start = entry.startTime!;
  return entry.entry.schedule instanceof Crontab ? entry.entry.schedule.nextRunAt(start) : start;
}
