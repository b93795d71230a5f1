// Tasks for the remote-control interop test against a real ts-celery worker process.
import { Celery } from '../../../src/index.js';
import { configFromEnv } from './env-config.js';

export const app = new Celery(configFromEnv());
app.task('ctl.add', (a: number, b: number) => a + b);
/** Runs until aborted (terminate, cold shutdown). */
app.task({ name: 'ctl.block' }, ({ ctx }) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve('aborted'))));
