// Scenario 5 (issue 16), hostile input: malformed task messages (test/helpers/hostile-messages.ts,
// seeded mutations of Celery 5.7's own envelopes) interleaved with valid ones on one Redis queue,
// consumed by our worker started through the CLI (`ts-celery worker -A test/interop/ts/tasks.ts`).
// Every valid task must be done; every bad one rejected once — one log line, never requeued — with
// a FAILURE stored where its task id is readable; the worker's memory bounded and the worker alive.
// Two corrupt entries in kombu's `unacked` hash ride along: the visibility sweep must drop each
// once with a log line instead of failing on it at every sweep.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { storedStates, waitUntil, type ChaosRow } from './common.js';
import { HOSTILE_KINDS, hostileMessages, validMessage } from '../../test/helpers/hostile-messages.js';
import { startTsWorker } from '../../test/helpers/ts-worker.js';

export interface HostileOptions {
  /** Broker and result backend (one db). */
  url: string;
  /** global_keyprefix of both: every key of the run starts with it. */
  prefix: string;
  /** Names the queue and the worker node. */
  token: string;
  bad: number;
  good: number;
  seed?: number;
  /** How many 20 MB bodies among the bad messages (default 0). */
  huge?: number;
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface HostileReport extends ChaosRow {
  goodDone: number;
  /** Bad messages logged as rejected (the worker's own count of them, from its log). */
  badRejected: number;
  /** Bad messages with a readable id, and how many of them got a FAILURE stored. */
  readableIds: number;
  failuresStored: number;
  /** Stored FAILUREs by exception type, and one task id of each type. */
  excTypes: Record<string, number>;
  sampleIds: Record<string, string>;
  /** Rejection log lines per bad message (1 = exactly one each). */
  linesPerBad: number;
  /** Log lines that are not one well-formed, bounded line (forged, multi-line, over 2000 chars). */
  badLines: string[];
  peakRssMiB: number;
  leftInQueue: number;
  leftUnacked: number;
  workerAlive: boolean;
  seconds: number;
  lines: string[];
}

const TASK = 'ts.add';
/** Every rejection the worker logs, one per bad message (log-lines.ts). */
const REJECTION = /Received invalid task message|Discarded an undecodable broker message|Rejected message|Received unregistered task/;
/** A line as the worker's logger writes it: `[time: LEVEL/Process] …`. */
const WELL_FORMED = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}: (DEBUG|INFO|WARNING|ERROR|CRITICAL)\/\w+\] /;
const CORRUPT_UNACKED = ['{"body": not json', '[1, 2, 3]'];

async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
}

