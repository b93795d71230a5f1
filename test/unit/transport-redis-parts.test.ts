// The pure parts of the Redis transport against kombu's behaviour and the celery-5.7 fixtures:
// URL and option parsing, priority lists, binding members and topic patterns, fanout channels,
// key prefixing and the unacked value format.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { BindingMatcher, bindingMember, parseBindingMember, topicKeyToPattern } from '../../src/transport/redis/bindings.js';
import { fanoutChannel, globToRegExp, parseFanoutChannel, resolveFanoutPrefix } from '../../src/transport/redis/fanout.js';
import { RedisKeys } from '../../src/transport/redis/keys.js';
import { parseRedisTransportOptions, parseRedisUrl } from '../../src/transport/redis/options.js';
import { maskUrl } from '../../src/url-mask.js';
import { clampPriority, priorityListName, priorityStep } from '../../src/transport/redis/priority.js';
import { parseUnackedValue } from '../../src/transport/redis/qos.js';
import { AmqpTransport, createTransport } from '../../src/transport/index.js';
import { TlsConnector } from '../../src/transport/redis/tls-connector.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/celery-5.7/${name}.json`, import.meta.url), 'utf8'));
const SEP = '\x06\x16';

test('Redis URLs: host, port, db, ACL user and password, TLS and sockets', () => {
  assert.deepEqual(parseRedisUrl('redis://localhost'), { host: 'localhost', port: 6379, db: 0 });
  assert.deepEqual(parseRedisUrl('redis://'), { host: '127.0.0.1', port: 6379, db: 0 });
  assert.deepEqual(parseRedisUrl('redis://:s%40cret@cache:6380/2'), { host: 'cache', port: 6380, password: 's@cret', db: 2 });
  assert.deepEqual(parseRedisUrl('redis://app:pw@cache/5'), { host: 'cache', port: 6379, username: 'app', password: 'pw', db: 5 });
  // TLS connections get the connector that keeps an error listener on every socket (tls-connector.ts).
  assert.deepEqual(parseRedisUrl('rediss://cache:6380/1?ssl_cert_reqs=CERT_NONE'), { host: 'cache', port: 6380, db: 1, tls: { rejectUnauthorized: false }, Connector: TlsConnector });
  assert.equal(parseRedisUrl('redis://cache').Connector, undefined);
  assert.deepEqual(parseRedisUrl('rediss://cache/0?ssl_cert_reqs=required').tls, { rejectUnauthorized: true });
  assert.deepEqual(parseRedisUrl('rediss://cache').tls, {});
  assert.deepEqual(parseRedisUrl('redis+socket:///run/redis/redis.sock?virtual_host=3'), { path: '/run/redis/redis.sock', db: 3 });
  assert.deepEqual(parseRedisUrl('unix://:pw@/tmp/r.sock?db=4'), { path: '/tmp/r.sock', password: 'pw', db: 4 });
  assert.throws(() => parseRedisUrl('redis://h/x'), (e: Error) => e instanceof ConfigError && /database must be an integer/.test(e.message));
  assert.throws(() => parseRedisUrl('redis://:pw@h/0?bogus=1'), (e: Error) => e instanceof ConfigError && /bogus/.test(e.message) && !e.message.includes('pw'));
  assert.throws(() => parseRedisUrl('rediss://h?ssl_cert_reqs=maybe'), ConfigError);
});

test('TLS settings: broker_use_ssl / redis_backend_use_ssl dicts, the URL query wins, verification unless none', () => {
  const ssl = (settings: Record<string, unknown> | boolean) => ({ settings, name: 'broker_use_ssl' });
  // Python's CERT_OPTIONAL verifies on a client socket too (ssl docs): only none turns it off.
  assert.deepEqual(parseRedisUrl('rediss://h?ssl_cert_reqs=CERT_OPTIONAL').tls, { rejectUnauthorized: true });
  assert.deepEqual(parseRedisUrl('rediss://h', {}, ssl({ ssl_cert_reqs: 0 })).tls, { rejectUnauthorized: false });
  assert.deepEqual(parseRedisUrl('rediss://h', {}, ssl({ ssl_cert_reqs: 2 })).tls, { rejectUnauthorized: true });
  // kombu: broker_use_ssl turns TLS on for a redis:// URL too; the URL's ssl_* override the dict.
  assert.deepEqual(parseRedisUrl('redis://h', {}, ssl(true)).tls, {});
  assert.deepEqual(parseRedisUrl('rediss://h?ssl_cert_reqs=none', {}, ssl({ ssl_cert_reqs: 'required' })).tls, { rejectUnauthorized: false });
  assert.equal(parseRedisUrl('redis://h', {}, { settings: null, name: 'broker_use_ssl' }).tls, undefined);
  assert.equal(typeof parseRedisUrl('rediss://h?ssl_check_hostname=false').tls?.checkServerIdentity, 'function');
  // celery/backends/redis.py: ssl_* on a redis:// URL is a mistake, not silently plain text.
  assert.throws(() => parseRedisUrl('redis://:pw@h/0?ssl_cert_reqs=required'), (e: Error) => e instanceof ConfigError && /need a rediss:\/\/ URL/.test(e.message) && !e.message.includes('pw'));
  assert.throws(() => parseRedisUrl('rediss://h', {}, ssl({ ssl_ca_cert: '/x' })), /broker_use_ssl: unknown key 'ssl_ca_cert'/);
  assert.throws(() => parseRedisUrl('rediss://h', {}, ssl({ ssl_ca_certs: '/nonexistent/ca.pem' })), /cannot read ssl_ca_certs '\/nonexistent\/ca.pem' \(ENOENT\)/);
});

