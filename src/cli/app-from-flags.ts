// The app a client subcommand (call, result, purge) talks through: the -A module's app when
// given (its config and routes), else a bare app configured from flags and environment.
import { Celery } from '../app.js';
import { ensureConnected } from '../broker-connection.js';
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
export async function appFromFlags(flags: ConnectionFlags, waitFor?: { logger: Logger; who: 'consumer' | 'beat' }): Promise<Celery> {
  applyConnectionFlags(flags);
  const app = flags.app ? await loadApp(flags.app) : new Celery();
  try {
    if (waitFor) await ensureConnected({ conf: app.conf, connect: (ms) => app.connect(ms), ...waitFor });
    else await app.connect();
  } catch (error) {
    await app.close().catch(() => {});
    throw error;
  }
  return app;
}

export function addConnectionOptions<T extends { option: (...a: string[]) => T }>(command: T): T {
  return command
    .option('-A, --app <module>', 'tasks module whose app config (routes, broker) to use')
    .option('-b, --broker <url>', 'broker URL (overrides broker_url / CELERY_BROKER_URL)')
    .option('--result-backend <url>', 'result backend URL (overrides result_backend)');
}
