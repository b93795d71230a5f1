// The body of `ts-celery worker` once flags are parsed (commands/worker.ts): one worker process,
// loaded only where a worker runs (not in a `--processes` supervisor). First SIGTERM/SIGINT = warm
// shutdown (exit 0); a second one, or SIGQUIT = cold shutdown.
import { isSchedulerName, startEmbeddedBeat } from '../../beat/beat-setup.js';
import { ensureConnected } from '../../broker-connection.js';
import { redactor, secretsIn } from '../../censor.js';
import { createLogger, type LogFormat, type LogLevel } from '../../log.js';
import type { CeleryTracing } from '../../observe/celery-tracing.js';
import { loadApp } from '../../registry/module-loader.js';
import { maskUrl } from '../../url-mask.js';
import { workerBanner } from '../../worker/banner.js';
import { logLines } from '../../worker/log-lines.js';
import { Worker } from '../../worker/worker.js';
import { logFileWriter } from '../process-files.js';

export interface WorkerFlags {
  app: string;
  broker?: string;
  resultBackend?: string;
  queues?: string[];
  concurrency?: number;
  hostname?: string;
  loglevel: LogLevel;
  logFormat: LogFormat;
  prefetchMultiplier?: number;
  timeLimit?: number;
  softTimeLimit?: number;
  pool: 'async' | 'threads';
  maxTasksPerChild?: number;
  maxMemoryPerChild?: number;
  taskEvents?: boolean;
  withoutHeartbeat?: boolean;
  withoutMingle?: boolean;
  beat?: boolean;
  schedule?: string;
  scheduler?: string;
  statedb?: string;
  logfile?: string;
  pidfile?: string;
  metricsPort?: number;
  processes?: number;
}

/** Start the worker (and embedded beat) and stop it on SIGTERM/SIGINT (a second one: cold). */
export async function runWorker(flags: WorkerFlags): Promise<void> {
  // Secrets are known once the app is loaded; every line is redacted from then on.
  let redact = (line: string) => line;
  let tracing: CeleryTracing | null = null;
  const logger = createLogger({
    level: flags.loglevel,
    format: flags.logFormat,
    write: flags.logfile ? logFileWriter(flags.logfile) : undefined,
    redact: (line) => redact(line),
    context: () => tracing?.logFields(),
  });
  // Celery's worker `-S` is --statedb; ours once named the beat scheduler, which a scheduler name still means.
  if (flags.statedb && isSchedulerName(flags.statedb)) {
    logger.warn(`-S ${flags.statedb}: -S is --statedb, as in Celery; give the embedded beat's scheduler with --scheduler ${flags.statedb}`);
    flags.scheduler ??= flags.statedb;
    flags.statedb = undefined;
  }
  const app = await loadApp(flags.app);
  redact = redactor(secretsIn({ ...app.conf, broker_url: app.brokerUrl }));
  // A tracer provider registered by the tasks module (or `node --import`): JSON lines name the active span.
  tracing = await app.tracing();
  if (flags.timeLimit !== undefined) app.conf.task_time_limit = flags.timeLimit;
  if (flags.softTimeLimit !== undefined) app.conf.task_soft_time_limit = flags.softTimeLimit;
  const worker = new Worker(app, {
    queues: flags.queues,
    concurrency: flags.concurrency,
    nodeName: flags.hostname,
    prefetchMultiplier: flags.prefetchMultiplier,
    taskEvents: flags.taskEvents,
    heartbeat: !flags.withoutHeartbeat,
    mingle: !flags.withoutMingle,
    pool: flags.pool,
    appModule: flags.app,
    maxTasksPerChild: flags.maxTasksPerChild,
    maxMemoryPerChild: flags.maxMemoryPerChild,
    metricsPort: flags.metricsPort,
    stateDb: flags.statedb,
    logger,
  });
  if (flags.logFormat === 'celery') process.stdout.write(workerBanner(worker, app, { pool: worker.executor.name, taskEvents: flags.taskEvents ?? app.conf.worker_send_task_events }) + '\n');
  // celery/apps/worker.py: SIGTERM / SIGINT = warm shutdown, a second one or SIGQUIT = cold (after
  // the soft shutdown period, if set); during a cold shutdown one more cuts the soft period short,
  // and the next exits at once with code 1 (Celery's hard shutdown). Installed before the worker
  // starts, so no signal finds Node's default (death) once "ready." is out; one that arrives while
  // the worker is starting is acted on as soon as it has started.
  let beat: { stop(): Promise<void> } | null = null;
  let starting = false;
  const held: ('warm' | 'cold')[] = [];
  let shuttingDown = false;
  let colds = 0;
  const onSignal = (requested: 'warm' | 'cold') => {
    if (starting) {
      held.push(requested);
      return;
    }
    const cold = requested === 'cold' || shuttingDown;
    shuttingDown = true;
    if (cold && ++colds > 2) {
      logger.warn('worker: Hard shutdown (MainProcess)');
      process.exit(1);
    }
    const stopping = Promise.all([worker.stop({ cold }), beat?.stop()]);
    stopping.then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  // celery/apps/worker.py REMAP_SIGTERM: SIGTERM as SIGQUIT (Heroku, Kubernetes).
  const onTerm = process.env.REMAP_SIGTERM === 'SIGQUIT' ? 'cold' : 'warm';
  process.on('SIGTERM', () => onSignal(onTerm));
  process.on('SIGINT', () => onSignal('warm'));
  process.on('SIGQUIT', () => onSignal('cold'));
  await ensureConnected({ conf: app.conf, connect: (ms) => app.connect(ms), logger, who: 'consumer' });
  if (shuttingDown) return;
  logger.info(logLines.connected(maskUrl(app.brokerUrl)));
  starting = true;
  await worker.start();
  starting = false;
  beat = flags.beat ? startEmbeddedBeat(app, { scheduleFile: flags.schedule, scheduler: flags.scheduler, owner: worker.hostname, logger }) : null;
  for (const requested of held) onSignal(requested);
}