export async function hostileInput(opts: HostileOptions): Promise<HostileReport> {
  const { prefix } = opts;
  const queue = `${opts.token}-q`;
  const target = { queue, task: TASK };
  const redis = new Redis(opts.url);
  const started = Date.now();
  // Corrupt unacked entries, older than any visibility timeout: the first sweep meets them.
  for (const [i, value] of CORRUPT_UNACKED.entries()) {
    await redis.multi().hset(`${prefix}unacked`, `corrupt-${i}`, value).zadd(`${prefix}unacked_index`, 0, `corrupt-${i}`).exec();
  }
  // The whole log, in a file: a child's captured output keeps only its last megabyte.
  const logDir = await mkdtemp(join(tmpdir(), 'ts-celery-hostile-'));
  const logFile = join(logDir, 'worker.log');
  const readLines = async () => (await readFile(logFile, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  const worker = await startTsWorker({
    app: 'test/interop/ts/tasks.ts',
    queues: [queue],
    nodeName: `${opts.token}@localhost`,
    env: { BROKER_URL: opts.url, RESULT_BACKEND: opts.url, KEYPREFIX: prefix, DEFAULT_QUEUE: queue },
    extraArgs: ['--without-heartbeat', '--without-gossip', '-f', logFile],
    // The banner still goes to stdout; its task list ends it.
    readyText: '. ts.add',
  });
  try {
    await waitUntil('the worker to be ready', async () => (await readLines()).some((l) => l.endsWith(' ready.')), 20_000, 50);
    const goodIds: string[] = [];
    const readable: string[] = [];
    const every = Math.max(1, Math.floor(opts.bad / Math.max(1, opts.good)));
    let batch = redis.pipeline();
    let batchBytes = 0;
    const flush = async () => {
      if (batch.length) await batch.exec();
      batch = redis.pipeline();
      batchBytes = 0;
    };
    const push = async (raw: string) => {
      batch.lpush(`${prefix}${queue}`, raw);
      batchBytes += raw.length;
      if (batch.length >= 500 || batchBytes > 4 * 1024 * 1024) await flush();
    };
    let i = 0;
    for (const m of hostileMessages({ seed: opts.seed ?? 16, count: opts.bad, target, huge: opts.huge })) {
      if (m.readableId) readable.push(m.readableId);
      await push(m.raw);
      if (++i % every === 0 && goodIds.length < opts.good) {
        const id = `${opts.token}-good-${goodIds.length}`;
        goodIds.push(id);
        await push(validMessage(target, id, [goodIds.length, 1]));
      }
    }
    while (goodIds.length < opts.good) {
      const id = `${opts.token}-good-${goodIds.length}`;
      goodIds.push(id);
      await push(validMessage(target, id, [goodIds.length, 1]));
    }
    await flush();
    opts.log?.(`pushed ${opts.bad} bad and ${opts.good} good messages in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const rejections = async () => (await readLines()).filter((l) => REJECTION.test(l)).length;
    const expectedLines = opts.bad + CORRUPT_UNACKED.length;
    let goodStates = new Map<string, string>();
    await waitUntil(
      'every good task done and every bad message rejected',
      async () => {
        if (!worker.running) return true;
        goodStates = await storedStates(redis, goodIds, prefix);
        return goodStates.size === goodIds.length && (await rejections()) >= expectedLines && (await redis.llen(`${prefix}${queue}`)) === 0;
      },
      opts.timeoutMs ?? 600_000,
      opts.bad > 10_000 ? 2000 : 200,
    ).catch((error: Error) => opts.log?.(error.message));
    // Every FAILURE is stored right after its rejection line; the unacked entries go with their acks.
    await waitUntil('the FAILUREs and acks to land', async () => (await storedStates(redis, readable, prefix)).size === readable.length && (await redis.hlen(`${prefix}unacked`)) === 0, 10_000, 100).catch(() => undefined);
    const seconds = (Date.now() - started) / 1000;
    const badStates = await storedStates(redis, readable, prefix);
    const excTypes: Record<string, number> = {};
    const sampleIds: Record<string, string> = {};
    for (let j = 0; j < readable.length; j += 5000) {
      const ids = readable.slice(j, j + 5000);
      const values = await redis.mget(ids.map((id) => `${prefix}celery-task-meta-${id}`));
      values.forEach((v, k) => {
        if (v === null) return;
        const meta = JSON.parse(v) as { status: string; result?: { exc_type?: string } };
        if (meta.status !== 'FAILURE') return;
        const type = meta.result?.exc_type ?? '?';
        excTypes[type] = (excTypes[type] ?? 0) + 1;
        sampleIds[type] ??= ids[k]!;
      });
    }
    const peak = await peakRssMiB(worker.pid);
    const workerAlive = worker.running;
    const leftInQueue = await redis.llen(`${prefix}${queue}`);
    const leftUnacked = await redis.hlen(`${prefix}unacked`);
    const lines = await readLines();
    const badRejected = lines.filter((l) => REJECTION.test(l)).length - CORRUPT_UNACKED.length;
    const goodDone = [...goodStates.values()].filter((s) => s === 'SUCCESS').length;
    const failuresStored = [...badStates.values()].filter((s) => s === 'FAILURE').length;
    return {
      scenario: `Hostile input: ${HOSTILE_KINDS.length} kinds of malformed message among valid ones (Redis, CLI worker)`,
      n: opts.bad,
      lost: opts.good - goodDone,
      duplicates: Math.max(0, badRejected - opts.bad),
      resumeMs: null,
      note: `${goodDone}/${opts.good} valid done; ${failuresStored}/${readable.length} FAILUREs stored; ${(badRejected / opts.bad).toFixed(2)} log lines per bad message; peak RSS ${peak.toFixed(0)} MiB`,
      goodDone,
      badRejected,
      readableIds: readable.length,
      failuresStored,
      excTypes,
      sampleIds,
      linesPerBad: badRejected / opts.bad,
      // From "ready." on: the start-up banner above it is not a log line.
      badLines: lines.filter((l) => !WELL_FORMED.test(l) || l.length > 2000),
      peakRssMiB: peak,
      leftInQueue,
      leftUnacked,
      workerAlive,
      seconds,
      lines,
    };
  } finally {
    await worker.stop().catch(() => undefined);
    redis.disconnect();
    await rm(logDir, { recursive: true, force: true });
  }
}
