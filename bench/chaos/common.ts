// Shared pieces of the fault scenarios (`npm run chaos`, and their small-scale runs in `npm test`):
// the table row each scenario reports, waits on state, and counting what a run left behind.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';

/** One line of the Reliability table. */
export interface ChaosRow {
  scenario: string;
  n: number;
  /** Tasks with no stored final state at the end. */
  lost: number;
  /** Executions beyond the first, over all tasks. */
  duplicates: number;
  /** From the fault's end to the first task completed afterwards (ms); null when not applicable. */
  resumeMs: number | null;
  /** Anything else the run measured (one short phrase). */
  note?: string;
}

export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** How many of `ids` have a SUCCESS/FAILURE stored under Celery's key (`celery-task-meta-<id>`), by status. */
export async function storedStates(redis: Redis, ids: readonly string[], keyPrefix = ''): Promise<Map<string, string>> {
  const states = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 5000) {
    const chunk = ids.slice(i, i + 5000);
    const raw = await redis.mget(chunk.map((id) => `${keyPrefix}celery-task-meta-${id}`));
    raw.forEach((value, j) => {
      if (value !== null) states.set(chunk[j]!, (JSON.parse(value) as { status: string }).status);
    });
  }
  return states;
}

/** Executions beyond the first, from a per-id count. */
export function duplicatesIn(counts: Iterable<number>): number {
  let extra = 0;
  for (const c of counts) extra += Math.max(0, c - 1);
  return extra;
}

/** The resident set of a process, in MiB (Linux /proc). */
export async function rssMiB(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

export function formatTable(rows: readonly ChaosRow[]): string {
  const head = ['scenario', 'N', 'lost', 'duplicates', 'time to resume', 'notes'];
  const body = rows.map((r) => [r.scenario, r.n.toLocaleString('en-US'), String(r.lost), String(r.duplicates), r.resumeMs === null ? '—' : `${(r.resumeMs / 1000).toFixed(2)} s`, r.note ?? '']);
  return [head, head.map(() => '---'), ...body].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}
