// `ts-celery beat`: Celery's `celery beat` — sends the `beat_schedule` entries when due. Flags
// override the app's beat_* / redbeat_* settings; src/beat/beat-setup.ts does the rest.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { setUpBeat } from '../../beat/beat-setup.js';
import { redactor, secretsIn } from '../../censor.js';
import { createLogger, parseLogLevel } from '../../log.js';
import { claimPidfile, logFileWriter } from '../process-files.js';
import { addConnectionOptions, appFromFlags, type ConnectionFlags } from '../app-from-flags.js';

interface BeatFlags extends ConnectionFlags {
  schedule?: string;
  scheduleTable?: string;
  maxInterval?: string;
  loglevel: string;
  list?: boolean;
  scheduler?: string;
  redbeatUrl?: string;
  redbeatKeyPrefix?: string;
  databaseUrl?: string;
  lockTimeout?: string;
  lock: boolean;
  cronStartingDeadline?: string;
  logfile?: string;
  pidfile?: string;
  metricsPort?: string;
}

export function registerBeatCommand(program: Command): void {
  const command = program
    .command('beat')
    .description('Start the beat periodic task scheduler (sends beat_schedule entries when due)')
    .option('-s, --schedule <file>', 'JSON state file of last run times (beat_schedule_filename); default: on Redis when one is configured, else in memory')
    .option('--schedule-table <file>', 'JSON file of extra beat_schedule entries (overrides same names)')
    .option('--max-interval <seconds>', 'max seconds to sleep between schedule checks (beat_max_loop_interval)')
    .option('-S, --scheduler <name>', "'default', 'redbeat' (state + leader lock on Redis), 'django' (django-celery-beat's tables), or their Python class names (beat_scheduler)")
    .option('--redbeat-url <url>', 'Redis for -S redbeat (redbeat_redis_url; default: the broker URL)')
    .option('--database-url <url>', 'the Django database for -S django (database_url), e.g. postgresql://user@host/db or mysql://user:pass@host/db')
    .option('--redbeat-key-prefix <prefix>', 'celery-redbeat key prefix (redbeat_key_prefix; default redbeat:)')
    .option('--lock-timeout <seconds>', 'leader lock timeout: a standby takes over after at most this (beat_lock_timeout, default 30; -S redbeat: redbeat_lock_timeout, default 5 × max interval)')
    .option('--no-lock', 'default scheduler: hold no leader lock on Redis, every beat sends (beat_leader_lock = false)')
    .option('--cron-starting-deadline <seconds>', 'skip crontab runs missed by more than this (beat_cron_starting_deadline)')
    .option('-l, --loglevel <level>', 'logging level', 'INFO')
    .option('-f, --logfile <file>', 'append log lines to FILE instead of stderr')
    .option('--pidfile <file>', 'write the process id to FILE; refuse to start while a live process holds it')
    .option('--metrics-port <port>', 'serve /metrics, /healthz and /readyz on PORT (beat_metrics_port)')
    .option('--list', 'print the entries with their next run time and exit');
  addConnectionOptions(command).action(async (flags: BeatFlags) => {
    if (flags.pidfile && !flags.list) claimPidfile(flags.pidfile);
    let redact = (line: string) => line;
    const logger = createLogger({ level: parseLogLevel(flags.loglevel), write: flags.logfile ? logFileWriter(flags.logfile) : undefined, redact: (line) => redact(line) });
    const extraEntries = flags.scheduleTable ? await readScheduleTable(flags.scheduleTable) : undefined;
    const numbers = {
      maxInterval: seconds(flags.maxInterval, '--max-interval'),
      lockTimeout: seconds(flags.lockTimeout, '--lock-timeout'),
      cronStartingDeadline: seconds(flags.cronStartingDeadline, '--cron-starting-deadline'),
    };
    // Serving beat waits for its broker (Celery's beat retries too); --list only reads and fails fast.
    const app = await appFromFlags(flags, flags.list ? 'beat --list' : 'beat', flags.list ? undefined : { logger, who: 'beat' });
    redact = redactor(secretsIn({ ...app.conf, broker_url: app.brokerUrl, redbeat_redis_url: flags.redbeatUrl ?? app.conf.redbeat_redis_url, database_url: flags.databaseUrl ?? app.conf.database_url }));
    try {
      const setup = setUpBeat(app, {
        scheduleFile: flags.schedule,
        extraEntries,
        scheduler: flags.scheduler,
        redbeatUrl: flags.redbeatUrl,
        redbeatKeyPrefix: flags.redbeatKeyPrefix,
        databaseUrl: flags.databaseUrl,
        ...(flags.lock ? {} : { leaderLock: false }),
        readOnly: flags.list,
        ...numbers,
        logger,
      });
      try {
        await setup.connect();
        if (flags.list) {
          await setup.scheduler.start();
          for (const { entry, state, nextRunAt } of await setup.scheduler.upcoming()) {
            process.stdout.write(`${entry.name}  ${entry.task}  ${entry.schedule}  next: ${new Date(nextRunAt).toISOString()}  runs: ${state.totalRunCount}\n`);
          }
          return;
        }
        const count = setup.entries.length;
        const what = setup.kind === 'django' ? 'periodic tasks from the database' : `${count} entr${count === 1 ? 'y' : 'ies'}`;
        logger.info(`beat: ${what}, max interval ${setup.maxIntervalMs / 1000} s, ${setup.description}`);
        const metricsPort = flags.metricsPort !== undefined ? port(flags.metricsPort) : app.conf.beat_metrics_port;
        const probes = metricsPort === null ? null : await (await import('../../beat/beat-probes.js')).serveBeatProbes(setup, { port: metricsPort, logger });
        const controller = new AbortController();
        const stop = () => controller.abort();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          await setup.beat.run(controller.signal);
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          await probes?.close();
        }
      } finally {
        await setup.close();
      }
    } finally {
      await app.close();
    }
  });
}

async function readScheduleTable(file: string): Promise<Record<string, unknown>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new Error(`--schedule-table ${file}: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`--schedule-table ${file}: expected a JSON object of entry name → entry`);
  }
  return parsed as Record<string, unknown>;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--metrics-port must be a port number, got '${value}'`);
  return n;
}

function seconds(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number of seconds, got '${value}'`);
  return n;
}
