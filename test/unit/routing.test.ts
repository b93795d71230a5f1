// celery/app/routes.py `Router.route`, celery/app/amqp.py `AMQP._create_task_sender` and the
// msg-custom-queue-routing fixture: where Celery sends each call.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { Router, workerDirect } from '../../src/routing.js';

const queues = [
  { name: 'wirefx.q2', exchange: 'wirefx.ex', exchange_type: 'direct' as const, routing_key: 'wirefx.rk' },
  { name: 'wirefx.topicq', exchange: 'wirefx.topic', exchange_type: 'topic' as const, routing_key: 'wirefx.#' },
];
const router = (extra: Record<string, unknown> = {}) => new Router(loadConfig({ task_queues: queues, ...extra }, {}));

test('default queue: anonymous exchange, routing key = queue', () => {
  const r = router().route('t.add', [], {}, {});
  assert.deepEqual(r.target, { exchange: '', routingKey: 'celery' });
  assert.equal(r.queue?.name, 'celery');
  assert.equal(r.queue?.exchange, 'celery');
});

test('(a)(b) a direct queue collapses to the default exchange even with another routing key', () => {
  assert.deepEqual(router().route('t.add', [], {}, { queue: 'wirefx.q2' }).target, { exchange: '', routingKey: 'wirefx.q2' });
  assert.deepEqual(router().route('t.add', [], {}, { queue: 'wirefx.q2', routing_key: 'other' }).target, {
    exchange: '',
    routingKey: 'wirefx.q2',
  });
});

test('(c) exchange and routing key both given publish through the named exchange', () => {
  const r = router().route('t.add', [], {}, { exchange: 'wirefx.ex', routing_key: 'wirefx.rk' });
  assert.deepEqual(r.target, { exchange: 'wirefx.ex', routingKey: 'wirefx.rk', exchangeType: 'direct' });
});

test('(d) a topic queue publishes through its exchange with the given key', () => {
  const r = router().route('t.add', [], {}, { queue: 'wirefx.topicq', routing_key: 'wirefx.a.b' });
  assert.deepEqual(r.target, { exchange: 'wirefx.topic', routingKey: 'wirefx.a.b', exchangeType: 'topic' });
});

test('(e)(f) task_routes by exact name, glob, regex and function; missing queues are created', () => {
  const r = router({
    task_routes: [
      { 'wirefx.routed': { queue: 'wirefx.q2' }, 'reports.*': 'reports', 'training.tasks.train_hourly_batch_task': 'training_batch' },
      [/^ml\..*_fast$/, { queue: 'training_fast', priority: 7 }],
      (name: string) => (name.startsWith('slow.') ? { queue: 'training_slow' } : null),
    ],
  });
  assert.equal(r.route('wirefx.routed', [], {}, {}).target.routingKey, 'wirefx.q2');
  assert.equal(r.route('reports.render', [], {}, {}).target.routingKey, 'reports');
  assert.equal(r.route('training.tasks.train_hourly_batch_task', [], {}, {}).target.routingKey, 'training_batch');
  const fast = r.route('ml.embed_fast', [], {}, {});
  assert.equal(fast.target.routingKey, 'training_fast');
  assert.equal(fast.priority, 7);
  assert.equal(r.route('slow.x', [], {}, {}).target.routingKey, 'training_slow');
  assert.equal(r.route('other', [], {}, {}).target.routingKey, 'celery');
  // explicit options win over the route
  assert.equal(r.route('reports.render', [], {}, { queue: 'urgent' }).target.routingKey, 'urgent');
  assert.deepEqual(r.queue('wirefx.undeclared'), { name: 'wirefx.undeclared', exchange: 'wirefx.undeclared', exchangeType: 'direct', routingKey: 'wirefx.undeclared' });
});

test('quorum queues: task_default_queue_type, task_create_missing_queue_type and queue_arguments declare x-queue-type; priorities are refused', () => {
  const byDefault = new Router(loadConfig({ task_default_queue: 'jobs', task_default_queue_type: 'quorum' }));
  assert.deepEqual(byDefault.queue('jobs').attributes, { arguments: { 'x-queue-type': 'quorum' } });
  assert.equal(byDefault.isQuorum('jobs'), true);
  assert.equal(byDefault.queue('other').attributes, undefined, 'only the default queue takes task_default_queue_type');
  const missing = new Router(loadConfig({ task_create_missing_queue_type: 'quorum' }));
  assert.equal(missing.isQuorum('anything'), true);
  const listed = new Router(loadConfig({ task_queues: [{ name: 'q', queue_arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 5 } }] }));
  assert.deepEqual(listed.queue('q').attributes, { arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 5 } });
  assert.throws(() => new Router(loadConfig({ task_queues: [{ name: 'q', max_priority: 10, queue_arguments: { 'x-queue-type': 'quorum' } }] })), /queue 'q' is a quorum queue, and quorum queues do not support priorities/);
  const global = new Router(loadConfig({ task_queue_max_priority: 10, task_default_queue_type: 'quorum' }));
  assert.throws(() => global.queue('celery'), /task_queue_max_priority/);
  assert.throws(() => byDefault.route('t', [], {}, { priority: 5 }), /quorum queues do not support message priorities/);
  assert.throws(() => loadConfig({ task_default_queue_type: 'stream' }), /task_default_queue_type/);
});

test("worker_direct: workerDirect(host) names the worker's <host>.dq2 queue, declared as Celery's worker_direct() declares it", () => {
  const r = router().route('t.add', [], {}, workerDirect('w1@host'));
  // Like any direct queue, published through the default exchange; declared bound to C.dq2 by the node name.
  assert.deepEqual(r.target, { exchange: '', routingKey: 'w1@host.dq2' });
  assert.deepEqual(r.queue, { name: 'w1@host.dq2', exchange: 'C.dq2', exchangeType: 'direct', routingKey: 'w1@host', attributes: { autoDelete: true } });
});
