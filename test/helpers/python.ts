// The Python side of the interop tier: real Celery workers and producer snippets run from the
// project venv (.venv, pinned in test/interop/requirements.txt). The processes are started and
// owned through child-process.ts, as our own CLI's are (ts-worker.ts).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killQuietly, type ManagedProcess, startProcess, timeout, track } from './child-process.js';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, '..', '..');
/** The interpreter with the pinned Celery. */
export const PYTHON = resolve(REPO_ROOT, '.venv', 'bin', 'python');
/** Python modules the interop tests import (`-A interop_app`). */
export const PYTHON_DIR = resolve(REPO_ROOT, 'test', 'interop', 'python');

/** Throws a clear error when the venv is missing (instead of a confusing ENOENT later). */
export function requirePython(): string {
  if (!existsSync(PYTHON)) {
    throw new Error(`interop tests need the project venv: ${PYTHON} is missing; run scripts/setup-python.sh`);
  }
  return PYTHON;
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

/** `python -m celery <args>` from the venv, cwd/PYTHONPATH test/interop/python. */
function startCelery(celeryArgs: string[], opts: CeleryProcessOptions): Promise<PythonProcess> {
  return startProcess(requirePython(), ['-m', 'celery', ...celeryArgs], {
    cwd: PYTHON_DIR,
    env: pythonEnv(opts.env),
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
