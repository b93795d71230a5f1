// A tasks module for `ts-celery worker -A ./examples/tasks.ts`. Python calls these by name:
//   app.send_task("reports.render", args=[42])            (see examples/python/producer.py)
// In your own project, import from 'ts-celery' instead of '../src/index.js'.
import { z } from 'zod';
import { Celery } from '../src/index.js';

export const app = new Celery({
  broker_url: process.env.BROKER_URL ?? 'redis://127.0.0.1:6379/0',
  result_backend: process.env.RESULT_BACKEND ?? 'redis://127.0.0.1:6379/0',
  task_routes: { 'reports.*': { queue: 'reports' } },
});

/** Positional form: Python's `send_task("tasks.add", args=[2, 3])` → 5. */
export const add = app.task('tasks.add', (a: number, b: number) => a + b);

/**
 * Options form: `params` lets Python pass report_id positionally or by keyword; zod validates;
 * progress is visible to Python as `AsyncResult(id).state == "PROGRESS"` and `.info`.
 */
export const render = app.task(
  {
    name: 'reports.render',
    params: ['report_id', 'format'],
    kwargs: z.object({ report_id: z.number().int().positive(), format: z.enum(['pdf', 'csv']).default('pdf') }),
    track_started: true,
  },
  async ({ kwargs: { report_id, format }, ctx }) => {
    for (let page = 1; page <= 3; page++) {
      await ctx.updateState('PROGRESS', { current: page, total: 3 });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return { report_id, format, url: `https://reports.example/${report_id}.${format}` };
  },
);

/** A failure Python's `AsyncResult.get()` re-raises as ValueError. */
export const validate = app.task('tasks.validate', (value: number) => {
  if (value < 0) throw new RangeError(`value must be >= 0, got ${value}`);
  return value;
});
