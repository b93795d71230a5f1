// RabbitMQ faults at full scale (`npm run chaos:rabbitmq`; not a test, prints the Reliability rows):
// a private 3-node cluster and a QUORUM queue homed on the third node; one worker of ours with
// acks_late whose broker URL lists the three nodes, draining N tasks into the Redis result
// backend (db 15, its own key prefix). Mid-drain: kill -9 the node the worker is connected to
// (it fails over to the next URL), bring that node back, then kill -9 the queue's leader (the
// quorum elects another; the worker's node stays up). Counts lost tasks (no result),
// executions beyond the first, and the time until the worker ran a task again.
// The small-scale version runs in `npm test` (test/integration/amqp-cluster-failover.test.ts).
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { drainThroughFaults } from '../test/helpers/amqp-chaos.js';
import { type RabbitNode, startRabbitCluster } from '../test/helpers/rabbitmq-node.js';

const N = Number(process.env.CHAOS_N ?? 5000);
const REDIS_URL = process.env.CHAOS_REDIS_URL ?? 'redis://127.0.0.1:6379/15';
const token = `chaosrmq-${randomBytes(4).toString('hex')}`;
const prefix = `${token}:`;

async function deleteKeys(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  for (let cursor = '0'; ; ) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
    if (cursor === '0') break;
  }
  redis.disconnect();
}

/** The quorum queue's leader, as `rabbitmqctl list_queues name leader` reports it on a live node. */
async function leaderOf(queue: string, ask: RabbitNode, nodes: RabbitNode[]): Promise<RabbitNode> {
  const out = await ask.ctl('list_queues', '-q', '--no-table-headers', 'name', 'leader');
  const line = out.split('\n').find((l) => l.split(/\s+/)[0] === queue);
  const leader = nodes.find((n) => line?.includes(n.name));
  if (!leader) throw new Error(`no leader for ${queue} in: ${out}`);
  return leader;
}

const t0 = Date.now();
const nodes = await startRabbitCluster(3);
const [n1, n2, n3] = nodes as [RabbitNode, RabbitNode, RabbitNode];
console.log(`3-node cluster up in ${Date.now() - t0} ms (node start ${nodes.map((n) => n.startMs).join('/')} ms)`);
let restarted: Promise<void> = Promise.resolve();
try {
  const queue = `${token}.drain`;
  let leaderName = '';
  const outcome = await drainThroughFaults({
    workerNodes: [n1, n2, n3],
    producerNode: n3,
    queueType: 'quorum',
    n: N,
    concurrency: 8,
    prefetchMultiplier: 4,
    taskMs: 5,
    redis: { url: REDIS_URL, prefix, token, deleteKeys },
    timeoutMs: 300_000,
    faults: [
      {
        at: 0.25,
        label: 'kill -9 the node the worker is connected to',
        run: async () => {
          await n1.kill();
          restarted = n1.start();
        },
      },
      {
        at: 0.6,
        label: "kill -9 the quorum queue's leader",
        run: async () => {
          await restarted; // a majority must survive the second kill
          const leader = await leaderOf(queue, n2, nodes);
          leaderName = leader.name;
          const hit = Date.now();
          await leader.kill();
          return hit;
        },
      },
    ],
  });
  console.log(`leader killed: ${leaderName}; worker ended on ${outcome.finalNode}; drain ${outcome.drainMs} ms`);
  console.log('\n| scenario | N | lost | duplicates | time to resume | command |');
  console.log('|---|---|---|---|---|---|');
  for (const f of outcome.faults) {
    console.log(`| RabbitMQ 3-node cluster, quorum queue, acks_late: ${f.label} (at ${f.firedAt}/${outcome.n}) | ${outcome.n} | ${outcome.lost} | ${outcome.duplicates} in the run (max ${outcome.maxRuns} runs of one task; window ${outcome.window}) | ${(f.resumeMs / 1000).toFixed(1)} s | \`npm run chaos:rabbitmq\` |`);
  }
  if (outcome.lost > 0) process.exitCode = 1;
} finally {
  await restarted.catch(() => undefined);
  await Promise.all(nodes.map((n) => n.remove()));
}
