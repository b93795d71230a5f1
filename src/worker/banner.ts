// The start-up banner a Celery worker prints (celery/apps/worker.py ARTLINES/BANNER), listing
// node, transport, results, concurrency, queues and registered tasks.
import { platform, release } from 'node:os';
import type { Celery } from '../app.js';
import { maskUrl } from '../url-mask.js';
import { VERSION } from '../version.js';
import type { Worker } from './worker.js';


export function workerBanner(worker: Worker, app: Celery, options: { pool: string; taskEvents?: boolean; now?: Date }): string {
  const conf = app.conf;
  const queues = worker.queues.map((name) => {
    const q = app.router.queue(name);
    return `                .> ${name.padEnd(16)} exchange=${q.exchange ?? name}(${q.exchangeType ?? 'direct'}) key=${q.routingKey ?? name}`;
  });
  const tasks = app.tasks.names().map((n) => `  . ${n}`);
  const results = conf.result_backend ? maskUrl(conf.result_backend) : 'disabled://';
  const lines = [
    ` -------------- ${worker.hostname} v${VERSION} (ts-celery, node ${process.version})`,
    `--- ***** ----- `,
    `-- ******* ---- ${platform()}-${release()} ${(options.now ?? new Date()).toISOString().replace('T', ' ').slice(0, 19)}`,
    `- *** --- * --- `,
    `- ** ---------- [config]`,
    `- ** ---------- .> transport:   ${maskUrl(app.brokerUrl)}`,
    `- ** ---------- .> results:     ${results}`,
    `- *** --- * --- .> concurrency: ${worker.concurrency} (${options.pool})`,
    `-- ******* ---- .> task events: ${options.taskEvents ? 'ON' : 'OFF (enable -E to monitor tasks in this worker)'}`,
    `--- ***** ----- `,
    ` -------------- [queues]`,
    ...queues,
    '',
    '[tasks]',
    ...tasks,
    '',
  ];
  return lines.join('\n');
}
