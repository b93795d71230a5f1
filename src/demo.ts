// The embedded demo (`ts-celery demo`): a worker, a producer and a result store in one process
// on the in-memory transport, so a new user sees the whole round trip before any broker exists.
import { z } from 'zod';
import { Celery } from './app.js';
import { TaskError } from './errors.js';
import { createLogger } from './log.js';
import { Worker } from './worker/worker.js';

export async function runDemo(write: (line: string) => void = (l) => process.stdout.write(l + '\n')): Promise<void> {
  const app = new Celery({ broker_url: 'memory://', result_backend: 'memory://', task_track_started: true });
  const add = app.task('demo.add', (a: number, b: number) => a + b);
  const render = app.task(
    {
      name: 'demo.render',
      params: ['report_id', 'format'],
      kwargs: z.object({ report_id: z.number().int(), format: z.enum(['pdf', 'csv']).default('pdf') }),
    },
    async ({ kwargs, ctx }) => {
      for (let page = 1; page <= 3; page++) {
        await ctx.updateState('PROGRESS', { current: page, total: 3 });
        await new Promise((r) => setTimeout(r, 50));
      }
      return { report: kwargs.report_id, format: kwargs.format, pages: 3 };
    },
  );
  app.task('demo.fail', (message: string) => {
    throw new RangeError(message);
  });

  const worker = new Worker(app, { mingle: false, concurrency: 2, nodeName: 'demo@%h', logger: createLogger({ level: 'info', write }) });
  write('ts-celery demo: worker, producer and results in one process on the in-memory broker (memory://).');
  write(`registered tasks: ${app.tasks.names().join(', ')}\n`);
  await worker.start();
  try {
    const sum = await add.delay(2, 3);
    write(`→ add(2, 3) = ${JSON.stringify(await sum.get({ timeout: 5 }))}  [${await sum.state()}]`);

    const report = await render.applyAsync([42], { format: 'csv' });
    let seen = '';
    while (!(await report.ready())) {
      const progress = JSON.stringify(await report.info());
      if ((await report.state()) === 'PROGRESS' && progress !== seen) write(`→ render(42) PROGRESS ${(seen = progress)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    write(`→ render(42, format='csv') = ${JSON.stringify(await report.get())}`);

    const later = await add.applyAsync([20, 22], {}, { countdown: 1 });
    write('→ add(20, 22) sent with countdown=1 s …');
    write(`→ add(20, 22) = ${JSON.stringify(await later.get({ timeout: 5 }))}`);

    for (const [label, result] of [
      ['fail("disk full")', await app.sendTask('demo.fail', ['disk full'])],
      ['render("x") (schema check)', await app.sendTask('demo.render', ['x'])],
      ['reports.unknown (no such task)', await app.sendTask('reports.unknown', [1])],
    ] as const) {
      try {
        await result.get({ timeout: 5 });
      } catch (error) {
        const e = error as TaskError;
        write(`→ ${label} failed as a Python caller would see it: ${e.excType}: ${e.excArgs.join(', ')}`);
      }
    }
  } finally {
    await worker.stop();
  }
  write('\nDone. Point broker_url / result_backend (or CELERY_BROKER_URL) at Redis to share work with Python Celery.');
}
