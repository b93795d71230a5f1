// TypeScript half of the canvas interop tests (same names as canvas_tasks.py, plus ts-only ones).
import { Celery, group, signature, type TaskContext } from '../../../src/index.js';
import { configFromEnv } from './env-config.js';

export const app = new Celery(configFromEnv());
app.task('canvas.add', (a: number, b: number) => a + b);
app.task('canvas.tsum', (values: number[]) => values.reduce((x, y) => x + y, 0));
app.task('canvas.fail', (message: string) => {
  throw new RangeError(message);
});
// Replaces itself with a group of `n` additions on `queue` (Python's `return self.replace(group(...))`).
app.task('canvas.fan_out', function (this: TaskContext, n: number, queue: string) {
  return this.replace(group(Array.from({ length: n }, (_, i) => signature('canvas.add', [i, i], {}, { queue }))));
});
