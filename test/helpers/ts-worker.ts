// OUR worker and beat as a user runs them: `ts-celery worker -A … -Q … -n … -l info` started through the CLI
// (node --import tsx src/cli/main.ts, cwd = the repo root) in its own process, plus `runCli` for
// one-shot commands. Tests own the processes: stop()/kill() by PID in a `finally`; a
// process-exit safety net SIGKILLs whatever is left.
import { spawn, type ChildProcess } from 'node:child_process';
import { REPO_ROOT } from './python.js';

export const CLI_ENTRY = 'src/cli/main.ts';

// ---------------------------------------------------------------------------------------------
// Safety net

const live = new Set<ChildProcess>();
let netInstalled = false;

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null && child.pid !== undefined;
}

function killQuietly(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (!alive(child)) return;
  try {
    process.kill(child.pid!, signal);
  } catch {
    /* already gone */
  }
}

function track(child: ChildProcess): void {
  if (!netInstalled) {
    netInstalled = true;
    process.on('exit', () => {
      for (const c of live) killQuietly(c);
    });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        for (const c of live) killQuietly(c);
        process.kill(process.pid, signal);
      });
    }
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

function exitStatus(child: ChildProcess): Promise<ExitStatus> {
  if (!alive(child)) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
}

function timeout(ms: number): Promise<'timeout'> {
  return new Promise((r) => setTimeout(() => r('timeout'), ms).unref());
}

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
export interface TsProcess {
  readonly pid: number;
  /** Everything written so far (stdout and stderr interleaved). */
  logs(): string;
  /** Resolves once `pattern` appears in the log (deadline-bound; rejects early if the process exits). */
  waitForLog(pattern: RegExp | string, timeoutMs?: number): Promise<void>;
  /** SIGTERM (warm shutdown) and wait for the exit; SIGKILL after `graceMs` (15 s). */
  stop(graceMs?: number): Promise<ExitStatus>;
  /** Send a signal now (default SIGKILL: a crash). */
  kill(signal?: NodeJS.Signals): void;
  /** Resolves with the exit status once the process has exited. */
  exited(): Promise<ExitStatus>;
  readonly running: boolean;
}
export type TsWorker = TsProcess;

export async function startTsWorker(opts: TsWorkerOptions): Promise<TsWorker> {
  const args = [
    'worker',
    '-A', opts.app,
    '-Q', opts.queues.join(','),
    '-n', opts.nodeName,
    '-l', 'info',
    // As for the Python workers in tests: mingle costs a second per start (design.md).
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

async function startCli(cliArgs: string[], opts: CliProcessOptions): Promise<TsProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_ENTRY, ...cliArgs], { cwd: REPO_ROOT, env: cliEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  let log = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    log += chunk.toString('utf8');
    if (log.length > 2_000_000) log = log.slice(-1_000_000);
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  child.once('exit', () => {
    for (const w of waiters) w();
  });
  const describe = () => `${opts.name} (pid ${child.pid})`;

  const waitForLog = (pattern: RegExp | string, timeoutMs = 20_000): Promise<void> =>
    new Promise((resolveWait, rejectWait) => {
      const matches = () => (typeof pattern === 'string' ? log.includes(pattern) : pattern.test(log));
      const timer = setTimeout(() => {
        waiters.delete(check);
        rejectWait(new Error(`${describe()}: no ${pattern} within ${timeoutMs} ms; log:\n${log}`));
      }, timeoutMs);
      function check(): void {
        if (matches()) {
          waiters.delete(check);
          clearTimeout(timer);
          resolveWait();
        } else if (!alive(child)) {
          waiters.delete(check);
          clearTimeout(timer);
          rejectWait(new Error(`${describe()} exited (${child.exitCode ?? child.signalCode}) before ${pattern}; log:\n${log}`));
        }
      }
      waiters.add(check);
      check();
    });

  const stop = async (graceMs = 15_000): Promise<ExitStatus> => {
    killQuietly(child, 'SIGTERM');
    if ((await Promise.race([exitStatus(child), timeout(graceMs)])) === 'timeout') {
      killQuietly(child);
      const status = await exitStatus(child);
      throw new Error(`${describe()} did not exit within ${graceMs} ms of SIGTERM (killed: ${status.signal}); log:\n${log}`);
    }
    return exitStatus(child);
  };

  if (child.pid === undefined) {
    await exitStatus(child);
    throw new Error(`could not start ${describe()}: ${log}`);
  }
  try {
    await waitForLog(opts.ready, opts.readyTimeoutMs ?? 20_000);
  } catch (err) {
    killQuietly(child);
    await exitStatus(child);
    throw err;
  }
  return {
    pid: child.pid,
    logs: () => log,
    waitForLog,
    stop,
    kill: (signal = 'SIGKILL') => killQuietly(child, signal),
    exited: () => exitStatus(child),
    get running() {
      return alive(child);
    },
  };
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
