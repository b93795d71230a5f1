// The ts-celery command line as a user meets it (node --import tsx src/cli/main.ts, stdin not a
// TTY): help, one-line errors for bad flags, unreachable brokers and bad -A modules, module
// loading (.ts with :export, plain .mjs with a default export), and call/result/purge/demo
// against the real Redis and a worker started through the CLI.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { Celery, type TaskError } from '../../src/index.js';
import { pollUntil, REPO_ROOT } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';
import { runCli, startTsWorker, type CliRun, type TsWorker } from '../helpers/ts-worker.js';
import { configFromEnv } from '../interop/ts/env-config.js';

const { url, token, prefix } = claimRedis('cli');
const queue = `cli-${token}`;
const nodeName = `cli-${token}@localhost`;
const PLAIN = 'test/interop/ts/cli-plain.mjs';
const env = { BROKER_URL: url, RESULT_BACKEND: url, KEYPREFIX: prefix, DEFAULT_QUEUE: queue };
const UNREACHABLE = 'redis://127.0.0.1:1/0';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const redis = new Redis(url);
let worker: TsWorker | undefined;
let client: Celery;
let scratch: string;

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), `ts-celery-cli-${token}-`));
  client = new Celery(configFromEnv(env));
  // The plain-JavaScript module is the worker every call/result test talks to.
  worker = await startTsWorker({ app: PLAIN, queues: [queue], nodeName, env, concurrency: 2 });
});

after(async () => {
  try {
    await client?.close();
    if (worker) assert.deepEqual(await worker.stop(), { code: 0, signal: null });
  } finally {
    worker?.kill();
    rmSync(scratch, { recursive: true, force: true });
    const keys = [...(await redis.keys(`${prefix}*`)), ...(await redis.keys(`*${token}*`))];
    if (keys.length > 0) await redis.del(...new Set(keys));
    redis.disconnect();
  }
});

