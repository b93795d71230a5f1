// Celery settings for the test tasks modules, from the same environment variables the Python
// interop app reads (test/interop/python/interop_app.py): BROKER_URL, RESULT_BACKEND, KEYPREFIX
// (both global_keyprefix options), VISIBILITY_TIMEOUT, DEFAULT_QUEUE, MASTER_NAME (both
// master_name options, for sentinel:// URLs), TASK_QUEUES (task_queues, as JSON), DATABASE_URL
// (database_url: the Django database of result_backend 'django-db', as DJANGO_DB_URL there),
// SOFT_SHUTDOWN_TIMEOUT (worker_soft_shutdown_timeout), TASK_ANNOTATIONS (task_annotations,
// as JSON) and WORKER_DIRECT (worker_direct), ours only.

/**
 * The result backend's global_keyprefix that gives the keys the Python side writes. Celery 5.3
 * and 5.4 always append `_` to it; 5.5+ only when it does not already end in one of `:_-.`
 * (celery/backends/base.py BaseKeyValueStoreBackend._add_global_keyprefix), which is what we
 * do — so against 5.3/5.4 ours must be given the prefix with the `_` those versions add.
 * INTEROP_CELERY_VERSION names the Python Celery under test (unset: the pinned newest).
 */
export function resultKeyprefix(prefix: string, env: NodeJS.ProcessEnv = process.env): string {
  const [major = 99, minor = 0] = (env.INTEROP_CELERY_VERSION ?? '').split('.').filter(Boolean).map(Number);
  return prefix && major === 5 && minor < 5 ? `${prefix}_` : prefix;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const prefix = env.KEYPREFIX ?? '';
  const brokerOptions: Record<string, unknown> = {};
  const backendOptions: Record<string, unknown> = {};
  // global_keyprefix is a Redis transport option; on RabbitMQ only the (Redis) backend takes it.
  const redisBroker = !/^(amqps?|pyamqp):/.test(env.BROKER_URL ?? '');
  if (prefix) backendOptions.global_keyprefix = resultKeyprefix(prefix);
  if (prefix && redisBroker) brokerOptions.global_keyprefix = prefix;
  if (env.MASTER_NAME) brokerOptions.master_name = backendOptions.master_name = env.MASTER_NAME;
  if (env.VISIBILITY_TIMEOUT) brokerOptions.visibility_timeout = Number(env.VISIBILITY_TIMEOUT);
  return {
    broker_url: env.BROKER_URL ?? 'redis://127.0.0.1:6379/10',
    ...(env.RESULT_BACKEND ? { result_backend: env.RESULT_BACKEND } : {}),
    ...(env.DATABASE_URL ? { database_url: env.DATABASE_URL } : {}),
    broker_transport_options: brokerOptions,
    result_backend_transport_options: backendOptions,
    task_default_queue: env.DEFAULT_QUEUE ?? 'celery',
    // TASK_QUEUES: the same JSON list interop_app.py declares as task_queues.
    ...(env.TASK_QUEUES ? { task_queues: JSON.parse(env.TASK_QUEUES) as unknown[] } : {}),
    ...(env.SOFT_SHUTDOWN_TIMEOUT ? { worker_soft_shutdown_timeout: Number(env.SOFT_SHUTDOWN_TIMEOUT) } : {}),
    ...(env.TASK_ANNOTATIONS ? { task_annotations: JSON.parse(env.TASK_ANNOTATIONS) as unknown } : {}),
    ...(env.WORKER_DIRECT ? { worker_direct: true } : {}),
  };
}
