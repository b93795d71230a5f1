// Two apps in one module, for `ts-celery worker -A ./test/interop/ts/cli-named.ts:other`:
// the name after the colon picks the export (the CLI tests check `other`'s tasks are served).
import { Celery } from '../../../src/index.js';
import { configFromEnv } from './env-config.js';

export const app = new Celery(configFromEnv());
app.task('cli.named.default_app', () => 'default');

export const other = new Celery(configFromEnv());
other.task('cli.named.other_app', () => 'other');
