// `npm run chaos`: the fault scenarios at full scale, each on private redis-servers (spare ports,
// temp dirs; the shared Redis is never touched), printed as the README's Reliability table.
//   CHAOS_N (default 20000) tasks per broker/backend scenario;
//   CHAOS_KILL9_N (default 10000) tasks per worker kill -9 scenario (Redis: a private server;
//   RabbitMQ: a queue of its own on the local node, CHAOS_AMQP_URL);
//   HOSTILE_N (default 100000) malformed messages among HOSTILE_GOOD (default 20000) valid ones,
//   HOSTILE_HUGE (default 20) of them 20 MB bodies.
// `npm run chaos -- kill9` / `-- hostile` runs only those rows; `npm run chaos -- soak` runs the
// soak instead (CHAOS_SOAK_N tasks, default 1,000,000): exit 1 when the worker's RSS grew beyond
// noise or the server kept anything but results.
import { backendDown } from './chaos/backend-down.js';
import { brokerRestart } from './chaos/broker-restart.js';
import { type ChaosRow, formatTable } from './chaos/common.js';
import { hostileInput } from './chaos/hostile.js';
import { workerKill9 } from './chaos/kill9.js';
import { soak } from './chaos/soak.js';
import { startRedisServer } from '../test/helpers/redis-server.js';

const mode = process.argv[2];
if (mode !== undefined && mode !== 'kill9' && mode !== 'hostile' && mode !== 'soak') {
  throw new Error(`unknown section '${mode}': kill9, hostile, soak or none (all rows)`);
}

async function hostile(): Promise<ChaosRow> {
  const server = await startRedisServer();
  try {
    const r = await hostileInput({
      url: server.url,
      prefix: '',
      token: 'hostile',
      bad: Number(process.env.HOSTILE_N ?? 100_000),
      good: Number(process.env.HOSTILE_GOOD ?? 20_000),
      huge: Number(process.env.HOSTILE_HUGE ?? 20),
      log: (l) => console.log(l),
    });
    console.log(`good done ${r.goodDone}/${r.goodDone + r.lost}; bad rejected ${r.badRejected}/${r.n}; FAILUREs stored ${r.failuresStored}/${r.readableIds} readable ids ${JSON.stringify(r.excTypes)}`);
    console.log(`log lines per bad message ${r.linesPerBad.toFixed(3)}; malformed log lines ${r.badLines.length}; peak RSS ${r.peakRssMiB.toFixed(0)} MiB; queue left ${r.leftInQueue}, unacked left ${r.leftUnacked}; worker alive ${r.workerAlive}; ${r.seconds.toFixed(1)} s`);
    for (const line of r.badLines.slice(0, 5)) console.log(`  malformed: ${line.slice(0, 300)}`);
    return r;
  } finally {
    await server.destroy();
  }
}

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
  if (mode === undefined || mode === 'kill9') {
    await run(workerKill9({ n: KILL9_N, replacement: 'typescript' }));
    await run(workerKill9({ n: KILL9_N, replacement: 'python' }));
    await run(workerKill9({ n: KILL9_N, replacement: 'typescript', broker: 'rabbitmq' }));
    await run(workerKill9({ n: KILL9_N, replacement: 'python', broker: 'rabbitmq' }));
  }
  if (mode === undefined || mode === 'hostile') await run(hostile());
  console.log(`\n${formatTable(rows)}`);
}