test('sentinel:// URLs: every sentinel (26379 by default), the master name, credentials, masked passwords', () => {
  assert.deepEqual(parseRedisUrl('sentinel://:secret@s1:26380/3;sentinel://s2', { masterName: 'mymaster', sentinelKwargs: { password: 'sp' } }), {
    db: 3,
    sentinels: [{ host: 's1', port: 26380 }, { host: 's2', port: 26379 }],
    name: 'mymaster',
    password: 'secret',
    sentinelPassword: 'sp',
  });
  assert.throws(() => parseRedisUrl('sentinel://s1', { optionsName: 'broker_transport_options' }), /sentinel:\/\/s1: a sentinel:\/\/ URL needs broker_transport_options\.master_name/);
  assert.throws(() => parseRedisUrl('sentinel://s1;redis://x', { masterName: 'm' }), /every ';'-separated part must be a sentinel:\/\/ URL/);
  assert.throws(() => parseRedisUrl('sentinel://s1', { masterName: 'm', sentinelKwargs: { socket_timeout: 1 } }), /sentinel_kwargs: 'socket_timeout' is not supported/);
  assert.equal(maskUrl('sentinel://:a@s1:26379;sentinel://u:b@s2'), 'sentinel://:**@s1:26379;sentinel://u:**@s2');
});

test('transport options: kombu defaults, validation, and the closest name for a typo', () => {
  const o = parseRedisTransportOptions();
  assert.equal(o.visibilityTimeout, 3600);
  assert.equal(o.sep, SEP);
  assert.deepEqual(o.prioritySteps, [0, 3, 6, 9]);
  assert.equal(o.queueOrderStrategy, 'round_robin');
  assert.equal(o.unackedMutexExpire, 300);
  assert.equal(o.brpopTimeout, 1);
  assert.equal(o.unackedRestoreInterval * o.unackedRestoreThrottle, 100);
  assert.equal(parseRedisTransportOptions({ polling_interval: 0.5 }).brpopTimeout, 0.5);
  assert.throws(() => parseRedisTransportOptions({ visiblity_timeout: 10 }), (e: Error) => e instanceof ConfigError && e.message.includes("'visiblity_timeout'") && e.message.includes("'visibility_timeout'"));
  assert.throws(() => parseRedisTransportOptions({ queue_order_strategy: 'random' }), (e: Error) => e instanceof ConfigError && e.message.includes('queue_order_strategy'));
  assert.throws(() => parseRedisTransportOptions({ priority_steps: [9, 0] }), /priority_steps/);
  // Python configs carry publish-retry options in the same dict.
  assert.doesNotThrow(() => parseRedisTransportOptions({ max_retries: 3, interval_start: 0, health_check_interval: 25 }));
  // RabbitMQ's options in a config shared with an amqp:// deployment: ignored, as kombu does.
  assert.doesNotThrow(() => parseRedisTransportOptions({ confirm_publish: true, heartbeat: 30 }));
});

test('priority lists as in msg-priority and msg-priority-custom-steps', () => {
  for (const m of fixture('msg-priority').messages as { redis_key: string; envelope: { properties: { priority: unknown } } }[]) {
    const step = priorityStep([0, 3, 6, 9], clampPriority(m.envelope.properties.priority));
    assert.equal(priorityListName('celery', step, SEP), m.redis_key);
  }
  for (const m of fixture('msg-priority-custom-steps').messages as { redis_key: string; envelope: { properties: { priority: unknown } } }[]) {
    const steps = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    assert.equal(priorityListName('celery', priorityStep(steps, clampPriority(m.envelope.properties.priority)), ':'), m.redis_key);
  }
  assert.deepEqual([clampPriority(null), clampPriority(12), clampPriority(-3), clampPriority('5'), clampPriority(4.9)], [0, 9, 0, 5, 4]);
  // bisect wrap-around: below the first step is the LAST step (Python index -1), as kombu.
  assert.equal(priorityStep([3, 6, 9], 0), 9);
});

