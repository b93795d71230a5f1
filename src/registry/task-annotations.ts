// Celery's `task_annotations` (celery/app/annotations.py, app/task.py `Task.annotate`): task
// options set from the config — by task name, or for every task under '*' — over what the task
// itself declares, built-in tasks included. A list is searched in order: the first map naming the
// task gives its options, the first map with '*' gives everyone's. As in Celery the '*' options
// are applied after the named ones, so they win where both set an option.
import { z } from 'zod';
import type { TaskOptions } from './task-definition.js';

const seconds = z.number().finite().nonnegative();

/** The task attributes an annotation may set (Python-only ones — handlers, '@' wrappers — have no meaning here). */
const annotatedOptions = z.strictObject({
  queue: z.string().min(1).optional(),
  acks_late: z.boolean().optional(),
  ignore_result: z.boolean().optional(),
  store_errors_even_if_ignored: z.boolean().optional(),
  track_started: z.boolean().optional(),
  time_limit: seconds.nullable().optional(),
  soft_time_limit: seconds.nullable().optional(),
  // Celery's `rate()`: '10/s', '100/m', '1000/h', or a number of tasks per second.
  rate_limit: z.union([z.string(), seconds]).nullable().optional(),
  max_retries: z.number().int().nonnegative().nullable().optional(),
  default_retry_delay: seconds.optional(),
  retry_backoff: z.union([z.boolean(), seconds]).optional(),
  retry_backoff_max: seconds.optional(),
  retry_jitter: z.boolean().optional(),
  acks_on_failure_or_timeout: z.boolean().optional(),
  reject_on_worker_lost: z.boolean().optional(),
});

const annotationMap = z.record(z.string(), annotatedOptions);

/** `task_annotations`: a map `{task name or '*': options}`, or a list of them; a class path (Python) is refused. */
export const taskAnnotationsSchema = z.union([annotationMap, z.array(annotationMap)]).nullable();

export type TaskAnnotations = z.output<typeof taskAnnotationsSchema>;

/** The options `task_annotations` sets for the task `name` (empty when none). */
export function annotationsFor(name: string, annotations: TaskAnnotations): Partial<TaskOptions> {
  if (!annotations) return {};
  const maps = Array.isArray(annotations) ? annotations : [annotations];
  const named = maps.find((m) => Object.hasOwn(m, name))?.[name];
  const any = maps.find((m) => Object.hasOwn(m, '*'))?.['*'];
  const options = Object.assign({}, named, any) as Record<string, unknown>;
  if (typeof options.rate_limit === 'number') options.rate_limit = `${options.rate_limit}/s`;
  return options as Partial<TaskOptions>;
}
