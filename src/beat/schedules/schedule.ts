// The schedule contract beat relies on: Celery's `BaseSchedule.remaining_estimate` / `is_due`
// (celery/schedules.py), with instants as epoch milliseconds and durations in milliseconds.

/** Celery's `schedstate(is_due, next)`; `nextInMs` is when to check again (from now). */
export interface SchedState {
  isDue: boolean;
  nextInMs: number;
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
  /** Celery's repr, e.g. `<crontab: 0 4 * * * (m/h/dM/MY/d)>`, `<freq: 30.00 seconds>`. */
  toString(): string;
}
