// Issue #16 scenario 3 on a private RabbitMQ node: mid-drain, every connection is closed by the
// broker (`rabbitmqctl close_all_connections`), and later the node is restarted (a full, graceful
// stop and start; the durable queue and its persistent, publisher-confirmed messages come back
// from disk). A worker of ours with acks_late reconnects each time: no task lost, none run twice
// in the worker (executions counted per task id), and tasks run again within 5 s of the node
// being back.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { drainThroughFaults } from '../helpers/amqp-chaos.js';
import { type RabbitNode, startRabbitNode } from '../helpers/rabbitmq-node.js';
import { claimRedis } from '../helpers/redis.js';

const redis = claimRedis('amqp-private-restart');
let node: RabbitNode;

before(async () => {
  node = await startRabbitNode();
});

after(async () => {
  await node?.remove();
});

test('close_all_connections, then a full node restart, mid-drain: 0 lost, 0 run twice, back within 5 s', async () => {
  const outcome = await drainThroughFaults({
    workerNodes: [node],
    producerNode: node,
    queueType: 'classic',
    n: 400,
    concurrency: 4,
    prefetchMultiplier: 4,
    taskMs: 10,
    redis,
    faults: [
      { at: 0.25, label: 'rabbitmqctl close_all_connections', run: () => node.ctl('close_all_connections', 'ts-celery fault test').then(() => undefined) },
      {
        at: 0.6,
        label: 'full restart of the node (from when it is back)',
        run: async () => {
          await node.stop();
          await node.start();
          return Date.now();
        },
      },
    ],
  });
  console.log(JSON.stringify(outcome));
  assert.equal(outcome.lost, 0, JSON.stringify(outcome));
  assert.equal(outcome.duplicates, 0, JSON.stringify(outcome));
  for (const fault of outcome.faults) assert.ok(fault.resumeMs < 5000, JSON.stringify(fault));
});
