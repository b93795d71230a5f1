// celery-redbeat's JSON forms (redbeat/decoder.py `RedBeatJSONEncoder`, `RedBeatJSONDecoder`;
// redbeat/schedulers.py `RedBeatSchedulerEntry.save`): the entry definition, `meta`
// {last_run_at, total_run_count} and its `{"__type__": "datetime", …}` timestamps.
import type { EntryState, ScheduleEntry } from '../schedule-entry.js';
import { buildScheduleTable, type ScheduleTableOptions } from '../schedule-table.js';
import { TimeZone, wallFields } from '../time-zone.js';

export interface RedbeatDatetime {
  __type__: 'datetime';
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  microsecond: number;
  timezone: string | number;
}

/** An instant as wall fields in the app zone, the way beat's aware datetimes encode. */
export function encodeDatetime(epochMs: number, tz: TimeZone): RedbeatDatetime {
  const f = wallFields(tz.toWall(epochMs));
  return {
    __type__: 'datetime',
    year: f.year,
    month: f.month,
    day: f.day,
    hour: f.hour,
    minute: f.minute,
    second: f.second,
    microsecond: f.ms * 1000,
    timezone: tz.name,
  };
}

export function decodeDatetime(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return Date.parse(value);
  const d = value as RedbeatDatetime;
  if (d.__type__ !== 'datetime') throw new Error(`not a redbeat datetime: ${JSON.stringify(value)}`);
  const wall = Date.UTC(d.year, d.month - 1, d.day, d.hour, d.minute, d.second, Math.floor((d.microsecond ?? 0) / 1000));
  // A numeric timezone is a fixed UTC offset in seconds.
  if (typeof d.timezone === 'number') return wall - d.timezone * 1000;
  return new TimeZone(d.timezone ?? 'UTC').toInstant(wall, 0);
}

export function encodeMeta(state: EntryState, tz: TimeZone): string {
  return JSON.stringify({
    last_run_at: state.lastRunAt === null ? null : encodeDatetime(state.lastRunAt, tz),
    total_run_count: state.totalRunCount,
  });
}

export function decodeMeta(text: string | null): EntryState | null {
  if (text === null) return null;
  const meta = JSON.parse(text) as { last_run_at?: unknown; total_run_count?: number };
  return { lastRunAt: decodeDatetime(meta.last_run_at), totalRunCount: meta.total_run_count ?? 0 };
}

export function encodeDefinition(entry: ScheduleEntry): string {
  return JSON.stringify({
    name: entry.name,
    task: entry.task,
    args: entry.args,
    kwargs: entry.kwargs,
    options: entry.options,
    schedule: entry.schedule.toJSON(),
    enabled: true,
  });
}

/** A definition as any redbeat client wrote it: our own static entries or Python's dynamic ones. */
export interface RedbeatDefinition {
  entry: ScheduleEntry;
  /** redbeat's `enabled`: a disabled entry stays stored but is not run. */
  enabled: boolean;
}

/** Parse a `definition` JSON (the schedule in its `__type__` form); errors name the entry. */
export function decodeDefinition(text: string, options: ScheduleTableOptions): RedbeatDefinition {
  const d = JSON.parse(text) as { name?: unknown; enabled?: unknown; [key: string]: unknown };
  if (typeof d !== 'object' || d === null || typeof d.name !== 'string') throw new Error('definition has no name');
  const { name, enabled, ...rest } = d;
  // redbeat writes null for args/kwargs/options it was not given.
  const fields = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== null));
  const [entry] = buildScheduleTable({ [name]: fields }, options);
  return { entry: entry!, enabled: enabled !== false };
}
