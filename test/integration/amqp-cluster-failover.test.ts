// Failover inside a real RabbitMQ cluster: two private nodes joined into one cluster, a durable
// queue homed on the second, a worker (acks_late) whose broker URL lists both nodes and that is
// connected to the first. Mid-drain the first node is killed with SIGKILL: the worker moves to
// the second node, consumes again, and every task's result is stored. The deliveries the dead
// channel held come back redelivered (to this worker, once it has reconnected); it runs none of
// them twice — a copy of a task it ran on the dead connection is settled as that run settled it
// (RedeliveryGuard). The full-scale three-node quorum run, killing the connected node and then
// the queue's leader, is `npm run chaos:rabbitmq`.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { drainThroughFaults } from '../helpers/amqp-chaos.js';
import { type RabbitNode, startRabbitCluster } from '../helpers/rabbitmq-node.js';
import { claimRedis } from '../helpers/redis.js';

const redis = claimRedis('amqp-cluster-failover');
let nodes: RabbitNode[] = [];

before(async () => {
  nodes = await startRabbitCluster(2);
});

after(async () => {
  await Promise.all(nodes.map((n) => n.remove()));
});

test('kill -9 of the node the worker is connected to: it fails over to the next URL, nothing lost', async () => {
  const [first, second] = nodes as [RabbitNode, RabbitNode];
  const outcome = await drainThroughFaults({
    workerNodes: [first, second],
    producerNode: second,
    queueType: 'classic',
    n: 300,
    concurrency: 4,
    prefetchMultiplier: 4,
    taskMs: 10,
    redis,
    faults: [{ at: 0.3, label: 'kill -9 the connected node', run: () => first.kill() }],
  });
  assert.equal(outcome.lost, 0, JSON.stringify(outcome));
  assert.equal(outcome.finalNode, `127.0.0.1:${second.port}`);
  assert.equal(outcome.maxRuns, 1, JSON.stringify(outcome));
  assert.equal(outcome.duplicates, 0, JSON.stringify(outcome));
  assert.ok(outcome.faults[0]!.resumeMs < 5000, JSON.stringify(outcome));
  console.log(JSON.stringify(outcome));
});