test('binding members and topic patterns are byte-exact with kombu 5.7', () => {
  const keys = fixture('msg-custom-queue-routing').broker_keys;
  assert.deepEqual(keys['_kombu.binding.celery'].value, [bindingMember({ routingKey: 'celery', pattern: '', queue: 'celery' }, SEP)]);
  assert.deepEqual(keys['_kombu.binding.wirefx.topic'].value, [bindingMember({ routingKey: 'wirefx.#', pattern: topicKeyToPattern('wirefx.#'), queue: 'wirefx.topicq' }, SEP)]);
  assert.equal(topicKeyToPattern('a.*.b-c'), '^a\\.[^\\.]+\\.b\\-c$');
  assert.deepEqual(parseBindingMember(`wirefx.rk${SEP}${SEP}wirefx.q2`, SEP), { routingKey: 'wirefx.rk', pattern: '', queue: 'wirefx.q2' });

  const m = new BindingMatcher();
  const rows = [
    { routingKey: 'wirefx.#', pattern: '^wirefx\\..*?$', queue: 'all' },
    { routingKey: 'a.*', pattern: topicKeyToPattern('a.*'), queue: 'one-word' },
    { routingKey: 'a.*', pattern: '^a\\..*?[^\\.]$', queue: 'kombu-5.6-star' },
    { routingKey: 'x', pattern: '', queue: 'direct' },
  ];
  assert.deepEqual(m.queues('topic', rows, 'wirefx.a.b'), ['all', 'direct']);
  assert.deepEqual(m.queues('topic', rows, 'a.b'), ['one-word', 'kombu-5.6-star', 'direct']);
  assert.deepEqual(m.queues('topic', rows, 'a.b.c'), ['kombu-5.6-star', 'direct']);
  assert.deepEqual(m.queues('direct', rows, 'x'), ['direct']);
  assert.deepEqual(m.queues('fanout', rows, 'whatever'), ['all', 'one-word', 'kombu-5.6-star', 'direct']);
});

test('fanout channels: /{db}. prefix, patterns, and reading a channel back', () => {
  assert.equal(resolveFanoutPrefix(true, 5), '/5.');
  assert.equal(resolveFanoutPrefix(false, 5), '');
  assert.equal(resolveFanoutPrefix('/x{db}.', 3), '/x3.');
  assert.equal(fanoutChannel('/5.', 'celeryev', 'worker.heartbeat', true), '/5.celeryev/worker.heartbeat');
  assert.equal(fanoutChannel('/5.', 'celery.pidbox', '', true), '/5.celery.pidbox');
  assert.equal(fanoutChannel('/5.', 'celeryev', 'task.sent', false), '/5.celeryev');
  assert.deepEqual(parseFanoutChannel('/5.celeryev/task.multi'), { exchange: 'celeryev', routingKey: 'task.multi' });
  assert.deepEqual(parseFanoutChannel('/5.celery.pidbox'), { exchange: 'celery.pidbox', routingKey: null });
  assert.ok(globToRegExp('/5.celeryev/worker.*').test('/5.celeryev/worker.heartbeat'));
  assert.ok(!globToRegExp('/5.celeryev/worker.*').test('/5.celeryev/task.sent'));
});

test('every key carries global_keyprefix; BRPOP order is for each step, for each queue', () => {
  const o = parseRedisTransportOptions({ global_keyprefix: 'p:' });
  const keys = new RedisKeys({ ...o, fanoutPrefix: resolveFanoutPrefix(true, 5) });
  assert.equal(keys.unacked, 'p:unacked');
  assert.equal(keys.unackedIndex, 'p:unacked_index');
  assert.equal(keys.unackedMutex, 'p:unacked_mutex');
  assert.equal(keys.binding('celery'), 'p:_kombu.binding.celery');
  assert.equal(keys.fanoutPublish('celeryev', 'task.sent'), 'p:/5.celeryev/task.sent');
  assert.equal(keys.fanoutSubscribe('celeryev', '#'), 'p:/5.celeryev/*');
  assert.deepEqual(keys.fetchLists(['a', 'b']), ['p:a', 'p:b', `p:a${SEP}3`, `p:b${SEP}3`, `p:a${SEP}6`, `p:b${SEP}6`, `p:a${SEP}9`, `p:b${SEP}9`]);
  assert.equal(keys.strip('p:celery'), 'celery');
});

test('an unacked value written by Python splits into the exact envelope text, exchange and routing key', () => {
  const value: string = Object.values(fixture('broker-keys-worker-running').broker_keys.unacked.value as Record<string, string>)[0]!;
  const entry = parseUnackedValue(value);
  assert.equal(entry.exchange, '');
  assert.equal(entry.routingKey, 'celery');
  assert.equal(value, `[${entry.envelope}, "", "celery"]`);
  assert.equal(JSON.parse(entry.envelope).properties.delivery_info.routing_key, 'celery');
  const tricky = parseUnackedValue('[{"a": "}\\"]{", "b": [1, {"c": 2}]}, "ex", "r\\/k"]');
  assert.deepEqual(tricky, { envelope: '{"a": "}\\"]{", "b": [1, {"c": 2}]}', exchange: 'ex', routingKey: 'r/k' });
  assert.throws(() => parseUnackedValue('{"not": "an array"}'));
});

test('createTransport picks the implementation by scheme', () => {
  assert.equal(createTransport('memory://').constructor.name, 'MemoryTransport');
  assert.ok(createTransport('amqp://guest@localhost//') instanceof AmqpTransport); // connects lazily
  assert.throws(() => createTransport('kafka://x'), (e: Error) => e instanceof ConfigError && e.message.includes("'kafka'"));
  assert.throws(() => createTransport('memory://', { nope: 1 }), ConfigError);
});
