// TypeScript half of the canvas interop tests (same names as canvas_tasks.py).
import { Celery } from '../../../src/index.js';
import { configFromEnv } from './env-config.js';

export const app = new Celery(configFromEnv());
app.task('canvas.add', (a: number, b: number) => a + b);
app.task('canvas.tsum', (values: number[]) => values.reduce((x, y) => x + y, 0));
app.task('canvas.fail', (message: string) => {
  throw new RangeError(message);
});
