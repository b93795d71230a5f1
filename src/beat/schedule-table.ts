// Validates `beat_schedule` (and a `--schedule-table` JSON file) into schedule entries. Entries
// are Celery's `{task, schedule, args, kwargs, options, relative}` (celery/beat.py `ScheduleEntry`,
// `Scheduler.update_from_dict`); `schedule` is seconds, a Schedule object, celery-redbeat's JSON
// form (redbeat/decoder.py `RedBeatJSONDecoder`), `{crontab: {…}}`
// or `{solar: {event, lat, lon}}`.
import { z } from 'zod';
import { didYouMean } from '../did-you-mean.js';
import { ConfigError } from '../errors.js';
import type { ScheduleEntry } from './schedule-entry.js';
import { Crontab, type CrontabSpec } from './schedules/crontab.js';
import { Interval } from './schedules/interval.js';
import type { Schedule } from './schedules/schedule.js';
import { SOLAR_EVENTS, Solar } from './schedules/solar.js';
import { TimeZone } from './time-zone.js';

const cronField = z.union([z.string(), z.number().int(), z.array(z.number().int())]);
const crontabJson = z.strictObject({
  __type__: z.literal('crontab').optional(),
  minute: cronField.optional(),
  hour: cronField.optional(),
  day_of_week: cronField.optional(),
  day_of_month: cronField.optional(),
  month_of_year: cronField.optional(),
});
const intervalJson = z.strictObject({
  __type__: z.literal('interval'),
  every: z.number().positive(),
  relative: z.boolean().optional(),
});

const solarJson = z.strictObject({
  __type__: z.literal('solar').optional(),
  event: z.enum(SOLAR_EVENTS),
  lat: z.number(),
  lon: z.number(),
});

const entrySchema = z.strictObject({
  task: z.string().min(1),
  schedule: z.union([
    z.number().positive(),
    z.custom<Schedule>((v) => typeof v === 'object' && v !== null && typeof (v as Schedule).isDue === 'function', 'must be a schedule'),
    intervalJson,
    z.strictObject({ crontab: crontabJson }),
    crontabJson.extend({ __type__: z.literal('crontab') }),
    z.strictObject({ solar: solarJson }),
    solarJson.extend({ __type__: z.literal('solar') }),
  ]),
  args: z.array(z.unknown()).default([]),
  kwargs: z.record(z.string(), z.unknown()).default({}),
  options: z
    .strictObject({
      queue: z.string().optional(),
      exchange: z.string().optional(),
      routing_key: z.string().optional(),
      priority: z.number().int().min(0).max(255).optional(),
      expires: z.union([z.number(), z.string(), z.date()]).optional(),
      headers: z.record(z.string(), z.unknown()).optional(),
      time_limit: z.number().optional(),
      soft_time_limit: z.number().optional(),
      countdown: z.number().optional(),
      shadow: z.string().optional(),
      ignore_result: z.boolean().optional(),
      compression: z.enum(['gzip', 'zlib', 'brotli']).optional(),
    })
    .default({}),
  relative: z.boolean().default(false),
});

export interface ScheduleTableOptions {
  /** The app `timezone` setting; unset = UTC with `enable_utc` (the default), else the local zone. */
  timezone?: string | null;
  /** The app `enable_utc` setting (default true). */
  enableUtc?: boolean;
  /** `beat_cron_starting_deadline` seconds. */
  cronStartingDeadline?: number | null;
}

/**
 * Celery's `app.timezone` (celery/app/base.py): the `timezone` setting, else UTC when
 * `enable_utc` is on, else the machine's local zone.
 */
export function appTimeZoneName(options: Pick<ScheduleTableOptions, 'timezone' | 'enableUtc'>): string {
  if (options.timezone) return options.timezone;
  return options.enableUtc === false ? Intl.DateTimeFormat().resolvedOptions().timeZone : 'UTC';
}

/**
 * `beat_schedule` → entries, sorted by name; errors name the entry and field. Every schedule runs
 * in the app's zone unless it was given one of its own (see `Schedule.forApp`).
 */