/** Runs the commands at most `width` at a time (2 cores). */
async function inBatches<T, R>(items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

function describe(args: string[], run: CliRun): string {
  return `ts-celery ${args.join(' ')} → code ${run.code} signal ${run.signal} in ${run.ms} ms\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
}

/** Why `run` is not a proper failure (non-zero exit, one `error: …` line on stderr matching `reason`), or null. */
function oneLineErrorProblem(args: string[], run: CliRun, reason?: RegExp): string | null {
  const lines = run.stderr.split('\n').filter((l) => l.trim() !== '');
  if (run.code === 0 || run.code === null) return `expected a non-zero exit: ${describe(args, run)}`;
  if (lines.length !== 1) return `expected exactly one line on stderr, got ${lines.length}: ${describe(args, run)}`;
  if (!/^error: /.test(lines[0]!)) return `expected 'error: …': ${describe(args, run)}`;
  if (reason && !reason.test(lines[0]!)) return `expected the reason to match ${reason}: ${describe(args, run)}`;
  return null;
}

function assertOneLineError(args: string[], run: CliRun, reason?: RegExp): void {
  const problem = oneLineErrorProblem(args, run, reason);
  assert.equal(problem, null, problem ?? '');
}

/** Table-driven checks report every failing row at once, not only the first. */
function assertNoProblems(problems: Array<string | null>): void {
  const found = problems.filter((p): p is string => p !== null);
  assert.equal(found.length, 0, `${found.length} problem(s):\n\n${found.join('\n\n')}`);
}

test('--help on every command exits 0 and shows its usage', async () => {
  const commands = [[], ['worker'], ['call'], ['result'], ['purge'], ['demo']];
  const runs = await inBatches(commands, 3, (c) => runCli([...c, '--help']));
  commands.forEach((c, i) => {
    const run = runs[i]!;
    const where = describe([...c, '--help'], run);
    assert.equal(run.code, 0, where);
    assert.match(run.stdout, new RegExp(`^Usage: ts-celery ${c.length ? c[0] : ''}`), where);
  });
  assert.match(runs[1]!.stdout, /-A, --app <module>/);
  assert.match(runs[1]!.stdout, /-Q, --queues/);
  assert.match(runs[2]!.stdout, /--wait/);
  assert.match(runs[4]!.stdout, /-f, --force/);
});

test('a bad flag: one-line error naming it, non-zero exit', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['worker', '-A', PLAIN, '-c', 'zero'], /concurrency.*'zero'/],
    [['worker', '-A', PLAIN, '--bogus'], /unknown option '--bogus'/],
    [['worker', '-A', PLAIN, '--log-format', 'xml'], /--log-format.*'xml'/],
    [['worker', '-A', PLAIN, '-l', 'LOUD'], /LOUD/],
    [['worker'], /-A, --app/],
    [['call', 'cli.add', '-a', '{bad'], /--args must be JSON/],
    [['call', 'cli.add', '-k', '[1]'], /--kwargs must be a JSON object/],
    [['no-such-command'], /unknown command 'no-such-command'/],
  ];
  const runs = await inBatches(cases, 3, ([args]) => runCli(args, { env }));
  assertNoProblems(
    cases.map(([args, reason], i) => oneLineErrorProblem(args, runs[i]!, reason) ?? (runs[i]!.stdout === '' ? null : `stdout not empty: ${describe(args, runs[i]!)}`)),
  );
});

// A worker or beat waits for its broker instead (broker_connection_retry_on_startup):
// test/integration/startup-retry.test.ts.
test('an unreachable broker or backend (call, purge, result): one-line reason naming it, non-zero exit within a few seconds', async () => {
  const cases = [
    ['call', 'cli.add', '-a', '[1,2]', '-b', UNREACHABLE],
    ['purge', '-Q', queue, '-f', '-b', UNREACHABLE],
    ['result', '00000000-0000-4000-8000-000000000001', '-b', UNREACHABLE, '--result-backend', UNREACHABLE],
  ];
  // The same process start-up, with nothing to connect to: what "at once" costs on this machine
  // right now (a loaded CI box and a cold TypeScript cache make it seconds).
  // The bound is generous (twice the start-up plus 10 s: a busy machine's start-up varies a lot
  // from run to run) and still far below what a retry loop costs: Celery's default is 100
  // connection retries with a growing back-off, minutes in all.
  const baseline = await runCli(['worker', '--help'], { env, timeoutMs: 60_000 });
  const runs = await inBatches(cases, 2, (args) => runCli(args, { env, timeoutMs: 60_000 }).catch((error: Error) => error));
  const allowed = 2 * baseline.ms + 10_000;
  assertNoProblems(
    cases.map((args, i) => {
      const run = runs[i]!;
      if (run instanceof Error) return run.message;
      // A refused connection is known at once (no retry loop); Celery's own CLI reports it in one line.
      return oneLineErrorProblem(args, run, /127\.0\.0\.1:1\b/) ?? (run.ms < allowed ? null : `gave up only after ${run.ms} ms (start-up alone: ${baseline.ms} ms): ${describe(args, run)}`);
    }),
  );
});

test('no broker configured: commands that reach other processes say so and exit non-zero instead of using memory://', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['call', 'tasks.add', '-a', '[1,2]'], /^error: ts-celery call: no broker configured: pass -b URL .*CELERY_BROKER_URL.* broker_url$/],
    [['inspect', 'ping', '-t', '0.2'], /ts-celery inspect: no broker configured/],
    [['control', 'enable_events', '-t', '0.2'], /ts-celery control: no broker configured/],
    [['status', '-t', '0.2'], /ts-celery status: no broker configured/],
    [['events', '--duration', '0.2'], /ts-celery events: no broker configured/],
    [['purge', '-f'], /ts-celery purge: no broker configured/],
    [['result', '00000000-0000-4000-8000-000000000001', '--timeout', '0.2'], /ts-celery result: no result backend configured: pass --result-backend URL/],
  ];
  const runs = await inBatches(cases, 2, ([args]) => runCli(args, { timeoutMs: 30_000 }));
  assertNoProblems(cases.map(([args, reason], i) => oneLineErrorProblem(args, runs[i]!, reason)));
});

test('`events --dump` (as documented) captures; a reader that closes early (`| head`) ends the output quietly', async () => {
  const dump = await runCli(['events', '--dump', '--duration', '0.5', '-A', PLAIN], { env });
  assert.equal(dump.code, 0, describe(['events', '--dump'], dump));
  assert.match(dump.stdout, /^-> evdump: starting capture\.\.\.\n/);
  // `| true` closes the pipe before the first write: EPIPE on every write.
  const cli = `${JSON.stringify(process.execPath)} --import tsx src/cli/main.ts`;
  for (const command of [`${cli} inspect --list | true`, `${cli} inspect stats -A ${PLAIN} -t 1 | true`]) {
    const piped = await new Promise<{ code: string; stderr: string }>((resolveRun, reject) =>
      execFile('bash', ['-c', `${command}; echo "\${PIPESTATUS[0]}"`], { cwd: REPO_ROOT, env: { ...process.env, ...env } }, (error, stdout, stderr) =>
        error ? reject(error) : resolveRun({ code: stdout.trim(), stderr }),
      ),
    );
    assert.deepEqual(piped, { code: '0', stderr: '' }, command);
  }
});

test('-A problems: missing module, no app exported, missing named export, module that fails to import → one-line reason', async () => {
  const syntax = join(scratch, 'syntax-error.ts');
  writeFileSync(syntax, 'export const app = {;\n');
  const missingDep = join(scratch, 'missing-dep.ts');
  writeFileSync(missingDep, "import 'no-such-package-for-ts-celery';\nexport const app = 1;\n");
  const throws = join(scratch, 'throws.mjs');
  writeFileSync(throws, "throw new Error('boom while importing');\n");
  const cases: Array<[string[], RegExp]> = [
    [['worker', '-A', './test/interop/ts/no-such-module.ts'], /cannot find the tasks module '\.\/test\/interop\/ts\/no-such-module\.ts'/],
    [['worker', '-A', './test/interop/ts/cli-no-app.ts'], /cli-no-app\.ts' exports no Celery app/],
    [['worker', '-A', './test/interop/ts/cli-named.ts:nothere'], /no export 'nothere'/],
    [['worker', '-A', throws], /boom while importing/],
    [['worker', '-A', syntax], /syntax-error\.ts/],
    [['worker', '-A', missingDep], /no-such-package-for-ts-celery/],
  ];
  const runs = await inBatches(cases, 3, ([args]) => runCli(args, { env }));
  assertNoProblems(cases.map(([args, reason], i) => oneLineErrorProblem(args, runs[i]!, reason)));
});

test('--logfile appends the log to a file, --pidfile holds the pid and keeps a second worker out', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-files-'));
  // Given as Celery's templates (%n = the node name's name part, %I = '-<process index>' or ''), as `celery multi` writes them.
  const logfile = join(dir, `cli-files-${token}.log`);
  const pidfile = join(dir, `cli-files-${token}.pid`);
  const files = await startTsWorker({
    app: PLAIN,
    queues: [`cli-files-${token}`],
    nodeName: `cli-files-${token}@localhost`,
    env,
    extraArgs: ['--logfile', join(dir, '%n%I.log'), '--pidfile', join(dir, '%n.pid'), '-O', 'fair'],
    readyText: '[tasks]',
  });
  try {
    await pollUntil('ready. in the log file', () => existsSync(logfile) && readFileSync(logfile, 'utf8').includes(`cli-files-${token}@localhost ready.`));
    assert.equal(readFileSync(pidfile, 'utf8').trim(), String(files.pid));
    const second = await runCli(['worker', '-A', PLAIN, '-Q', `cli-files-${token}`, '--pidfile', pidfile], { env });
    assertOneLineError(['worker', '--pidfile'], second, new RegExp(`Pidfile \\(${pidfile}\\) already exists\\. Seems we're already running\\? \\(pid: ${files.pid}\\)`));
  } finally {
    assert.deepEqual(await files.stop(), { code: 0, signal: null }, files.logs());
    assert.match(readFileSync(logfile, 'utf8'), /Warm shutdown/);
    assert.equal(existsSync(pidfile), false, 'the pidfile is removed at exit');
    assert.doesNotMatch(files.logs(), /ready\./, 'log lines went to the file only');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('worker --processes 2: two workers named name-1@host and name-2@host under one process; SIGTERM stops both', async () => {
  const procQueue = `cli-procs-${token}`;
  const group = await startTsWorker({
    app: PLAIN,
    queues: [procQueue],
    nodeName: `cli-procs-${token}@localhost`,
    env,
    extraArgs: ['--processes', '2'],
    readyText: `cli-procs-${token}-1@localhost ready.`,
  });
  try {
    await pollUntil('both processes ready', () => group.logs().includes(`cli-procs-${token}-2@localhost ready.`));
    const results = await Promise.all([1, 2, 3, 4].map(async (i) => (await client.sendTask('cli.add', [i, 1], {}, { queue: procQueue })).get({ timeout: 10 })));
    assert.deepEqual(results, [2, 3, 4, 5]);
  } finally {
    assert.deepEqual(await group.stop(), { code: 0, signal: null }, group.logs());
  }
  assert.equal(group.logs().match(/Warm shutdown/g)?.length, 2, group.logs());
});

test('--statedb (-S): a task revoked before a restart is still discarded after it; a file that is not ours is refused', async () => {
  // Celery's %n: the node name's name part, so each worker of a host keeps its own file.
  const statedb = join(scratch, '%n.state');
  const stateFile = join(scratch, `cli-state-${token}.state`);
  const stateQueue = `cli-state-${token}`;
  // --without-mingle: no other worker may hand the revoked id back; only the file can.
  const start = () =>
    startTsWorker({ app: PLAIN, queues: [stateQueue], nodeName: `cli-state-${token}@localhost`, env, extraArgs: ['-S', statedb, '--without-mingle'] });
  const first = await start();
  const id = randomUUID();
  await client.control.revoke(id, { destination: [`cli-state-${token}@localhost`], reply: true, timeout: 5 });
  assert.deepEqual(await first.stop(), { code: 0, signal: null }, first.logs());
  const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as { revoked: [string, number][]; clock: number };
  assert.deepEqual(saved.revoked.map(([revokedId]) => revokedId), [id]);
  assert.ok(saved.clock > 0);

  const second = await start();
  try {
    const r = await client.sendTask('cli.add', [1, 2], {}, { queue: stateQueue, task_id: id });
    await assert.rejects(r.get({ timeout: 10 }), (e: TaskError) => e.excType === 'TaskRevokedError');
    assert.equal(await (await client.sendTask('cli.add', [2, 2], {}, { queue: stateQueue })).get({ timeout: 10 }), 4);
  } finally {
    assert.deepEqual(await second.stop(), { code: 0, signal: null }, second.logs());
  }
  // A Python statedb (a pickled shelve) is not read, not overwritten.
  const python = join(scratch, 'python.state');
  writeFileSync(python, Buffer.from([0x80, 0x04, 0x95, 0x00]));
  const refused = await runCli(['worker', '-A', PLAIN, '-Q', stateQueue, '-S', python, '--without-mingle'], { env });
  assertOneLineError(['worker', '-S'], refused, /--statedb .*python\.state is not ts-celery's worker state/);
  assert.deepEqual(readFileSync(python), Buffer.from([0x80, 0x04, 0x95, 0x00]));
  // --processes N workers would share one file: refused, naming the way out.
  const shared = await runCli(['worker', '-A', PLAIN, '-Q', stateQueue, '--processes', '2', '-S', join(scratch, 'one.state')], { env });
  assertOneLineError(['worker', '--processes', '-S'], shared, /--statedb with --processes 2: give each worker a file of its own, e\.g\. --statedb .*one\.state\.%n/);
});

test('REMAP_SIGTERM=SIGQUIT makes SIGTERM a cold shutdown, as in Celery', async () => {
  const remapped = await startTsWorker({
    app: PLAIN,
    queues: [`cli-remap-${token}`],
    nodeName: `cli-remap-${token}@localhost`,
    env: { ...env, REMAP_SIGTERM: 'SIGQUIT' },
  });
  remapped.kill('SIGTERM');
  assert.deepEqual(await remapped.exited(), { code: 0, signal: null }, remapped.logs());
  assert.match(remapped.logs(), /Cold shutdown/);
  assert.doesNotMatch(remapped.logs(), /Warm shutdown/);
});

test('a plain .mjs tasks module exporting its app as default loads and serves its tasks', async () => {
  // The module-level worker: its banner lists exactly the .mjs module's tasks.
  const logs = worker!.logs();
  assert.match(logs, /\[tasks\]\n {2}\. cli\.add\n {2}\. cli\.fail\n/);
  assert.match(logs, new RegExp(`${nodeName} ready\\.`));
  assert.equal(await (await client.sendTask('cli.add', [40, 2])).get({ timeout: 10 }), 42);
});

test('-A ./file.ts:named picks the named export (and -b/--result-backend win over the module config; --log-format json)', async () => {
  const namedQueue = `cli-named-${token}`;
  const named = await startTsWorker({
    app: './test/interop/ts/cli-named.ts:other',
    queues: [namedQueue],
    nodeName: `cli-named-${token}@localhost`,
    // The module's own config points at an unreachable broker: only the flags make it work.
    env: { ...env, BROKER_URL: UNREACHABLE, RESULT_BACKEND: UNREACHABLE },
    extraArgs: ['-b', url, '--result-backend', url, '--log-format', 'json'],
  });
  try {
    const r = await client.sendTask('cli.named.other_app', [], {}, { queue: namedQueue });
    assert.equal(await r.get({ timeout: 10 }), 'other');
    await named.waitForLog(`Task cli.named.other_app[${r.id}] succeeded`, 5000);
    const lines = named.logs().split('\n').filter((l) => l.trim() !== '');
    for (const line of lines) {
      const entry = JSON.parse(line) as { level: string; message: string };
      assert.ok(typeof entry.level === 'string' && typeof entry.message === 'string', line);
    }
    assert.doesNotMatch(named.logs(), /cli\.named\.default_app/);
  } finally {
    assert.deepEqual(await named.stop(), { code: 0, signal: null }, named.logs());
  }
});

test("call NAME -a '[2,3]' --wait prints the result; a failing task gives a one-line error with the Python type", async () => {
  const ok = ['call', 'cli.add', '-a', '[2,3]', '--wait', '--timeout', '10', '-A', PLAIN];
  const fail = ['call', 'cli.fail', '-a', '["disk full"]', '--wait', '--timeout', '10', '-A', PLAIN];
  const [okRun, failRun] = await inBatches([ok, fail], 2, (args) => runCli(args, { env }));
  assert.equal(okRun!.code, 0, describe(ok, okRun!));
  assert.equal(okRun!.stdout, '5\n', describe(ok, okRun!));
  assertOneLineError(fail, failRun!, /ValueError: disk full/);
});

test('call without --wait prints the id; result ID prints the result, fails in one line for a failed task or a timeout', async () => {
  const callArgs = ['call', 'cli.add', '-a', '[20,22]', '-A', PLAIN];
  const called = await runCli(callArgs, { env });
  assert.equal(called.code, 0, describe(callArgs, called));
  const id = called.stdout.trim();
  assert.match(id, UUID_RE, describe(callArgs, called));

  const failed = await client.sendTask('cli.fail', ['no space left']);
  await assert.rejects(failed.get({ timeout: 10 }));
  const neverSent = '00000000-0000-4000-8000-000000000000';
  const cases = [
    ['result', id, '--timeout', '10', '-A', PLAIN],
    ['result', failed.id, '--timeout', '10', '-A', PLAIN],
    ['result', neverSent, '--timeout', '1', '-A', PLAIN],
  ];
  const [okRun, failRun, timeoutRun] = await inBatches(cases, 3, (args) => runCli(args, { env, timeoutMs: 60_000 }));
  assert.equal(okRun!.code, 0, describe(cases[0]!, okRun!));
  assert.equal(okRun!.stdout, '42\n', describe(cases[0]!, okRun!));
  assertOneLineError(cases[1]!, failRun!, /ValueError: no space left/);
  assertOneLineError(cases[2]!, timeoutRun!, /timed out/i);
  // --timeout 1 honoured: start-up plus one second, far from the 60 s this run may take at most.
  assert.ok(timeoutRun!.ms < 30_000, describe(cases[2]!, timeoutRun!));
});

test('purge -Q q -f empties the queue (priority sub-queues too) and reports the count; without -f and no TTY it refuses', async () => {
  const idle = `cli-purge-${token}`; // nobody consumes it
  for (let i = 0; i < 3; i++) await client.sendTask('cli.add', [i, i], {}, { queue: idle });
  await client.sendTask('cli.add', [9, 9], {}, { queue: idle, priority: 9 });
  assert.equal(await client.transport.queueSize(idle), 4);

  const refuse = ['purge', '-Q', idle, '-A', PLAIN];
  const refused = await runCli(refuse, { env });
  assertOneLineError(refuse, refused, /-f/);
  assert.equal(await client.transport.queueSize(idle), 4, 'nothing was purged without confirmation');

  const force = ['purge', '-Q', idle, '-f', '-A', PLAIN];
  const purged = await runCli(force, { env });
  assert.equal(purged.code, 0, describe(force, purged));
  assert.equal(purged.stdout, 'Purged 4 messages from 1 known task queue.\n', describe(force, purged));
  assert.equal(await client.transport.queueSize(idle), 0);
});

test('call and purge with -b only (no -A): the message lands in the named queue, purge removes it', async () => {
  const bare = `cli-bare-${token}`; // no key prefix: the CLI flags cannot set one
  const callArgs = ['call', 'cli.add', '-a', '[1,2]', '-b', url, '--queue', bare];
  const called = await runCli(callArgs);
  assert.equal(called.code, 0, describe(callArgs, called));
  const id = called.stdout.trim();
  assert.match(id, UUID_RE);
  const [raw] = await redis.lrange(bare, 0, -1);
  const envelope = JSON.parse(raw!) as { headers: { id: string; task: string } };
  assert.deepEqual([envelope.headers.id, envelope.headers.task], [id, 'cli.add']);

  const purgeArgs = ['purge', '-Q', bare, '-f', '-b', url];
  const purged = await runCli(purgeArgs);
  assert.equal(purged.code, 0, describe(purgeArgs, purged));
  assert.equal(purged.stdout, 'Purged 1 message from 1 known task queue.\n');
  assert.equal(await redis.llen(bare), 0);
});

test('demo exits 0 and prints the round trip', async () => {
  const run = await runCli(['demo'], { timeoutMs: 30_000 });
  assert.equal(run.code, 0, describe(['demo'], run));
  for (const expected of [
    'add(2, 3) = 5',
    /render\(42\) PROGRESS \{"current":1,"total":3\}/,
    `render(42, format='csv') = {"report":42,"format":"csv","pages":3}`,
    'add(20, 22) = 42',
    'failed as a Python caller would see it: ValueError: disk full',
    /failed as a Python caller would see it: NotRegistered: reports\.unknown/,
  ]) {
    if (typeof expected === 'string') assert.ok(run.stdout.includes(expected), `${expected}\n${describe(['demo'], run)}`);
    else assert.match(run.stdout, expected, describe(['demo'], run));
  }
});
