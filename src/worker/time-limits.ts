// Soft and hard time limits with Celery's precedence (celery/worker/request.py): a non-null value
// in the message's `timelimit` header, then the task's option, then task_(soft_)time_limit.
// Soft: the task's AbortSignal fires with SoftTimeLimitExceeded so the handler can clean up.
// Hard: the worker records TimeLimitExceeded at once; an in-process handler cannot be killed, so
// its slot is freed when it settles (the thread pool can terminate its thread instead).
import { SoftTimeLimitExceeded, TimeLimitExceeded } from '../errors.js';

export interface TimeLimits {
  soft: number | null;
  hard: number | null;
}

export function resolveTimeLimits(
  header: [number | null, number | null],
  task: { time_limit?: number | null; soft_time_limit?: number | null },
  conf: { task_time_limit: number | null; task_soft_time_limit: number | null },
): TimeLimits {
  return {
    hard: header[0] ?? task.time_limit ?? conf.task_time_limit ?? null,
    soft: header[1] ?? task.soft_time_limit ?? conf.task_soft_time_limit ?? null,
  };
}

export interface LimitHandlers {
  onSoft(error: SoftTimeLimitExceeded): void;
  onHard(error: TimeLimitExceeded): void;
}

/** Arm the timers for one execution; returns a function that disarms them. */
export function armTimeLimits(limits: TimeLimits, handlers: LimitHandlers): () => void {
  const timers: NodeJS.Timeout[] = [];
  if (limits.soft !== null && limits.soft > 0) {
    timers.push(setTimeout(() => handlers.onSoft(new SoftTimeLimitExceeded(`soft time limit (${limits.soft}s) exceeded`)), limits.soft * 1000));
  }
  if (limits.hard !== null && limits.hard > 0) {
    timers.push(setTimeout(() => handlers.onHard(new TimeLimitExceeded(`TimeLimitExceeded(${limits.hard})`, { limit: limits.hard! })), limits.hard * 1000));
  }
  return () => timers.forEach(clearTimeout);
}
