// The app a client subcommand (call, result, purge) talks through: the -A module's app when
// given (its config and routes), else a bare app configured from flags and environment.
import { Celery } from '../app.js';
import { ensureConnected } from '../broker-connection.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import { loadApp } from '../registry/module-loader.js';
import { applyConnectionFlags } from './options.js';

export interface ConnectionFlags {
  app?: string;
  broker?: string;
  resultBackend?: string;
}

/**
 * The app, with its broker and result backend checked to answer (a one-line error if not).
 * A long-running service (beat) passes `waitFor`: it then waits for the broker at start-up as
 * Celery does (broker_connection_retry_on_startup).
 */
export async function appFromFlags(flags: ConnectionFlags, command: string, waitFor?: { logger: Logger; who: 'consumer' | 'beat' }): Promise<Celery> {
  applyConnectionFlags(flags);
  const app = flags.app ? await loadApp(flags.app) : new Celery();
  needs(app, command);
  try {
    if (waitFor) await ensureConnected({ conf: app.conf, connect: (ms) => app.connect(ms), ...waitFor });
    else await app.connect();
  } catch (error) {
    await app.close().catch(() => {});
    throw error;
  }
  return app;
}

/**
 * These commands reach other processes, so the embedded memory:// broker (the app's default for
 * in-process use) would succeed into nothing. Celery would fall back to amqp://guest@localhost//;
 * we say what is missing instead, since a TypeScript fleet is as often on Redis.
 */
function needs(app: Celery, command: string): void {
  const where = 'pass -b URL (e.g. redis://localhost:6379/0), set CELERY_BROKER_URL, or -A a module whose app sets';
  // `beat --list` computes the next runs from the table (and reads a broker's shared state if one is configured).
  if (command === 'beat --list') return;
  if (command === 'result') {
    if (!app.conf.result_backend) throw new ConfigError(`ts-celery result: no result backend configured: ${where.replace('-b URL', '--result-backend URL')} result_backend`);
    return;
  }
  if (!app.conf.broker_url) throw new ConfigError(`ts-celery ${command}: no broker configured: ${where} broker_url`);
}

export function addConnectionOptions<T extends { option: (...a: string[]) => T }>(command: T): T {
  return command
    .option('-A, --app <module>', 'tasks module whose app config (routes, broker) to use')
    .option('-b, --broker <url>', 'broker URL (overrides broker_url / CELERY_BROKER_URL)')
    .option('--result-backend <url>', 'result backend URL (overrides result_backend)');
}
