// `ts-celery worker`: load the tasks module, print Celery's banner, consume until a signal.
// First SIGTERM/SIGINT = warm shutdown (exit 0); a second one = cold shutdown.
import { type Command, InvalidArgumentError } from 'commander';
import { startEmbeddedBeat } from '../../beat/beat-setup.js';
import { redactor, secretsIn } from '../../censor.js';
import { ensureConnected } from '../../broker-connection.js';
import { createLogger, type LogFormat, type LogLevel } from '../../log.js';
import type { CeleryTracing } from '../../observe/celery-tracing.js';
import { claimPidfile, logFileWriter } from '../process-files.js';
import { childNodeName, PROCESS_INDEX_ENV, superviseProcesses } from '../worker-processes.js';
import { loadApp } from '../../registry/module-loader.js';
import { maskUrl } from '../../url-mask.js';
import { workerBanner } from '../../worker/banner.js';
import { logLines } from '../../worker/log-lines.js';
import { Worker } from '../../worker/worker.js';
import { applyConnectionFlags, logLevel, nonNegativeInt, positiveInt, queueList, seconds } from '../options.js';

interface WorkerFlags {
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
  logfile?: string;
  pidfile?: string;
  metricsPort?: number;
  processes?: number;
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('Start a worker that runs the tasks of MODULE')
    .requiredOption('-A, --app <module>', 'tasks module exporting the Celery app (./tasks, ./tasks.ts, ./tasks:myApp)')
    .option('-b, --broker <url>', 'broker URL (overrides broker_url / CELERY_BROKER_URL)')
    .option('--result-backend <url>', 'result backend URL (overrides result_backend)')
    .option('-Q, --queues <q1,q2>', 'queues to consume (default: task_default_queue)', queueList)
    .option('--processes <n>', 'fork N worker processes under one supervisor (node names name-1@host … name-N@host), to use N cores', positiveInt('processes'))
    .option('-c, --concurrency <n>', 'tasks executed at once (default: 100 with -P async, CPU cores with -P threads)', positiveInt('concurrency'))
    .option('-n, --hostname <name@host>', 'node name; %h, %n, %d expand as in Celery', undefined)
    .option('-l, --loglevel <level>', 'DEBUG, INFO, WARNING, ERROR, CRITICAL', logLevel, 'info' as LogLevel)
    .option('--log-format <format>', 'celery (Celery worker format) or json', (v) => parseFormat(v), 'celery' as LogFormat)
    .option('--prefetch-multiplier <n>', 'messages prefetched per concurrency slot (0 = unlimited)', nonNegativeInt('prefetch multiplier'))
    .option('-P, --pool <pool>', 'async (tasks on the event loop) or threads (tasks in worker threads)', parsePool, 'async' as const)
    .option('--max-tasks-per-child <n>', 'threads pool: replace a thread after it ran N tasks', positiveInt('max tasks per child'))
    .option('--max-memory-per-child <kb>', 'threads pool: replace a thread holding more than KB KiB after a task', positiveInt('max memory per child'))
    .option('-E, --task-events', 'send task events (for Flower and `celery events`)')
    .option('--without-heartbeat', 'do not send worker heartbeat events')
    .option('--without-mingle', 'do not sync revoked ids with other workers at start-up')
    .option('--without-gossip', 'accepted for Celery compatibility (ts-celery workers do not gossip)')
    .option('--time-limit <s>', 'hard time limit for every task (task_time_limit)', seconds('--time-limit'))
    .option('--soft-time-limit <s>', 'soft time limit for every task (task_soft_time_limit)', seconds('--soft-time-limit'))
    .option('-f, --logfile <file>', 'append log lines to FILE instead of stderr')
    .option('--pidfile <file>', 'write the process id to FILE; refuse to start while a live process holds it')
    .option('--metrics-port <port>', 'serve /metrics (Prometheus), /healthz and /readyz on PORT (worker_metrics_port)', nonNegativeInt('metrics port'))
    .option('-O <profile>', "accepted for Celery compatibility ('fair' is how this worker always schedules)")
    .option('-B, --beat', 'also run the beat scheduler in this process (on a Redis broker/backend, -B on several workers still sends each slot once)')
    .option('-s, --schedule <file>', 'with -B: JSON state file of last run times (beat_schedule_filename)')
    .option('-S, --scheduler <name>', "with -B: 'default' or 'redbeat' (beat_scheduler)")
    .action(async (flags: WorkerFlags) => {
      applyConnectionFlags(flags);
      const processIndex = process.env[PROCESS_INDEX_ENV];
      if (flags.pidfile && processIndex === undefined) claimPidfile(flags.pidfile);
      if ((flags.processes ?? 1) > 1 && processIndex === undefined) {
        const supervisorLogger = createLogger({ level: flags.loglevel, format: flags.logFormat, write: flags.logfile ? logFileWriter(flags.logfile) : undefined });
        process.exit(await superviseProcesses(flags.processes!, supervisorLogger));
      }
      if (processIndex !== undefined) {
        flags.hostname = childNodeName(flags.hostname, processIndex);
        // One beat for the group, in the first process.
        if (processIndex !== '1') flags.beat = false;
      }
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
        logger,
      });
      if (flags.logFormat === 'celery') process.stdout.write(workerBanner(worker, app, { pool: worker.executor.name, taskEvents: flags.taskEvents ?? app.conf.worker_send_task_events }) + '\n');
      await ensureConnected({ conf: app.conf, connect: (ms) => app.connect(ms), logger, who: 'consumer' });
      logger.info(logLines.connected(maskUrl(app.brokerUrl)));
      await worker.start();
      const beat = flags.beat ? startEmbeddedBeat(app, { scheduleFile: flags.schedule, scheduler: flags.scheduler, owner: worker.hostname, logger }) : null;
      let signals = 0;
      const onSignal = () => {
        signals += 1;
        const stopping = Promise.all([worker.stop({ cold: signals > 1 }), beat?.stop()]);
        stopping.then(
          () => process.exit(0),
          (error: unknown) => {
            logger.error(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
}

function parsePool(value: string): 'async' | 'threads' {
  if (value !== 'async' && value !== 'threads') throw new InvalidArgumentError(`--pool must be 'async' or 'threads', got '${value}'`);
  return value;
}

function parseFormat(value: string): LogFormat {
  if (value !== 'celery' && value !== 'json') throw new InvalidArgumentError(`--log-format must be 'celery' or 'json', got '${value}'`);
  return value;
}
