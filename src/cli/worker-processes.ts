// `ts-celery worker --processes N`: one supervisor forking N worker processes, each a whole
// worker (its own consumer, event loop and node name `name-<i>@host`), as Celery's prefork
// master runs a child per core. Signals are passed on; a child that dies while the supervisor
// is not stopping is started again, as prefork replaces a lost child.
import { type ChildProcess, spawn } from 'node:child_process';
import type { Logger } from '../log.js';

/** Set in each child: its 1-based index (the node name suffix). */
export const PROCESS_INDEX_ENV = 'TS_CELERY_PROCESS_INDEX';

/** The child's node name template: `-<index>` appended to the name part (`w1@%h` → `w1-2@%h`). */
export function childNodeName(template: string | undefined, index: string): string {
  const name = template ?? 'celery@%h';
  const at = name.indexOf('@');
  return at === -1 ? `${name}-${index}` : `${name.slice(0, at)}-${index}${name.slice(at)}`;
}

/** Run `count` children of this same command line until a signal stops them; resolves with the exit code. */
export function superviseProcesses(count: number, logger: Logger): Promise<number> {
  const children = new Map<number, ChildProcess>();
  let stopping = false;
  let failed = false;
  return new Promise((resolve) => {
    const start = (index: number) => {
      const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
        stdio: 'inherit',
        env: { ...process.env, [PROCESS_INDEX_ENV]: String(index) },
      });
      children.set(index, child);
      child.once('exit', (code, signal) => {
        children.delete(index);
        if (!stopping) {
          logger.error(`worker process ${index} (pid ${child.pid}) exited (${signal ?? `code ${code}`}); starting it again`);
          setTimeout(() => (stopping ? finish() : start(index)), 1000).unref();
          return;
        }
        if (code !== 0) failed = true;
        finish();
      });
    };
    const finish = () => {
      if (children.size === 0) resolve(failed ? 1 : 0);
    };
    const onSignal = (signal: NodeJS.Signals) => {
      stopping = true;
      for (const child of children.values()) child.kill(signal);
      finish();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('SIGQUIT', onSignal);
    for (let i = 1; i <= count; i++) start(i);
  });
}
