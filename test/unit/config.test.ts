import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KNOWN_SETTINGS, loadConfig, TS_CELERY_SETTINGS, unimplementedSettings } from '../../src/config.js';
import { CELERY_SETTING_NAMES } from '../../src/celery-settings.js';
import { Celery } from '../../src/app.js';
import { ConfigError } from '../../src/errors.js';

test('defaults are Celery defaults', () => {
  const c = loadConfig({}, {});
  assert.equal(c.task_default_queue, 'celery');
  assert.equal(c.result_expires, 86400);
  assert.equal(c.worker_prefetch_multiplier, 4);
  assert.equal(c.task_acks_late, false);
  assert.deepEqual(c.accept_content, ['json']);
  assert.equal(c.broker_url, undefined);
});

test('an unknown setting names itself and the closest known one', () => {
  assert.throws(() => loadConfig({ task_acks_lat: true }, {}), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.message, "unknown setting 'task_acks_lat' (did you mean 'task_acks_late'?)");
    return true;
  });
  assert.throws(() => loadConfig({ zzzzzzzzzzzz: 1 }, {}), /^ConfigError|unknown setting 'zzzzzzzzzzzz'$/);
});

test('a Python config with Celery settings we do not implement loads; they are reported, typos are not', () => {
  const shared = { task_always_eager: false, worker_hijack_root_logger: false, broker_pool_limit: 10, task_acks_late: true };
  const c = loadConfig(shared, {});
  assert.equal(c.task_acks_late, true);
  assert.ok(!('broker_pool_limit' in c), 'ignored settings are dropped, not kept unvalidated');
  assert.deepEqual(unimplementedSettings(shared), ['task_always_eager', 'worker_hijack_root_logger', 'broker_pool_limit']);
  assert.deepEqual(new Celery(shared).unimplementedSettings, ['task_always_eager', 'worker_hijack_root_logger', 'broker_pool_limit']);
  // Every setting we implement is a real Celery (or celery-redbeat) setting name, or one of the
  // few of our own, listed.
  assert.deepEqual(KNOWN_SETTINGS.filter((name) => !CELERY_SETTING_NAMES.has(name)).sort(), [...TS_CELERY_SETTINGS].sort());
});

test('a bad value names the field and the value', () => {
  assert.throws(() => loadConfig({ worker_prefetch_multiplier: 'four' }, {}), /worker_prefetch_multiplier .*got "four"/);
  assert.throws(() => loadConfig({ task_queues: [{ name: 42 }] }, {}), /task_queues\.0\.name .*got 42/);
});

test('CELERY_BROKER_URL and CELERY_RESULT_BACKEND win over the config, as in Celery', () => {
  const c = loadConfig(
    { broker_url: 'redis://a/0', result_backend: 'redis://a/1' },
    { CELERY_BROKER_URL: 'redis://env/2', CELERY_RESULT_BACKEND: 'redis://env/3' },
  );
  assert.equal(c.broker_url, 'redis://env/2');
  assert.equal(c.result_backend, 'redis://env/3');
});

test('task_annotations set task options by name or for every task, as Celery applies them', () => {
  const app = new Celery({
    task_annotations: [
      { 'a.named': { rate_limit: '10/m', acks_late: true, time_limit: 30 }, '*': { time_limit: 60, max_retries: 5 } },
      { 'a.named': { ignore_result: true }, '*': { track_started: true }, 'b.spec': { rate_limit: 2 } },
    ],
  });
  app.task('a.named', () => null);
  app.task({ name: 'b.spec', soft_time_limit: 5, max_retries: 1 }, () => null);
  // The first map naming the task wins; '*' comes from the first map that has it and, as in
  // Celery (Task.annotate sets the named attributes, then the '*' ones), wins over a named option.
  assert.deepEqual(app.tasks.get('a.named')!.options, { rate_limit: '10/m', acks_late: true, time_limit: 60, max_retries: 5, name: 'a.named' });
  // Over what the task declares; a number of tasks per second is Celery's rate() form.
  assert.deepEqual(app.tasks.get('b.spec')!.options, { name: 'b.spec', soft_time_limit: 5, max_retries: 5, time_limit: 60, rate_limit: '2/s' });
  // Built-in tasks are annotated too.
  assert.equal(app.tasks.get('celery.backend_cleanup')!.options.max_retries, 5);
});

test('task_annotations refuse what a worker here cannot apply, naming the key', () => {
  assert.throws(() => loadConfig({ task_annotations: { 'a.t': { rate_limt: '1/s' } } }, {}), /^ConfigError: task_annotations\.a\.t unrecognized key: "rate_limt"/);
  // A class path (Python's own annotation objects).
  assert.throws(() => loadConfig({ task_annotations: 'proj.annotations.MyAnnotate' }, {}), /^ConfigError: task_annotations invalid input, got "proj\.annotations\.MyAnnotate"/);
  assert.throws(() => loadConfig({ task_annotations: { '*': { time_limit: -1 } } }, {}), /task_annotations\.\*\.time_limit/);
});
