// Broker URL lists as kombu's Connection takes them (`amqp://h1//;amqp://h2//`) and its failover
// strategies: round-robin in order, shuffle at random.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { nextNode, parseAmqpUrls } from '../../src/transport/amqp/amqp-options.js';

test('a ;-separated list gives every node, each with its own credentials and vhost', () => {
  const nodes = parseAmqpUrls('amqp://a:pw@h1:5672//; amqp://b:pw2@h2:5673/prod');
  assert.deepEqual(
    nodes.map((n) => [n.hostname, n.port, n.username, n.vhost]),
    [['h1', 5672, 'a', '/'], ['h2', 5673, 'b', 'prod']],
  );
  assert.throws(() => parseAmqpUrls(' ; '), /empty/);
  assert.throws(() => parseAmqpUrls('amqp://h1//;redis://h2'), /not an AMQP URL/);
});

test('round-robin cycles in order; shuffle picks at random; one node stays put', () => {
  assert.deepEqual([0, 1, 2].map((i) => nextNode(i, 3, 'round-robin')), [1, 2, 0]);
  assert.equal(nextNode(0, 3, 'shuffle', () => 0.7), 2);
  assert.equal(nextNode(0, 1, 'round-robin'), 0);
  assert.equal(loadConfig({ broker_failover_strategy: 'shuffle' }, {}).broker_failover_strategy, 'shuffle');
  assert.throws(() => loadConfig({ broker_failover_strategy: 'random' }, {}), /broker_failover_strategy/);
});

test("the heartbeat: broker_heartbeat (default 120), overridden by the URL's ?heartbeat=, overridden by the transport option", () => {
  const heartbeat = (url: string, sources = {}) => parseAmqpUrls(url, sources)[0]!.heartbeat;
  assert.equal(heartbeat('amqp://h//'), 120);
  assert.equal(heartbeat('amqp://h//', { heartbeat: 10 }), 10);
  assert.equal(heartbeat('amqp://h//', { heartbeat: 0 }), 0);
  assert.equal(heartbeat('amqp://h//?heartbeat=5', { heartbeat: 10 }), 5);
  assert.equal(heartbeat('amqp://h//?heartbeat=5', { heartbeat: 10, transportHeartbeat: 2 }), 2);
  assert.throws(() => heartbeat('amqp://h//?heartbeat=soon'), /heartbeat must be a number of seconds >= 0, got 'soon'/);
  assert.equal(loadConfig({}, {}).broker_heartbeat, 120);
  assert.throws(() => loadConfig({ broker_heartbeat: -1 }, {}), /broker_heartbeat/);
});
