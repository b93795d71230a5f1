// The long-running child processes of the tests — Python Celery (python.ts) and our own CLI
// (ts-worker.ts) — started, watched and stopped one way: the log collected, a deadline-bound
// wait for a log line, warm stop by SIGTERM, a kill by PID. Tests own the processes they start
// (stop()/kill() in a `finally`); a process-exit safety net SIGKILLs whatever is left.
import { type ChildProcess, spawn } from 'node:child_process';

// ---------------------------------------------------------------------------------------------
// Safety net: whatever a test forgot (or could not reach because it crashed) dies with us.

const live = new Set<ChildProcess>();
let netInstalled = false;

export function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null && child.pid !== undefined;
}

export function killQuietly(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (!alive(child)) return;
  try {
    process.kill(child.pid!, signal);
  } catch {
    /* already gone */
  }
}

/** Registers `child` with the safety net (killed when this process exits or is signalled). */
export function track(child: ChildProcess): void {
  if (!netInstalled) {
    netInstalled = true;
    process.on('exit', () => {
      for (const c of live) killQuietly(c);
    });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        for (const c of live) killQuietly(c);
        // Re-raise with the default disposition so the runner sees the usual exit.
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

/** Resolves with the exit status once the child has exited (at once if it already has). */
export function exitStatus(child: ChildProcess): Promise<ExitStatus> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
}

/** Resolves with 'timeout' after `ms` (never keeps the process alive). */
export function timeout(ms: number): Promise<'timeout'> {
  return new Promise((r) => setTimeout(() => r('timeout'), ms).unref());
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
// Long-running processes

/** A running child (a worker or a beat, Python's or ours). */
export interface ManagedProcess {
  readonly pid: number;
  /** Everything the process wrote so far (stdout and stderr interleaved). */
  logs(): string;
  /** Resolves once `pattern` appears in the log (deadline-bound, 30 s by default; rejects early if the process exits; the log is in the error). */
  waitForLog(pattern: RegExp | string, timeoutMs?: number): Promise<void>;
  /** Warm shutdown: SIGTERM and wait for the exit; SIGKILL after `graceMs` (see `stopGraceMs`). */
  stop(graceMs?: number): Promise<ExitStatus>;
  /** Send a signal now (default SIGKILL: a crash). */
  kill(signal?: NodeJS.Signals): void;
  /** Resolves with the exit status once the process has exited. */
  exited(): Promise<ExitStatus>;
  readonly running: boolean;
}

export interface StartOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** For messages: `python worker x@h`, `ts-celery beat`. */
  name: string;
  /** Log text that says the process is up. */
  ready: RegExp | string;
  readyTimeoutMs: number;
  /** stop()'s default grace before SIGKILL. */
  stopGraceMs: number;
  /** Whether a process that needs the SIGKILL fails stop() (our worker must shut down warm; a stuck Python worker is not what a test checks). */
  stopMustBeWarm: boolean;
}

/** Spawns `command args` and resolves once `ready` appears in its log (killed and rejected if it does not). */
export async function startProcess(command: string, args: string[], opts: StartOptions): Promise<ManagedProcess> {
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
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
      const matches = () => (typeof pattern === 'string' ? log.toString().includes(pattern) : pattern.test(log.toString()));
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

  const stop = async (graceMs = opts.stopGraceMs): Promise<ExitStatus> => {
    killQuietly(child, 'SIGTERM');
    if ((await Promise.race([exitStatus(child), timeout(graceMs)])) === 'timeout') {
      killQuietly(child);
      const status = await exitStatus(child);
      if (opts.stopMustBeWarm) throw new Error(`${describe()} did not exit within ${graceMs} ms of SIGTERM (killed: ${status.signal}); log:\n${log}`);
    }
    return exitStatus(child);
  };

  if (child.pid === undefined) {
    await exitStatus(child);
    throw new Error(`could not start ${describe()}: ${command}: ${log}`);
  }
  try {
    await waitForLog(opts.ready, opts.readyTimeoutMs);
  } catch (err) {
    killQuietly(child);
    await exitStatus(child);
    throw err;
  }
  return {
    pid: child.pid,
    logs: () => log.toString(),
    waitForLog,
    stop,
    kill: (signal = 'SIGKILL') => killQuietly(child, signal),
    exited: () => exitStatus(child),
    get running() {
      return alive(child);
    },
  };
}
