// kombu/transport/native_delayed_delivery.py as a plan: the routing-key encoding, the 28 levels
// with kombu's queue arguments and bindings, the prefix of newer kombu, and direct exchanges left
// out. (The interop test compares the keys and names with kombu's own.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { calculateRoutingKey, delayedBindingKey, delayedTopology, deliveryExchangeName, levelName } from '../../src/transport/amqp/native-delayed-delivery.js';

test('calculate_routing_key: 28 binary digits of whole seconds, then the routing key', () => {
  assert.equal(calculateRoutingKey(2, 'jobs'), `${'0.'.repeat(26)}1.0.jobs`);
  assert.equal(calculateRoutingKey(5, 'a.b'), `${'0.'.repeat(25)}1.0.1.a.b`);
  assert.throws(() => calculateRoutingKey(0, 'jobs'), /positive/);
  assert.throws(() => calculateRoutingKey(1.5, 'jobs'), /positive/);
  assert.throws(() => calculateRoutingKey(1, ''), /non-empty/);
  assert.throws(() => calculateRoutingKey(2 ** 28, 'jobs'), /below/);
});

test('the topology: levels 27..0, TTL 2^level s, dead-lettering down to the delivery exchange', () => {
  const plan = delayedTopology('quorum');
  assert.equal(plan.levels.length, 28);
  assert.deepEqual(plan.levels[0], {
    name: 'celery_delayed_27',
    routingKey: '1.#',
    arguments: { 'x-queue-type': 'quorum', 'x-overflow': 'reject-publish', 'x-message-ttl': 2 ** 27 * 1000, 'x-dead-letter-exchange': 'celery_delayed_26', 'x-dead-letter-strategy': 'at-least-once' },
  });
  const last = plan.levels[27]!;
  assert.equal(last.name, 'celery_delayed_0');
  assert.equal(last.routingKey, `${'*.'.repeat(27)}1.#`);
  assert.equal(last.arguments['x-dead-letter-exchange'], 'celery_delayed_delivery');
  assert.deepEqual(plan.bindings[0], { source: 'celery_delayed_27', destination: 'celery_delayed_26', routingKey: '0.#' });
  assert.deepEqual(plan.bindings.at(-1), { source: 'celery_delayed_0', destination: 'celery_delayed_delivery', routingKey: `${'*.'.repeat(27)}0.#` });
  assert.equal(delayedTopology('classic').levels[0]!.arguments['x-dead-letter-strategy'], undefined);
});

test('the prefix of newer kombu, and the queue binding key', () => {
  assert.equal(levelName(3, 'eu'), 'eu_celery_delayed_3');
  assert.equal(deliveryExchangeName('eu'), 'eu_celery_delayed_delivery');
  assert.equal(delayedTopology('quorum', 'eu').deliveryExchange, 'eu_celery_delayed_delivery');
  assert.equal(delayedBindingKey('topic', 'jobs'), '#.jobs');
  assert.equal(delayedBindingKey('topic', '#.jobs'), '#.jobs');
  assert.equal(delayedBindingKey('direct', 'jobs'), null);
});
