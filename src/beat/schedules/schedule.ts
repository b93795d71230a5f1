// The schedule contract beat relies on: Celery's `BaseSchedule.remaining_estimate` / `is_due`
// (celery/schedules.py), with instants as epoch milliseconds and durations in milliseconds.
import type { TimeZone } from '../time-zone.js';

/** Celery's `schedstate(is_due, next)`; `nextInMs` is when to check again (from now). */
export interface SchedState {
  isDue: boolean;
  nextInMs: number;
}

/** What the app that schedules an entry lends a schedule made without its own settings. */
export interface AppScheduleDefaults {
  /** The app's zone: `timezone`, else UTC with `enable_utc`, else the local zone. */
  timezone: TimeZone;
  /** `beat_cron_starting_deadline` seconds, null = none. */
  startingDeadline: number | null;
}

export interface Schedule {
  /** `remaining_estimate(last_run_at)`: next run minus now, negative when overdue. */
  remainingEstimate(lastRunAt: number, now: number): number;
  /** `is_due(last_run_at)` evaluated at `now`. */
  isDue(lastRunAt: number, now: number): SchedState;
  /** The instant of the next run after `lastRunAt` (for `--list` and redbeat scores). */
  nextRunAt(lastRunAt: number): number;
  /** celery-redbeat's JSON form (redbeat/decoder.py `RedBeatJSONEncoder.default`). */
  toJSON(): Record<string, unknown>;
  /**
   * The schedule as the app runs it. Celery's `ScheduleEntry` hands every schedule its app
   * (celery/beat.py `maybe_schedule` sets `schedule.app`), and `BaseSchedule.tz` is then
   * `app.timezone` (celery/schedules.py): a schedule built without an explicit zone or deadline
   * takes the app's. Schedules that don't depend on them may leave this out.
   */
  forApp?(defaults: AppScheduleDefaults): Schedule;
  /** Celery's repr, e.g. `<crontab: 0 4 * * * (m/h/dM/MY/d)>`, `<freq: 30.00 seconds>`. */
  toString(): string;
}
