// The Python side of the interop tier: real Celery workers and producer snippets run from the
// project venv (.venv, pinned in test/interop/requirements.txt). Tests own the processes they
// start: stop()/kill() by PID in a `finally`, and a process-exit safety net kills leftovers.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, '..', '..');
/** Python modules the interop tests import (`-A interop_app`). */
export const PYTHON_DIR = resolve(REPO_ROOT, 'test', 'interop', 'python');

/**
 * The venv whose Celery the interop tests run against: `.venv` (the pinned newest) unless
 * INTEROP_VENV names another (`.venv-celery/5.2`, as scripts/test-matrix.sh and the oldest-version
 * smoke run set it). Read at call time, so a test file may set it before its first spawn.
 */
export function interopVenv(): string {
  return resolve(REPO_ROOT, process.env.INTEROP_VENV ?? '.venv');
}

/** The interpreter with the Celery under test; a clear error when the venv is missing. */
export function requirePython(): string {
  const python = resolve(interopVenv(), 'bin', 'python');
  if (!existsSync(python)) {
    throw new Error(`interop tests need the project venv: ${python} is missing; run scripts/setup-python.sh`);
  }
  return python;
}

const versions = new Map<string, { celery: string; kombu: string }>();
/** `celery.__version__` and `kombu.__version__` of the venv under test (asked once per venv). */
export function celeryVersions(): { celery: string; kombu: string } {
  const python = requirePython();
  let found = versions.get(python);
  if (!found) {
    const out = execFileSync(python, ['-c', 'import celery, kombu; print(celery.__version__, kombu.__version__)'], { encoding: 'utf8' });
    const [celery = '', kombu = ''] = out.trim().split(' ');
    found = { celery, kombu };
    versions.set(python, found);
  }
  return found;
}

/**
 * node:test's `skip` option for a test that needs Celery ≥ `min` (`'5.5'`): false on such a
 * version, else the reason, which the runner prints beside the skipped test.
 */
export function skipBelowCelery(min: string, why: string): string | false {
  const [major = 0, minor = 0] = celeryVersions().celery.split('.').map(Number);
  const [wantMajor = 0, wantMinor = 0] = min.split('.').map(Number);
  const below = major < wantMajor || (major === wantMajor && minor < wantMinor);
  return below ? `Celery ${celeryVersions().celery} < ${min}: ${why}` : false;
}

// ---------------------------------------------------------------------------------------------
// Safety net: whatever a test forgot (or could not reach because it crashed) dies with us.

const live = new Set<ChildProcess>();

function killQuietly(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

let netInstalled = false;
function installSafetyNet(): void {
  if (netInstalled) return;
  netInstalled = true;
  process.on('exit', () => {
    for (const child of live) killQuietly(child);
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const child of live) killQuietly(child);
      // Re-raise with the default disposition so the runner sees the usual exit.
      process.kill(process.pid, signal);
    });
  }
}

function track(child: ChildProcess): void {
  installSafetyNet();
  live.add(child);
  child.once('exit', () => live.delete(child));
}

function pythonEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = process.env.PYTHONPATH ? `:${process.env.PYTHONPATH}` : '';
  return {
    ...process.env,
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONIOENCODING: 'utf-8',
    ...extra,
    PYTHONPATH: `${PYTHON_DIR}${inherited}`,
  };
}

/** Resolves when the child exits (immediately if it already has). */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveExit) => child.once('exit', () => resolveExit()));
}

function delay(ms: number): Promise<'timeout'> {
  return new Promise((r) => {
    const t = setTimeout(() => r('timeout'), ms);
    t.unref?.();
  });
}

/** Keeps the newest `max` characters of a growing log. */
class LogBuffer {
  private text = '';
  constructor(private readonly max = 1_000_000) {}
  append(chunk: string): void {
    this.text += chunk;
    if (this.text.length > this.max) this.text = this.text.slice(this.text.length - this.max);
  }
  toString(): string {
    return this.text;
  }
}

// ---------------------------------------------------------------------------------------------
// Workers

export interface PythonWorkerOptions {
  /** Module in test/interop/python, e.g. `interop_app`. */
  app: string;
  queues: string[];
  /** `-n`; unique per test file (e.g. `interop-<token>@localhost`). */
  nodeName: string;
  /** Environment for the app module (BROKER_URL, RESULT_BACKEND, KEYPREFIX, ...). */
  env: Record<string, string>;
  pool?: 'solo' | 'threads' | 'prefork';
  concurrency?: number;
  extraArgs?: string[];
  /** How long to wait for "ready." (default 30 s). */
  readyTimeoutMs?: number;
}

/** A running `celery …` process (worker or beat). */
export interface PythonProcess {
  readonly pid: number;
  /** Everything the process wrote so far (stdout and stderr interleaved). */
  logs(): string;
  /** Resolves once `pattern` appears in the log (deadline-bound; the log is in the error). */
  waitForLog(pattern: RegExp | string, timeoutMs?: number): Promise<void>;
  /** Warm shutdown: SIGTERM, then SIGKILL if it has not exited within `graceMs` (10 s). */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL now (simulates a crash). */
  kill(): void;
  /** Resolves when the process has exited. */
  exited(): Promise<void>;
}
export type PythonWorker = PythonProcess;

