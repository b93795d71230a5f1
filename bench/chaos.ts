// `npm run chaos`: the fault scenarios at full scale, each on private redis-servers (spare ports,
// temp dirs; the shared Redis is never touched), printed as the README's Reliability table.
//   CHAOS_N (default 20000) tasks per broker/backend scenario;
//   CHAOS_KILL9_N (default 10000) tasks per worker kill -9 scenario (Redis: a private server;
//   RabbitMQ: a queue of its own on the local node, CHAOS_AMQP_URL).
// `npm run chaos -- kill9` runs only the worker kill -9 rows; `npm run chaos -- soak` runs the
// soak instead (CHAOS_SOAK_N tasks, default 1,000,000): exit 1 when the worker's RSS grew beyond
// noise or the server kept anything but results.
import { backendDown } from './chaos/backend-down.js';
import { brokerRestart } from './chaos/broker-restart.js';
import { type ChaosRow, formatTable } from './chaos/common.js';
import { workerKill9 } from './chaos/kill9.js';
import { soak } from './chaos/soak.js';

const mode = process.argv[2];
if (mode !== undefined && mode !== 'kill9' && mode !== 'soak') throw new Error(`unknown section '${mode}': kill9, soak or none (all rows)`);

if (mode === 'soak') {
  const n = Number(process.env.CHAOS_SOAK_N ?? 1_000_000);
  console.log(`soak: ${n.toLocaleString('en-US')} no-op tasks through one worker, results on (result_expires 10 s)`);
  const r = await soak({ n });
  // Noise: one sample lands anywhere between two full GCs of V8's old space (tens of MiB at this rate).
  const limit = Math.max(32, 0.25 * (r.samples[0]?.rssMiB ?? 0));
  console.log(`\n${r.n.toLocaleString('en-US')} tasks in ${r.drainS.toFixed(0)} s (${Math.round(r.rate).toLocaleString('en-US')}/s, producer on the same machine)`);
  console.log(`worker RSS (MiB) every ${(r.samples[0]?.done ?? 0).toLocaleString('en-US')} tasks: ${r.samples.map((s) => s.rssMiB).join(', ')}; last − first ${r.growthMiB} MiB (limit ${Math.round(limit)})`);
  console.log(`left in Redis: ${r.resultKeys} result keys (result_expires), ${r.bindingKeys} kombu binding sets, other: ${r.leftover.length ? r.leftover.join(', ') : 'none'}`);
  if (r.growthMiB > limit || r.leftover.length > 0) process.exitCode = 1;
} else {
  const N = Number(process.env.CHAOS_N ?? 20000);
  const KILL9_N = Number(process.env.CHAOS_KILL9_N ?? 10000);
  const rows: ChaosRow[] = [];
  const run = async (row: Promise<ChaosRow>) => {
    const r = await row;
    rows.push({ scenario: r.scenario, n: r.n, lost: r.lost, duplicates: r.duplicates, resumeMs: r.resumeMs, note: r.note });
    console.log(`${r.scenario}: lost ${r.lost}, duplicates ${r.duplicates}, resume ${r.resumeMs} ms (${r.note ?? ''})`);
    if (r.lost > 0) process.exitCode = 1;
  };
  if (mode === undefined) {
    await run(brokerRestart({ n: N, acksLate: true }));
    await run(brokerRestart({ n: N, acksLate: false }));
    await run(backendDown({ n: N }));
  }
  await run(workerKill9({ n: KILL9_N, replacement: 'typescript' }));
  await run(workerKill9({ n: KILL9_N, replacement: 'python' }));
  await run(workerKill9({ n: KILL9_N, replacement: 'typescript', broker: 'rabbitmq' }));
  await run(workerKill9({ n: KILL9_N, replacement: 'python', broker: 'rabbitmq' }));
  console.log(`\n${formatTable(rows)}`);
}
