// Tasks for the secrets interop test: a worker configured with passwords everywhere Celery
// configs hold them (broker, backend, redbeat URL with an unencoded '/' and '@', sentinel_kwargs,
// a secret-named setting). SECRET_BROKER_URL / SECRET_BACKEND_URL carry the passwords.
import { Celery } from '../../../src/index.js';
import { configFromEnv } from './env-config.js';

const base = configFromEnv();
export const app = new Celery({
  ...base,
  broker_url: process.env.SECRET_BROKER_URL,
  result_backend: process.env.SECRET_BACKEND_URL,
  broker_transport_options: { ...(base.broker_transport_options as object), sentinel_kwargs: { password: process.env.SENTINEL_PASSWORD } },
  redbeat_redis_url: process.env.REDBEAT_URL,
  security_key_password: process.env.KEY_PASSWORD,
});
app.task('sec.add', (a: number, b: number) => a + b);
/** Fails with the broker URL in its message: the worker's log line must not show the password. */
app.task('sec.leak', () => {
  throw new Error(`cannot reach ${process.env.SECRET_BROKER_URL}`);
});
