// The app a client subcommand (call, result, purge) talks through: the -A module's app when
// given (its config and routes), else a bare app configured from flags and environment.
import { Celery } from '../app.js';
import { loadApp } from '../registry/module-loader.js';
import { applyConnectionFlags } from './options.js';

export interface ConnectionFlags {
  app?: string;
  broker?: string;
  resultBackend?: string;
}

export async function appFromFlags(flags: ConnectionFlags): Promise<Celery> {
  applyConnectionFlags(flags);
  return flags.app ? loadApp(flags.app) : new Celery();
}

export function addConnectionOptions<T extends { option: (...a: string[]) => T }>(command: T): T {
  return command
    .option('-A, --app <module>', 'tasks module whose app config (routes, broker) to use')
    .option('-b, --broker <url>', 'broker URL (overrides broker_url / CELERY_BROKER_URL)')
    .option('--result-backend <url>', 'result backend URL (overrides result_backend)');
}
