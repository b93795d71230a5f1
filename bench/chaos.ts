// `npm run chaos`: the fault scenarios at full scale, each on private redis-servers (spare ports,
// temp dirs; the shared Redis is never touched), printed as the README's Reliability table.
//   CHAOS_N (default 20000) tasks per scenario.
import { backendDown } from './chaos/backend-down.js';
import { brokerRestart } from './chaos/broker-restart.js';
import { type ChaosRow, formatTable } from './chaos/common.js';

const N = Number(process.env.CHAOS_N ?? 20000);
const rows: ChaosRow[] = [];
const run = async (row: Promise<ChaosRow>) => {
  const r = await row;
  rows.push({ scenario: r.scenario, n: r.n, lost: r.lost, duplicates: r.duplicates, resumeMs: r.resumeMs, note: r.note });
  console.log(`${r.scenario}: lost ${r.lost}, duplicates ${r.duplicates}, resume ${r.resumeMs} ms (${r.note ?? ''})`);
};
await run(brokerRestart({ n: N, acksLate: true }));
await run(brokerRestart({ n: N, acksLate: false }));
await run(backendDown({ n: N }));
console.log(`\n${formatTable(rows)}`);
