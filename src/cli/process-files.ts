// The files a daemonized Celery process keeps: `--logfile` (log lines appended) and `--pidfile`
// (celery/platforms.py Pidfile: refuse to start while another live process holds it, replace a
// stale one, remove it at exit).
import { openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';

/**
 * A `write` for createLogger that appends to `path`. Each line is one write(2) on an fd opened
 * once, like Python's FileHandler: nothing is lost when the process exits right after logging.
 */
export function logFileWriter(path: string): (line: string) => void {
  let fd: number;
  try {
    fd = openSync(path, 'a');
  } catch (error) {
    throw new Error(`cannot open log file ${path}: ${(error as Error).message}`);
  }
  return (line) => {
    writeSync(fd, line + '\n');
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Write our pid to `path`; throws a one-line reason when a live process already holds it. */
export function claimPidfile(path: string): void {
  let held: number | null = null;
  try {
    held = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read pidfile ${path}: ${(error as Error).message}`);
  }
  if (held !== null && Number.isInteger(held) && held > 0 && held !== process.pid && alive(held)) {
    throw new Error(`Pidfile (${path}) already exists. Seems we're already running? (pid: ${held})`);
  }
  // A stale (or unreadable) pidfile is replaced, as Celery's Pidfile.remove_if_stale does.
  if (held !== null) rmSync(path, { force: true });
  try {
    writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
  } catch (error) {
    throw new Error(`cannot create pidfile ${path}: ${(error as Error).message}`);
  }
  process.once('exit', () => {
    try {
      if (readFileSync(path, 'utf8').trim() === String(process.pid)) rmSync(path, { force: true });
    } catch {
      // Already gone.
    }
  });
}
