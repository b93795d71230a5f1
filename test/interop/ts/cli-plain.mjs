// A plain JavaScript (ESM) tasks module, no TypeScript syntax, exporting its app as the DEFAULT
// export: `ts-celery worker -A ./test/interop/ts/cli-plain.mjs` (the CLI tests' worker).
import { Celery } from '../../../src/index.js';
import { configFromEnv } from './env-config.js';

const app = new Celery(configFromEnv());

app.task('cli.add', (a, b) => a + b);

app.task('cli.fail', (message) => {
  throw new RangeError(message);
});

export default app;