export function buildScheduleTable(table: Record<string, unknown>, options: ScheduleTableOptions = {}): ScheduleEntry[] {
  const tz = new TimeZone(appTimeZoneName(options));
  return Object.keys(table)
    .sort()
    .map((name) => {
      const parsed = entrySchema.safeParse(table[name]);
      if (!parsed.success) throw new ConfigError(entryProblem(name, table[name], parsed.error.issues));
      const e = parsed.data;
      return {
        name,
        task: e.task,
        schedule: toSchedule(name, e.schedule, e.relative, tz, options.cronStartingDeadline ?? null),
        args: e.args,
        kwargs: e.kwargs,
        options: e.options,
      };
    });
}

const ENTRY_KEYS = Object.keys(entrySchema.shape);
const CRONTAB_FIELDS = ['minute', 'hour', 'day_of_week', 'day_of_month', 'month_of_year'];
const SCHEDULE_FORMS =
  'seconds (a positive number), a schedule object (crontab({...}), every(s), solar(event, lat, lon)), ' +
  '{ crontab: { minute, hour, day_of_week, day_of_month, month_of_year } }, { solar: { event, lat, lon } }, ' +
  'or celery-redbeat\'s JSON ({ __type__: "crontab" | "interval" | "solar", ... })';

/**
 * The message for an invalid entry: an unknown key first (a typo hides the key it misspells),
 * a `schedule` of none of the accepted forms with the forms listed, else zod's first issue.
 */
function entryProblem(name: string, raw: unknown, issues: z.core.$ZodIssue[]): string {
  const at = (path: PropertyKey[]) => `beat_schedule${[name, ...path.map(String)].map((p) => `[${JSON.stringify(p)}]`).join('')}`;
  const unknown = issues.find((i) => i.code === 'unrecognized_keys' && i.path.length === 0);
  if (unknown && unknown.code === 'unrecognized_keys') {
    const key = unknown.keys[0]!;
    return `${at([])} has an unknown key '${key}'${didYouMean(key, ENTRY_KEYS)}; an entry takes ${ENTRY_KEYS.join(', ')}`;
  }
  const issue = issues[0]!;
  if (issue.path.length === 1 && issue.path[0] === 'schedule' && issue.code === 'invalid_union') {
    const value = (raw as { schedule?: unknown }).schedule;
    const plainCron = value !== null && typeof value === 'object' && !('__type__' in value) && Object.keys(value).some((k) => CRONTAB_FIELDS.includes(k));
    const hint = plainCron ? `; for a crontab write crontab(${preview(value)}) or { crontab: ${preview(value)} }` : '';
    return `${at(['schedule'])} must be ${SCHEDULE_FORMS}; got ${preview(value)}${hint}`;
  }
  return `${at(issue.path)} ${issue.message.toLowerCase()}`;
}

function preview(value: unknown): string {
  try {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 80 ? `${text.slice(0, 80)}…` : text;
  } catch {
    return String(value);
  }
}

function toSchedule(name: string, s: z.infer<typeof entrySchema>['schedule'], relative: boolean, tz: TimeZone, deadline: number | null): Schedule {
  try {
    if (typeof s === 'number') return new Interval(s, { relative, timezone: tz });
    if ('isDue' in s && typeof s.isDue === 'function') {
      const given = s as Schedule;
      return given.forApp ? given.forApp({ timezone: tz, startingDeadline: deadline }) : given;
    }
    if ('every' in s) return new Interval(s.every, { relative: s.relative ?? relative, timezone: tz });
    if ('solar' in s) return new Solar(s.solar.event, s.solar.lat, s.solar.lon);
    if ('event' in s) return new Solar(s.event, s.lat, s.lon);
    const { __type__: _, ...spec } = ('crontab' in s ? s.crontab : s) as CrontabSpec & { __type__?: string };
    return new Crontab(spec, { timezone: tz, startingDeadline: deadline });
  } catch (error) {
    throw new ConfigError(`beat_schedule["${name}"].schedule: ${(error as Error).message}`);
  }
}
