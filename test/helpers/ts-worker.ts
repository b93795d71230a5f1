// OUR worker and beat as a user runs them: `ts-celery worker -A … -Q … -n … -l info` started through the CLI
// (node --import tsx src/cli/main.ts, cwd = the repo root) in its own process, plus `runCli` for
// one-shot commands. The processes are started and owned through child-process.ts, as the Python
// ones are (python.ts).
import { spawn } from 'node:child_process';
import { type ExitStatus, killQuietly, type ManagedProcess, startProcess, timeout, track } from './child-process.js';
import { REPO_ROOT } from './python.js';

export type { ExitStatus } from './child-process.js';

export const CLI_ENTRY = 'src/cli/main.ts';

function cliEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  // The test runner's own CELERY_* variables must not leak into the child's app.
  const { CELERY_BROKER_URL: _b, CELERY_RESULT_BACKEND: _r, ...inherited } = process.env;
  const env: NodeJS.ProcessEnv = { ...inherited, NO_COLOR: '1', FORCE_COLOR: '0' };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

// ---------------------------------------------------------------------------------------------
// Workers

export interface TsWorkerOptions {
  /** `-A` module, relative to the repo root (e.g. `test/interop/ts/tasks.ts`). */
  app: string;
  queues: string[];
  /** `-n`; unique per test file. */
  nodeName: string;
  /** Environment for the tasks module (BROKER_URL, RESULT_BACKEND, KEYPREFIX, …). */
  env: Record<string, string>;
  concurrency?: number;
  extraArgs?: string[];
  /** How long to wait for "<node> ready." (default 20 s). */
  readyTimeoutMs?: number;
  /** Output that says the worker is up, when its log goes elsewhere (default "<node> ready."). */
  readyText?: string;
}

/** A running `ts-celery …` process (worker or beat). */
export type TsProcess = ManagedProcess;
export type TsWorker = TsProcess;

export async function startTsWorker(opts: TsWorkerOptions): Promise<TsWorker> {
  const args = [
    'worker',
    '-A', opts.app,
    '-Q', opts.queues.join(','),
    '-n', opts.nodeName,
    '-l', 'info',
    // As for the Python workers in tests: mingle costs a second per start
    // (celery/worker/consumer/mingle.py `Mingle.send_hello` waits 1 s for replies).
    '--without-mingle',
  ];
  if (opts.concurrency !== undefined) args.push('-c', String(opts.concurrency));
  if (opts.extraArgs) args.push(...opts.extraArgs);
  return startCli(args, { env: opts.env, name: `ts-celery worker ${opts.nodeName}`, ready: opts.readyText ?? `${opts.nodeName} ready.`, readyTimeoutMs: opts.readyTimeoutMs });
}

/** `ts-celery beat <args>`; resolves once beat logs that it is starting (or `ready`). */
export async function startTsBeat(args: string[], env: Record<string, string> = {}, ready = 'beat: Starting...'): Promise<TsProcess> {
  return startCli(['beat', '-l', 'info', ...args], { env, name: 'ts-celery beat', ready });
}

interface CliProcessOptions {
  env: Record<string, string>;
  name: string;
  /** Log text that says the process is up. */
  ready: string;
  readyTimeoutMs?: number;
}

/** `node --import tsx src/cli/main.ts <args>`, cwd the repo root; it must shut down warm on SIGTERM. */
function startCli(cliArgs: string[], opts: CliProcessOptions): Promise<TsProcess> {
  return startProcess(process.execPath, ['--import', 'tsx', CLI_ENTRY, ...cliArgs], {
    cwd: REPO_ROOT,
    env: cliEnv(opts.env),
    name: opts.name,
    ready: opts.ready,
    readyTimeoutMs: opts.readyTimeoutMs ?? 20_000,
    stopGraceMs: 15_000,
    stopMustBeWarm: true,
  });
}

// ---------------------------------------------------------------------------------------------
// One-shot commands

export interface CliRun extends ExitStatus {
  stdout: string;
  stderr: string;
  /** Wall-clock milliseconds from spawn to exit. */
  ms: number;
}

/**
 * Runs `ts-celery ARGS` (cwd = repo root, stdin closed, i.e. not a TTY) and resolves with its
 * output and exit status; a run that outlives `timeoutMs` is SIGKILLed and rejected.
 */
export async function runCli(
  args: string[],
  { env = {}, timeoutMs = 20_000 }: { env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): Promise<CliRun> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_ENTRY, ...args], {
    cwd: REPO_ROOT,
    env: cliEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => out.push(c));
  child.stderr!.on('data', (c: Buffer) => err.push(c));
  const closed = new Promise<ExitStatus>((r) => child.once('close', (code, signal) => r({ code, signal })));
  const outcome = await Promise.race([closed, timeout(timeoutMs)]);
  const stdout = Buffer.concat(out).toString('utf8');
  const stderr = Buffer.concat(err).toString('utf8');
  if (outcome === 'timeout') {
    killQuietly(child);
    await closed;
    throw new Error(`ts-celery ${args.join(' ')} did not exit within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`);
  }
  return { ...outcome, stdout, stderr, ms: Date.now() - started };
}
