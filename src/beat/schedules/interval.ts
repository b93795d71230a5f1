// Celery's interval `schedule(run_every, relative)` (celery/schedules.py + utils/time.py
// `remaining`, 5.7): elapsed-time arithmetic in UTC; with `relative` the deadline is rounded down
// to the interval's resolution (days → midnight, hours → :00, minutes → :00 s) in the app zone.
import { type TimeZone, type WallMs, toTimeZone } from '../time-zone.js';
import type { AppScheduleDefaults, SchedState, Schedule } from './schedule.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

export interface IntervalOptions {
  relative?: boolean;
  /** The zone `relative` rounds in; left out, the app's (UTC outside an app). */
  timezone?: string | TimeZone;
}

export class Interval implements Schedule {
  readonly everyMs: number;
  readonly relative: boolean;
  readonly tz: TimeZone;
  private readonly ownZone: boolean;

  constructor(seconds: number, options: IntervalOptions = {}) {
    if (!Number.isFinite(seconds)) throw new RangeError(`interval must be a finite number of seconds, got ${seconds}`);
    this.everyMs = seconds * 1000;
    this.relative = options.relative ?? false;
    this.tz = toTimeZone(options.timezone);
    this.ownZone = options.timezone !== undefined;
  }

  /** This interval rounding in the app's zone (only `relative` uses it), unless given its own. */
  forApp(defaults: AppScheduleDefaults): Interval {
    if (this.ownZone) return this;
    return new Interval(this.everyMs / 1000, { relative: this.relative, timezone: defaults.timezone });
  }

  /** Celery's `schedule.seconds`: never negative. */
  get seconds(): number {
    return Math.max(this.everyMs, 0) / 1000;
  }

  nextRunAt(lastRunAt: number): number {
    if (!this.relative) return lastRunAt + this.everyMs;
    return this.relativeDeadline(lastRunAt);
  }

  remainingEstimate(lastRunAt: number, now: number): number {
    return this.nextRunAt(lastRunAt) - now;
  }

  isDue(lastRunAt: number, now: number): SchedState {
    const remaining = Math.max(this.remainingEstimate(lastRunAt, now), 0);
    if (remaining > 0) return { isDue: false, nextInMs: remaining };
    let next = this.seconds * 1000;
    if (this.relative) {
      // Realign to the next rounded boundary after a late run (Celery 5.7 is_due).
      const realigned = this.remainingEstimate(now, now);
      if (realigned > 0) next = realigned;
    }
    return { isDue: true, nextInMs: next };
  }

  /** utils/time.py `remaining(..., relative=True)`: candidate UTC instants of the rounded deadline. */
  private relativeDeadline(start: number): number {
    const every = this.everyMs;
    const tz = this.tz;
    const startWall = tz.toWall(start);
    if (every >= DAY) {
      // Day intervals add calendar days on the wall clock (fold reset to 0).
      const endWall = startWall + every;
      const future = this.endDates(endWall, 0).filter((t) => t > start);
      return future.length ? Math.min(...future) : tz.toInstant(endWall, 0);
    }
    const endUtc = start + every;
    const endWall = tz.toWall(endUtc);
    const endFold = tz.foldOf(endUtc);
    let candidates = this.endDates(endWall, endFold);
    let beforeEnd = candidates.filter((t) => t <= endUtc);
    let rounded = beforeEnd.length ? Math.max(...beforeEnd) : Math.min(...candidates);
    if (every >= MIN && rounded <= start) {
      const unit = every >= HOUR ? HOUR : MIN;
      candidates = [...candidates, ...this.endDates(endWall + unit, 0), ...this.endDates(startWall + every, 0)];
      const future = candidates.filter((t) => t > start);
      beforeEnd = future.filter((t) => t <= endUtc);
      rounded = beforeEnd.length ? Math.max(...beforeEnd) : future.length ? Math.min(...future) : endUtc;
    }
    return rounded;
  }

  /** `_relative_end_dates`: the rounded wall time under both folds, gaps resolved forward. */
  private endDates(wall: WallMs, fold: 0 | 1): number[] {
    void fold; // delta_resolution keeps the fold, but both folds are tried below anyway.
    const unit = this.everyMs >= DAY ? DAY : this.everyMs >= HOUR ? HOUR : this.everyMs >= MIN ? MIN : 1000;
    const rounded = Math.floor(wall / unit) * unit;
    if (this.tz.isImaginary(rounded)) {
      // dateutil resolve_imaginary shifts forward by the gap; both folds land on one instant.
      const t = this.tz.toInstant(rounded, 0);
      return [t, t];
    }
    return [this.tz.toInstant(rounded, 0), this.tz.toInstant(rounded, 1)];
  }

  toJSON(): Record<string, unknown> {
    return { __type__: 'interval', every: this.everyMs / 1000, relative: this.relative };
  }

  toString(): string {
    return `<freq: ${humanizeSeconds(this.seconds)}>`;
  }
}

/**
 * Celery's interval schedule (`schedule(run_every=seconds, relative=...)`).
 * @example every(30) // every 30 s, first run 30 s after beat starts
 */
export function every(seconds: number, options: IntervalOptions = {}): Interval {
  return new Interval(seconds, options);
}

/** celery/utils/time.py humanize_seconds (used in reprs and `--list`). */
export function humanizeSeconds(secs: number): string {
  const units: [number, string][] = [
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ];
  for (const [div, unit] of units) {
    if (secs >= div) {
      const w = secs / div;
      return `${w.toFixed(2)} ${unit}${w === 1 ? '' : 's'}`;
    }
  }
  return 'now';
}
