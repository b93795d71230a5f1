// One `beat_schedule` entry (Celery's `ScheduleEntry`, celery/beat.py) and its run state, plus
// the mapping of its `options` onto an ordinary `apply_async` call (`Scheduler.apply_async`).
import type { SendTaskOptions } from '../send-task-options.js';
import type { Schedule } from './schedules/schedule.js';

/** The `options` beat passes to `apply_async` (relative `expires` becomes absolute there). */
export type EntryOptions = Pick<
  SendTaskOptions,
  | 'queue'
  | 'exchange'
  | 'routing_key'
  | 'priority'
  | 'expires'
  | 'headers'
  | 'time_limit'
  | 'soft_time_limit'
  | 'countdown'
  | 'shadow'
  | 'ignore_result'
  | 'compression'
>;

export interface ScheduleEntry {
  name: string;
  task: string;
  schedule: Schedule;
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: EntryOptions;
}

/** `last_run_at` (the actual send time, epoch ms; null = never, celery-redbeat only) and count. */
export interface EntryState {
  lastRunAt: number | null;
  totalRunCount: number;
}

/** What sending needs from the app: `app.sendTask`, where task_routes apply. */
export interface TaskSender {
  sendTask(name: string, args: unknown[], kwargs: Record<string, unknown>, options: SendTaskOptions): Promise<{ id: string }>;
}

/** Celery's `ScheduleEntry._next_instance`: advanced before the message is published. */
export function nextState(state: EntryState, now: number): EntryState {
  return { lastRunAt: now, totalRunCount: state.totalRunCount + 1 };
}

/** `entry.is_due()`; an entry never run (redbeat's null last_run_at) is due at once. */
export function entryIsDue(entry: ScheduleEntry, state: EntryState, now: number): { isDue: boolean; nextInMs: number } {
  if (state.lastRunAt === null) return { isDue: true, nextInMs: Math.max(entry.schedule.remainingEstimate(now, now), 0) };
  return entry.schedule.isDue(state.lastRunAt, now);
}

/** A copy of the options without undefined keys, as `apply_async(**options)` receives them. */
export function sendOptions(options: EntryOptions): SendTaskOptions {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as SendTaskOptions;
}
