// Several `ts-celery beat` processes with the DEFAULT scheduler (no flag) on one Redis broker,
// and several `ts-celery worker -B`: one leads, the others stand by, and when the leader is
// SIGKILLed a standby takes over from the state the leader left in Redis. Every slot of a 1 s
// entry is sent exactly once: each message is a new task, each send is logged by one beat only,
// no two arrive closer than a slot apart, and the shared run count equals the messages.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { Celery } from '../../src/app.js';
import type { BeatClock } from '../../src/beat/beat.js';
import { setUpBeat } from '../../src/beat/beat-setup.js';
import { silentLogger } from '../../src/log.js';
import { pollUntil, REPO_ROOT } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';
import { startTsBeat, startTsWorker, type TsProcess } from '../helpers/ts-worker.js';

const claim = claimRedis('beat-default-leader');
const { url, token } = claim;
const LOCK_TIMEOUT_S = 2;
const dirs: string[] = [];

after(async () => {
  await claim.deleteKeys(token);
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** An app module: a Redis broker under its own global_keyprefix and a 1 s entry. */
async function appModule(name: string, withTask = false) {
  const dir = await mkdtemp(join(tmpdir(), 'beat-leader-'));
  dirs.push(dir);
  const prefix = `${token}-${name}:`;
  const queue = `beat-leader-${token}-${name}`;
  const file = join(dir, 'app.ts');
  await writeFile(
    file,
    `import { Celery } from ${JSON.stringify(resolve(REPO_ROOT, 'src/index.ts'))};
export const app = new Celery({
  broker_url: ${JSON.stringify(url)},
  broker_transport_options: { global_keyprefix: ${JSON.stringify(prefix)} },
  task_default_queue: ${JSON.stringify(queue)},
  beat_lock_timeout: ${LOCK_TIMEOUT_S},
  beat_schedule: { tick: { task: 'leader.tick', schedule: 1 } },
});
${withTask ? "app.task('leader.tick', () => 'tock');" : ''}
`,
  );
  return { file, prefix, queue };
}

interface Arrival {
  at: number;
  id: string;
}

/** Pops every message beat publishes to the queue, with its arrival time (own connection). */
function collect(prefix: string, queue: string) {
  const redis = new Redis(url);
  const arrivals: Arrival[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const popped = await redis.brpop(`${prefix}${queue}`, 0.2);
      if (popped) arrivals.push({ at: Date.now(), id: (JSON.parse(popped[1]).headers as { id: string }).id });
    }
  })();
  return {
    arrivals,
    stop: async () => {
      running = false;
      await done;
      redis.disconnect();
    },
  };
}

const SENT = /Scheduler: Sending due task tick \(leader\.tick\)/g;
const sends = (p: TsProcess) => p.logs().match(SENT)?.length ?? 0;
const leads = (p: TsProcess) => /leads: acquired lock/.test(p.logs());

/** Each message a new task, no two closer than half a slot: no slot was sent twice. */
function assertEachSlotOnce(arrivals: Arrival[]) {
  assert.equal(new Set(arrivals.map((a) => a.id)).size, arrivals.length, 'every message is a new task id');
  const gaps = arrivals.slice(1).map((a, i) => a.at - arrivals[i]!.at);
  const tooClose = gaps.findIndex((g) => g < 500);
  assert.equal(tooClose, -1, `sends ${tooClose}→${tooClose + 1} only ${gaps[tooClose]} ms apart (a slot sent twice): ${JSON.stringify(arrivals)}`);
  return gaps;
}

for (const count of [2, 3]) {
  test(`${count} default beats on one Redis: one leads, a SIGKILLed leader is replaced, every slot sent once`, async () => {
    const { file, prefix, queue } = await appModule(`b${count}`);
    const consumer = collect(prefix, queue);
    const redis = new Redis(url);
    const beats: TsProcess[] = [];
    try {
      beats.push(...(await Promise.all(Array.from({ length: count }, () => startTsBeat(['-A', file])))));
      const leader = await pollUntil('a leader', () => beats.find(leads), { timeoutMs: 10_000 });
      const standbys = beats.filter((b) => b !== leader);
      for (const s of standbys) await s.waitForLog(`${leader.pid} leads (lock`, 10_000);
      await pollUntil('10 sends', () => consumer.arrivals.length >= 10, { timeoutMs: 20_000 });
      assert.equal(standbys.map(sends).reduce((a, b) => a + b), 0, 'standbys send nothing while the leader lives');

      leader.kill('SIGKILL');
      const killedAt = Date.now();
      const beforeKill = consumer.arrivals.filter((a) => a.at <= killedAt).length;
      const successor = await pollUntil('a standby takes over', () => standbys.find((s) => /took over as leader/.test(s.logs())), { timeoutMs: 15_000 });
      await pollUntil('10 sends after the takeover', () => consumer.arrivals.filter((a) => a.at > killedAt).length >= 10, { timeoutMs: 20_000 });
      for (const b of standbys) assert.equal((await b.stop()).code, 0, b.logs());
      await consumer.stop();

      const arrivals = consumer.arrivals;
      const gaps = assertEachSlotOnce(arrivals);
      const logged = beats.map(sends).reduce((a, b) => a + b);
      assert.equal(logged, arrivals.length, 'each message was sent by exactly one beat');
      assert.equal(standbys.filter((s) => s !== successor).map(sends).reduce((a, b) => a + b, 0), 0, 'only the successor sent after the kill');
      const meta = JSON.parse((await redis.hget(`${prefix}ts-celery-beat:tick`, 'meta'))!) as { total_run_count: number };
      // A leader killed between recording a slot and publishing it loses that one send (at most once).
      assert.ok(meta.total_run_count === arrivals.length || meta.total_run_count === arrivals.length + 1, `run count ${meta.total_run_count} for ${arrivals.length} messages`);
      const takeover = arrivals.find((a) => a.at > killedAt)!.at - killedAt;
      const span = (arrivals.at(-1)!.at - arrivals[0]!.at) / 1000;
      console.log(
        `# ${count} beats: ${arrivals.length} sends in ${span.toFixed(1)} s (${beforeKill} before the kill), ` +
          `no duplicate; takeover ${takeover} ms after SIGKILL (lock ${LOCK_TIMEOUT_S} s); gaps ${Math.min(...gaps)}–${Math.max(...gaps)} ms`,
      );
    } finally {
      for (const b of beats) b.kill('SIGKILL');
      await consumer.stop();
      redis.disconnect();
    }
  });
}

