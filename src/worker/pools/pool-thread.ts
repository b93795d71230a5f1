// One task thread as the pool sees it: started from thread-entry (TypeScript source through tsx,
// or compiled JavaScript), ready once the tasks module is loaded, running one job at a time.
import { type ResourceLimits, Worker } from 'node:worker_threads';
import { decodeError } from './thread-errors.js';
import type { FromThread, ThreadInit, ToThread } from './thread-messages.js';

/** Where thread-entry is, next to this file: `.ts` when running from source, `.js` from dist/. */
function entryBootstrap(): string {
  const self = new URL(import.meta.url);
  const typescript = /\.[mc]?tsx?$/.test(self.pathname);
  const entry = new URL(typescript ? './thread-entry.ts' : './thread-entry.js', self).href;
  if (!typescript) return `import(${JSON.stringify(entry)});`;
  // Node 20 does not apply `--import tsx` hooks to a worker thread's own entry; register them first.
  const api = import.meta.resolve('tsx/esm/api');
  return `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
}

export interface PoolThreadEvents {
  /** A message about a job (`update-state`, `done`). */
  onMessage(thread: PoolThread, message: FromThread): void;
  /** The thread ended without being asked to: `error` is what killed it, if anything reported. */
  onExit(thread: PoolThread, exitCode: number, error: Error | undefined): void;
}

export class PoolThread {
  readonly ready: Promise<void>;
  /** The job running now. */
  job: number | null = null;
  /** Tasks finished in this thread (for max-tasks-per-child). */
  tasksRun = 0;
  /** The tasks module is loaded: the thread takes jobs. */
  loaded = false;
  private readonly worker: Worker;
  private stopping = false;
  private crash: Error | undefined;

  constructor(init: ThreadInit, events: PoolThreadEvents, resourceLimits?: ResourceLimits) {
    this.worker = new Worker(entryBootstrap(), { eval: true, workerData: init, resourceLimits });
    this.worker.unref();
    this.ready = new Promise<void>((resolve, reject) => {
      let started = false;
      this.worker.on('message', (message: FromThread) => {
        if (message.type === 'ready') {
          started = true;
          this.loaded = true;
          resolve();
        } else if (message.type === 'init-failed') {
          started = true;
          reject(decodeError(message.error));
          void this.terminate(); // the half-loaded module may hold handles that keep the thread alive
        } else {
          events.onMessage(this, message);
        }
      });
      this.worker.on('error', (error) => {
        this.crash = error;
      });
      this.worker.on('exit', (code) => {
        if (!started) reject(this.crash ?? new Error(`the task thread exited while loading the tasks module (exit code ${code})`));
        else if (!this.stopping) events.onExit(this, code, this.crash);
      });
    });
    this.ready.catch(() => {}); // observed by whoever waits for it
  }

  get threadId(): number {
    return this.worker.threadId;
  }

  get busy(): boolean {
    return this.job !== null;
  }

  post(message: ToThread): void {
    this.worker.postMessage(message);
  }

  /** Keep the process alive while the thread runs a task, not while it idles. */
  setBusy(job: number | null): void {
    this.job = job;
    if (job === null) this.worker.unref();
    else this.worker.ref();
  }

  /** Stop the thread (also mid-task); no `onExit` follows. */
  async terminate(): Promise<void> {
    this.stopping = true;
    await this.worker.terminate();
  }
}
