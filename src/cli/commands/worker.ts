// `ts-celery worker`: its flags, and the `--processes` supervisor; the worker itself (load the
// tasks module, print Celery's banner, consume until a signal) runs in worker-run.ts.
import { type Command, InvalidArgumentError } from 'commander';
import { createLogger, type LogFormat, type LogLevel } from '../../log.js';
import { expandNodeName, formatForNode } from '../../node-name.js';
import { claimPidfile, logFileWriter } from '../process-files.js';
import { childNodeName, PROCESS_INDEX_ENV, superviseProcesses } from '../worker-processes.js';
import { applyConnectionFlags, logLevel, nonNegativeInt, positiveInt, queueList, seconds } from '../options.js';
import type { WorkerFlags } from './worker-run.js';

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
    .option('-S, --statedb <file>', 'keep revoked ids (and the logical clock) in FILE across restarts (worker_state_db)')
    .option('--scheduler <name>', "with -B: 'default', 'redbeat' or 'django' (beat_scheduler)")
    .action(async (flags: WorkerFlags) => {
      applyConnectionFlags(flags);
      const processIndex = process.env[PROCESS_INDEX_ENV];
      if ((flags.processes ?? 1) > 1 && flags.statedb && !/%[pnIi]/.test(flags.statedb)) {
        throw new InvalidArgumentError(`--statedb with --processes ${flags.processes}: give each worker a file of its own, e.g. --statedb ${flags.statedb}.%n (%n = the node name)`);
      }
      if (processIndex !== undefined) {
        flags.hostname = childNodeName(flags.hostname, processIndex);
        // One beat for the group, in the first process.
        if (processIndex !== '1') flags.beat = false;
      }
      // Celery's %n, %h, %i, %I… in file paths, for this process (a child: its own name and index).
      const node = expandNodeName(flags.hostname);
      for (const key of ['logfile', 'pidfile', 'statedb'] as const) {
        if (flags[key]) flags[key] = formatForNode(flags[key], node, processIndex);
      }
      if (flags.pidfile && processIndex === undefined) claimPidfile(flags.pidfile);
      if ((flags.processes ?? 1) > 1 && processIndex === undefined) {
        const supervisorLogger = createLogger({ level: flags.loglevel, format: flags.logFormat, write: flags.logfile ? logFileWriter(flags.logfile) : undefined });
        process.exit(await superviseProcesses(flags.processes!, supervisorLogger));
      }
      // The worker itself (app, transports, beat) loads here: a `--processes` supervisor never
      // loads it, and stays a small process.
      await (await import('./worker-run.js')).runWorker(flags);
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