test('worker -B on two workers: one embedded beat leads, each slot runs once', async () => {
  const { file, prefix, queue } = await appModule('wb', true);
  const workers: TsProcess[] = [];
  try {
    for (const n of [1, 2]) {
      workers.push(await startTsWorker({ app: file, queues: [queue], nodeName: `wb${n}-${token}@localhost`, env: {}, extraArgs: ['-B'] }));
    }
    const succeeded = () => workers.map((w) => w.logs().match(/Task leader\.tick\[[0-9a-f-]+\] succeeded/g)?.length ?? 0).reduce((a, b) => a + b);
    await pollUntil('6 ticks run', () => succeeded() >= 6, { timeoutMs: 20_000 });
    const leaders = workers.filter(leads);
    assert.equal(leaders.length, 1, workers.map((w) => w.logs()).join('\n---\n'));
    assert.match(workers.find((w) => w !== leaders[0])!.logs(), new RegExp(`is standing by: wb\\d-${token}@localhost leads`));
    for (const w of workers) assert.equal((await w.stop()).code, 0, w.logs());
    const sent = workers.map(sends);
    assert.equal(sent.filter((n) => n > 0).length, 1, `one beat sends: ${sent}`);
    const ids = workers.flatMap((w) => [...w.logs().matchAll(/Task leader\.tick\[([0-9a-f-]+)\] received/g)].map((m) => m[1]));
    assert.equal(new Set(ids).size, ids.length, 'no task received twice');
    assert.equal(ids.length, sent.reduce((a, b) => a + b), 'every send received once');
  } finally {
    for (const w of workers) w.kill('SIGKILL');
  }
});

test('-s FILE beside the shared state: the file seeds what Redis lacks and keeps a copy', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'beat-leader-file-'));
  dirs.push(dir);
  const stateFile = join(dir, 'state.json');
  const prefix = `${token}-file:`;
  const T = Date.parse('2026-01-05T10:00:00Z');
  await writeFile(
    stateFile,
    JSON.stringify({ version: 1, tz: 'UTC', utc_enabled: true, entries: { tick: { last_run_at: new Date(T - 500).toISOString(), total_run_count: 41 } } }),
  );
  const app = new Celery({ broker_url: url, broker_transport_options: { global_keyprefix: prefix }, beat_schedule: { tick: { task: 'leader.tick', schedule: 1 } } });
  let now = T;
  const controller = new AbortController();
  const clock: BeatClock = {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
      if (now > T + 600) controller.abort();
      await new Promise((r) => setImmediate(r));
    },
  };
  const sent: number[] = [];
  app.sendTask = async () => (sent.push(now), { id: `id-${sent.length}` }) as never;
  try {
    const setup = setUpBeat(app, { scheduleFile: stateFile, clock, logger: silentLogger });
    assert.match(setup.description, /state shared on the broker .* \(copied to .*state\.json\), leader lock /);
    await setup.beat.run(controller.signal);
    await setup.close();
    assert.deepEqual(sent, [T + 500], 'the slot after the file\'s last run, once');
    const file = JSON.parse(await readFile(stateFile, 'utf8'));
    assert.equal(file.entries.tick.total_run_count, 42);
    const listed = setUpBeat(app, { readOnly: true, clock, logger: silentLogger });
    await listed.scheduler.start();
    const [run] = await listed.scheduler.upcoming();
    await listed.close();
    assert.equal(run!.state.totalRunCount, 42, 'the shared state in Redis moved on too');
  } finally {
    await app.close();
    await claim.deleteKeys(prefix);
  }
});
