// `npm run chaos`: the fault scenarios at full scale, each on private redis-servers (spare ports,
// temp dirs; the shared Redis is never touched), printed as the README's Reliability table.
//   CHAOS_N (default 20000) tasks per scenario.
//   `npm run chaos -- hostile` runs only scenario 5, hostile input: HOSTILE_N (default 100000)
//   malformed messages among HOSTILE_GOOD (default 20000) valid ones, HOSTILE_HUGE (default 20)
//   of them 20 MB bodies.
import { backendDown } from './chaos/backend-down.js';
import { brokerRestart } from './chaos/broker-restart.js';
import { type ChaosRow, formatTable } from './chaos/common.js';
import { hostileInput } from './chaos/hostile.js';
import { startRedisServer } from '../test/helpers/redis-server.js';

const N = Number(process.env.CHAOS_N ?? 20000);
const only = process.argv.slice(2);
const rows: ChaosRow[] = [];
const run = async (row: Promise<ChaosRow>) => {
  const r = await row;
  rows.push({ scenario: r.scenario, n: r.n, lost: r.lost, duplicates: r.duplicates, resumeMs: r.resumeMs, note: r.note });
  console.log(`${r.scenario}: lost ${r.lost}, duplicates ${r.duplicates}, resume ${r.resumeMs} ms (${r.note ?? ''})`);
};

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

if (only.length === 0 || !only.includes('hostile')) {
  await run(brokerRestart({ n: N, acksLate: true }));
  await run(brokerRestart({ n: N, acksLate: false }));
  await run(backendDown({ n: N }));
}
if (only.length === 0 || only.includes('hostile')) await run(hostile());
console.log(`\n${formatTable(rows)}`);
