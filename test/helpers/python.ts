// The Python side of the interop tier: real Celery workers and producer snippets run from the
// project venv (.venv, pinned in test/interop/requirements.txt). The processes are started and
// owned through child-process.ts, as our own CLI's are (ts-worker.ts).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killQuietly, type ManagedProcess, startProcess, timeout, track } from './child-process.js';

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

function pythonEnv(extra: Record<string, string>, dir = PYTHON_DIR): NodeJS.ProcessEnv {
  const inherited = process.env.PYTHONPATH ? `:${process.env.PYTHONPATH}` : '';
  return {
    ...process.env,
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONIOENCODING: 'utf-8',
    ...extra,
    PYTHONPATH: `${dir}${inherited}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Workers

export interface PythonWorkerOptions {
  /** Module in test/interop/python (or in `dir`), e.g. `interop_app`. */
  app: string;
  /** Where `app` lives (cwd and PYTHONPATH; default test/interop/python), e.g. bench/python. */
  dir?: string;
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
export type PythonProcess = ManagedProcess;
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
  return startCelery(args, { env: opts.env, dir: opts.dir, name: `python worker ${opts.nodeName}`, ready: /\bready\./, readyTimeoutMs: opts.readyTimeoutMs });
}

/** `celery -A <app> beat <args>`; resolves once beat logs that it is starting. */
export async function startPythonBeat(app: string, args: string[], env: Record<string, string>): Promise<PythonProcess> {
  return startCelery(['-A', app, 'beat', '-l', 'INFO', ...args], { env, name: `python beat ${app}`, ready: /beat: Starting\.\.\./ });
}

interface CeleryProcessOptions {
  env: Record<string, string>;
  dir?: string;
  name: string;
  /** Log line that says the process is up. */
  ready: RegExp;
  readyTimeoutMs?: number;
}

/** `python -m celery <args>` from the venv, cwd/PYTHONPATH test/interop/python (or `opts.dir`). */
function startCelery(celeryArgs: string[], opts: CeleryProcessOptions): Promise<PythonProcess> {
  return startProcess(requirePython(), ['-m', 'celery', ...celeryArgs], {
    cwd: opts.dir ?? PYTHON_DIR,
    env: pythonEnv(opts.env, opts.dir),
    name: opts.name,
    ready: opts.ready,
    readyTimeoutMs: opts.readyTimeoutMs ?? 30_000,
    stopGraceMs: 10_000,
    stopMustBeWarm: false,
  });
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

  const outcome = await Promise.race([closed.then(() => 'closed' as const), timeout(timeoutMs)]);
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
    await timeout(intervalMs);
  }
}