export async function startPythonWorker(opts: PythonWorkerOptions): Promise<PythonWorker> {
  const args = [
    '-A', opts.app, 'worker',
    '-P', opts.pool ?? 'solo',
    '--without-mingle', '--without-gossip',
    '-n', opts.nodeName,
    '-Q', opts.queues.join(','),
    '-l', 'INFO',
  ];
  if (opts.concurrency !== undefined) args.push('-c', String(opts.concurrency));
  if (opts.extraArgs) args.push(...opts.extraArgs);
  // celery's worker prints "<node> ready." once its consumer is up.
  return startCelery(args, { env: opts.env, name: `python worker ${opts.nodeName}`, ready: /\bready\./, readyTimeoutMs: opts.readyTimeoutMs });
}

/** `celery -A <app> beat <args>`; resolves once beat logs that it is starting. */
export async function startPythonBeat(app: string, args: string[], env: Record<string, string>): Promise<PythonProcess> {
  return startCelery(['-A', app, 'beat', '-l', 'INFO', ...args], { env, name: `python beat ${app}`, ready: /beat: Starting\.\.\./ });
}

interface CeleryProcessOptions {
  env: Record<string, string>;
  name: string;
  /** Log line that says the process is up. */
  ready: RegExp;
  readyTimeoutMs?: number;
}

async function startCelery(celeryArgs: string[], opts: CeleryProcessOptions): Promise<PythonProcess> {
  const python = requirePython();
  const child = spawn(python, ['-m', 'celery', ...celeryArgs], {
    cwd: PYTHON_DIR,
    env: pythonEnv(opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  const log = new LogBuffer();
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    log.append(chunk.toString('utf8'));
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  child.once('exit', () => {
    for (const w of waiters) w();
  });

  const describe = () => `${opts.name} (pid ${child.pid})`;

  const waitForLog = (pattern: RegExp | string, timeoutMs = 30_000): Promise<void> =>
    new Promise((resolveWait, rejectWait) => {
      const matches = () =>
        typeof pattern === 'string' ? log.toString().includes(pattern) : pattern.test(log.toString());
      let timer: NodeJS.Timeout | undefined;
      const check = () => {
        if (matches()) {
          done();
          resolveWait();
        } else if (child.exitCode !== null || child.signalCode !== null) {
          done();
          rejectWait(new Error(`${describe()} exited (${child.exitCode ?? child.signalCode}) before ${pattern}; log:\n${log}`));
        }
      };
      const done = () => {
        waiters.delete(check);
        if (timer) clearTimeout(timer);
      };
      timer = setTimeout(() => {
        done();
        rejectWait(new Error(`${describe()}: no ${pattern} within ${timeoutMs} ms; log:\n${log}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });

  const kill = () => killQuietly(child);
  const stop = async (graceMs = 10_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(child.pid!, 'SIGTERM');
    } catch {
      return;
    }
    if ((await Promise.race([exited(child), delay(graceMs)])) === 'timeout') {
      kill();
      await exited(child);
    }
  };

  if (child.pid === undefined) {
    await exited(child);
    throw new Error(`could not start ${python} -m celery: ${log}`);
  }

  try {
    await waitForLog(opts.ready, opts.readyTimeoutMs ?? 30_000);
  } catch (err) {
    kill();
    await exited(child);
    throw err;
  }

  return {
    pid: child.pid,
    logs: () => log.toString(),
    waitForLog,
    stop,
    kill,
    exited: () => exited(child),
  };
}

// ---------------------------------------------------------------------------------------------
// Producer snippets

export interface PythonRun {
  stdout: string;
  stderr: string;
  /** The last non-empty stdout line, parsed as JSON. */
  json: unknown;
}

/**
 * Runs a Python snippet (fed on stdin, cwd/PYTHONPATH test/interop/python) and parses the last
 * stdout line as JSON. Rejects, with both streams in the message, on a non-zero exit, a
 * missing/invalid JSON line, or the deadline (the process is killed by PID).
 */
export async function runPython(code: string, env: Record<string, string> = {}, timeoutMs = 30_000): Promise<PythonRun> {
  const python = requirePython();
  const child = spawn(python, ['-'], {
    cwd: PYTHON_DIR,
    env: pythonEnv(env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  track(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => out.push(c));
  child.stderr!.on('data', (c: Buffer) => err.push(c));
  const closed = new Promise<void>((r) => child.once('close', () => r()));
  child.stdin!.on('error', () => {
    /* reported through the exit status */
  });
  child.stdin!.end(code);

  const outcome = await Promise.race([closed.then(() => 'closed' as const), delay(timeoutMs)]);
  const stdout = () => Buffer.concat(out).toString('utf8');
  const stderr = () => Buffer.concat(err).toString('utf8');
  if (outcome === 'timeout') {
    killQuietly(child);
    await closed;
    throw new Error(`python snippet timed out after ${timeoutMs} ms\nstdout:\n${stdout()}\nstderr:\n${stderr()}`);
  }
  if (child.exitCode !== 0) {
    throw new Error(`python snippet exited with ${child.exitCode ?? child.signalCode}\nstdout:\n${stdout()}\nstderr:\n${stderr()}`);
  }
  const lines = stdout().split('\n').filter((l) => l.trim() !== '');
  const last = lines[lines.length - 1];
  if (last === undefined) throw new Error(`python snippet printed nothing\nstderr:\n${stderr()}`);
  let json: unknown;
  try {
    json = JSON.parse(last);
  } catch (cause) {
    throw new Error(`python snippet's last line is not JSON: ${last}\nstderr:\n${stderr()}`, { cause });
  }
  return { stdout: stdout(), stderr: stderr(), json };
}

// ---------------------------------------------------------------------------------------------
// Waiting

/**
 * Polls `probe` until it returns a value other than undefined/false, or rejects after
 * `timeoutMs` naming `what` (and the last probe error, if any).
 */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 10_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as T;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await delay(intervalMs);
  }
}
