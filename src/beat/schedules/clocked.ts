// django-celery-beat's `clocked` schedule (django_celery_beat/clockedschedule.py): due once, at
// its clocked time (the PeriodicTask is one_off, so the scheduler disables it after that run).
import type { SchedState, Schedule } from './schedule.js';

/** clockedschedule.py NEVER_CHECK_TIMEOUT (seconds): what a clocked schedule asks after its run. */
export const NEVER_CHECK_MS = 100_000_000 * 1000;

export class Clocked implements Schedule {
  constructor(readonly clockedTime: number) {
    if (!Number.isFinite(clockedTime)) throw new RangeError(`clocked time must be an instant, got ${clockedTime}`);
  }

  /** `clocked.remaining_estimate`: the clocked time minus now, whatever the last run. */
  remainingEstimate(_lastRunAt: number, now: number): number {
    return this.clockedTime - now;
  }

  isDue(_lastRunAt: number, now: number): SchedState {
    const remaining = Math.max(this.clockedTime - now, 0);
    return remaining === 0 ? { isDue: true, nextInMs: NEVER_CHECK_MS } : { isDue: false, nextInMs: remaining };
  }

  nextRunAt(): number {
    return this.clockedTime;
  }

  toJSON(): Record<string, unknown> {
    return { __type__: 'clocked', clocked_time: new Date(this.clockedTime).toISOString() };
  }

  toString(): string {
    return `<clocked: ${new Date(this.clockedTime).toISOString()}>`;
  }
}
