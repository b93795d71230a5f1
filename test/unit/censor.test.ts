// Secrets never leave the process: URL masking (kombu `maybe_sanitize_url`, also for passwords
// holding '/' or '@' and any scheme), settings censoring (celery/app/utils.py
// `filter_hidden_settings`) and the redactor the worker applies to logs and replies.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { censorSettings, redactDeep, redactor, secretsIn, SETTINGS_MASK } from '../../src/censor.js';
import { createLogger } from '../../src/log.js';
import { maskUrl } from '../../src/url-mask.js';

test('maskUrl masks the password whatever it holds and whatever the scheme', () => {
  assert.equal(maskUrl('redis://:s3cretPW@host:6393/0'), 'redis://:**@host:6393/0');
  assert.equal(maskUrl('redis://:s3cretPW@host:6393/0', SETTINGS_MASK), 'redis://:********@host:6393/0');
  assert.equal(maskUrl('redis://u:pa/ss@host:1/0'), 'redis://u:**@host:1/0');
  assert.equal(maskUrl('redis://u:p@ss@host:1/0'), 'redis://u:**@host:1/0');
  assert.equal(maskUrl('redis://u:p@s/s?x#y@host:1/0'), 'redis://u:**@host:1/0');
  assert.equal(maskUrl('madeup+scheme://admin:hunter22@db.example:99/x'), 'madeup+scheme://admin:**@db.example:99/x');
  assert.equal(maskUrl('sentinel://:a@s1:26379;sentinel://u:b;c@s2'), 'sentinel://:**@s1:26379;sentinel://u:**@s2');
  assert.equal(maskUrl('rediss://h:6380/0?ssl_cert_reqs=CERT_NONE&password=abc'), 'rediss://h:6380/0?ssl_cert_reqs=CERT_NONE&password=**');
  // No password: unchanged (the user stays visible, as kombu shows it).
  assert.equal(maskUrl('amqp://guest@localhost//'), 'amqp://guest@localhost//');
  assert.equal(maskUrl('redis://localhost:6379/0'), 'redis://localhost:6379/0');
  assert.equal(maskUrl('not a url'), 'not a url');
});

test('censorSettings hides what Celery hides, and every URL anywhere', () => {
  const out = censorSettings({
    broker_url: 'redis://:s3cret@h:6393/0',
    result_backend: 'redis://:s3cret@h/1',
    redbeat_redis_url: 'redis://:s3c/r@t@h/2', // Celery shows this one in clear
    broker_transport_options: { sentinel_kwargs: { password: 'sk' }, master_name: 'm', fanout_patterns: true },
    redbeat_redis_options: { sentinels: [['h', 26379]], password: 'rp' },
    redbeat_key_prefix: 'r:',
    security_key_password: 'x',
    beat_schedule: { e: { task: 't', args: ['amqp://u:inarg@h//'] } },
    worker_concurrency: 2,
    task_default_routing_key: null,
  });
  assert.deepEqual(out, {
    broker_url: 'redis://:********@h:6393/0',
    result_backend: 'redis://:********@h/1',
    redbeat_redis_url: 'redis://:********@h/2',
    broker_transport_options: { sentinel_kwargs: { password: '********' }, master_name: 'm', fanout_patterns: true },
    redbeat_redis_options: { sentinels: [['h', 26379]], password: '********' },
    redbeat_key_prefix: '********',
    security_key_password: '********',
    beat_schedule: { e: { task: 't', args: ['amqp://u:********@h//'] } },
    worker_concurrency: 2,
    task_default_routing_key: null,
  });
});

test('secretsIn + redactor blank configured passwords out of any text, log line or reply', () => {
  const secrets = secretsIn({
    broker_url: 'redis://:p%40ss%2Fw0rd@h/0',
    result_backend: 'sentinel://:one1@a;sentinel://:two2@b',
    broker_transport_options: { sentinel_kwargs: { password: 'kw"pw' }, global_keyprefix: 'myapp:' },
    redbeat_key_prefix: 'redbeat:',
    task_default_routing_key: 'tasks',
    worker_concurrency: 1,
  });
  // Prefixes and routing keys are censored in `inspect conf` (Celery's KEY) but not secrets to blank out of logs.
  for (const s of ['myapp:', 'redbeat:', 'tasks']) assert.ok(!secrets.includes(s), s);
  for (const s of ['p%40ss%2Fw0rd', 'p@ss/w0rd', 'one1', 'two2', 'kw"pw']) assert.ok(secrets.includes(s), s);
  const redact = redactor(secrets);
  assert.equal(redact('error p@ss/w0rd and one1'), 'error ** and **');
  assert.equal(redact(JSON.stringify({ m: 'kw"pw' })), '{"m":"**"}');
  assert.deepEqual(redactDeep({ a: ['two2', 3], b: { one1: 'x' } }, redact), { a: ['**', 3], b: { '**': 'x' } });
  const lines: string[] = [];
  const logger = createLogger({ write: (l) => lines.push(l), format: 'json', redact });
  logger.error('Cannot connect to redis://:p@ss/w0rd@h/0', { detail: 'two2' });
  assert.doesNotMatch(lines[0]!, /w0rd|two2/);
});
